//! Figures and how they are printed: a Markdown table on stdout (pasted into `BENCHMARKS.md`) and,
//! optionally, JSON lines for machines.

use std::io::Write;

/// One measured number.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// Which benchmark (`command`, `replay`, ...).
    pub bench: String,
    /// The store it ran on (`sqlite`, `postgres`, `memory`, `-`).
    pub store: String,
    /// What was measured (`plera engine, history 10`, ...).
    pub subject: String,
    /// The median of the runs.
    pub value: f64,
    /// Every run's value, in order.
    pub runs: Vec<f64>,
    /// The unit (`steps/s`, `events/s`, `bytes`, `s`).
    pub unit: String,
    /// The 1-minute load average after the last run.
    pub load: Option<f64>,
    /// Anything the reader needs to interpret the number.
    pub note: String,
}

impl Figure {
    /// A figure from several runs: the value is their median.
    pub fn from_runs(
        bench: &str,
        store: &str,
        subject: impl Into<String>,
        unit: &str,
        runs: Vec<f64>,
        load: Option<f64>,
    ) -> Self {
        Self {
            bench: bench.into(),
            store: store.into(),
            subject: subject.into(),
            value: median(&runs),
            runs,
            unit: unit.into(),
            load,
            note: String::new(),
        }
    }

    /// The same with a note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// A table row.
    pub fn row(&self) -> String {
        let runs: Vec<String> = self.runs.iter().map(|v| human(*v)).collect();
        format!(
            "| {} | {} | {} | **{}** {} | {} | {} | {} |",
            self.bench,
            self.store,
            self.subject,
            human(self.value),
            self.unit,
            runs.join(" / "),
            self.load.map_or("?".into(), |l| format!("{l:.2}")),
            self.note
        )
    }

    /// A JSON object.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "bench": self.bench, "store": self.store, "subject": self.subject,
            "value": self.value, "runs": self.runs, "unit": self.unit,
            "load_1m": self.load, "note": self.note,
        })
    }
}

/// The header of the table [`Figure::row`] writes.
pub const HEADER: &str = "| bench | store | subject | median | runs | load 1m | note |\n\
|---|---|---|---|---|---|---|";

/// The median (the mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A number with sensible precision: integers above 100, three significant digits below.
pub fn human(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Prints figures as they come (stderr progress, stdout table) and keeps them for a summary.
#[derive(Default)]
pub struct Sink {
    figures: Vec<Figure>,
    json: Option<std::fs::File>,
}

impl Sink {
    /// A sink that also appends JSON lines to `path`.
    pub fn with_json(path: Option<&std::path::Path>) -> std::io::Result<Self> {
        let json = match path {
            Some(p) => Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
            None => None,
        };
        Ok(Self {
            figures: Vec::new(),
            json,
        })
    }

    /// Records figures.
    pub fn add(&mut self, figures: Vec<Figure>) {
        for f in figures {
            eprintln!("{}", f.row());
            if let Some(file) = self.json.as_mut() {
                let _ = writeln!(file, "{}", f.json());
            }
            self.figures.push(f);
        }
    }

    /// Everything recorded.
    pub fn figures(&self) -> &[Figure] {
        &self.figures
    }

    /// The value of the first figure matching `bench`, `store` and a subject prefix.
    pub fn value(&self, bench: &str, store: &str, subject_prefix: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|f| f.bench == bench && f.store == store && f.subject.starts_with(subject_prefix))
            .map(|f| f.value)
    }

    /// The figure of `bench` and `store` whose subject is exactly `subject`.
    pub fn figure(&self, bench: &str, store: &str, subject: &str) -> Option<&Figure> {
        self.figures
            .iter()
            .find(|f| f.bench == bench && f.store == store && f.subject == subject)
    }
}

/// `b`'s runs over `a`'s, round by round (the benches interleave their subjects, so the i-th
/// runs of two subjects ran next to each other), sorted. A drift of the machine's speed between
/// rounds cancels out of each ratio, where it does not out of a ratio of two medians.
pub fn paired_ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut ratios: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(x, _)| **x > 0.0)
        .map(|(x, y)| y / x)
        .filter(|r| r.is_finite())
        .collect();
    ratios.sort_by(|x, y| x.total_cmp(y));
    ratios
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paired_ratios_divide_round_by_round_and_sort() {
        let short = [10.0, 20.0, 40.0];
        let long = [9.0, 10.0, 40.0];
        assert_eq!(paired_ratios(&short, &long), vec![0.5, 0.9, 1.0]);
        assert_eq!(paired_ratios(&[0.0, 2.0], &[1.0, 1.0]), vec![0.5]);
        assert!(paired_ratios(&[], &[1.0]).is_empty());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[f64::NAN, 5.0]), 5.0);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(human(12345.6), "12346");
        assert_eq!(human(12.345), "12.35");
        assert_eq!(human(0.01234), "0.012");
    }
}
