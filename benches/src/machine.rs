//! What the machine was doing while a figure was measured: the load average next to every number,
//! because the benches share two cores with other people's compilers.

use std::time::{Duration, Instant};

/// The 1-minute load average (from `/proc/loadavg`), or `None` off Linux.
pub fn load_1m() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Logical CPUs available to this process.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A one-line description of the machine: CPU model, cores, memory.
pub fn describe() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0 / 1024.0);
    format!("{model}, {} logical CPUs, {mem_gib:.0} GiB", cpus())
}

/// Resident set size of this process in bytes (`VmRSS`), or `None` off Linux.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Times `f`, returning its result, the wall time and the load average at the end.
pub async fn timed<T, F: std::future::Future<Output = T>>(f: F) -> (T, Duration, Option<f64>) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed(), load_1m())
}

/// CPU time this process has used (user + system, from `/proc/self/stat`), or `None` off Linux.
pub fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 1000 / USER_HZ))
}

/// `/proc`'s clock tick (USER_HZ, 100 on every Linux this runs on).
const USER_HZ: u64 = 100;

/// The whole machine's CPU counters (busy and total ticks over all CPUs, from `/proc/stat`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTicks {
    /// Ticks not idle and not waiting for I/O.
    pub busy: u64,
    /// All ticks.
    pub total: u64,
}

impl CpuTicks {
    /// The counters now, or `None` off Linux.
    pub fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        let total: u64 = v.iter().take(8).sum();
        let idle = v.get(3)? + v.get(4)?;
        Some(Self {
            busy: total - idle,
            total,
        })
    }

    /// The fraction of all CPUs busy between `before` and `self` (everyone's work, not ours).
    pub fn busy_since(&self, before: &CpuTicks) -> f64 {
        let total = self.total.saturating_sub(before.total);
        if total == 0 {
            return 0.0;
        }
        self.busy.saturating_sub(before.busy) as f64 / total as f64
    }
}

/// Measures one phase: the machine's busy fraction and this process's CPU time across it.
#[derive(Clone, Copy, Debug)]
pub struct CpuMeter {
    machine: Option<CpuTicks>,
    process: Option<Duration>,
}

impl CpuMeter {
    /// Starts measuring.
    pub fn start() -> Self {
        Self {
            machine: CpuTicks::now(),
            process: process_cpu(),
        }
    }

    /// The machine's busy fraction (0..1, all CPUs) and this process's CPU time since `start`.
    pub fn stop(&self) -> (Option<f64>, Option<Duration>) {
        let machine = match (self.machine, CpuTicks::now()) {
            (Some(a), Some(b)) => Some(b.busy_since(&a)),
            _ => None,
        };
        let process = match (self.process, process_cpu()) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a)),
            _ => None,
        };
        (machine, process)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_fraction_of_the_ticks_between_two_readings() {
        let a = CpuTicks {
            busy: 100,
            total: 400,
        };
        let b = CpuTicks {
            busy: 250,
            total: 600,
        };
        assert!((b.busy_since(&a) - 0.75).abs() < 1e-9);
        assert_eq!(a.busy_since(&a), 0.0);
    }

    #[test]
    fn spinning_shows_in_this_process_cpu_time() {
        let before = process_cpu().expect("Linux");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut x = 0u64;
        let mut used = Duration::ZERO;
        // Spin until the counter has moved by 50 ms (the machine may be shared: not wall time).
        while used < Duration::from_millis(50) && Instant::now() < deadline {
            for _ in 0..100_000 {
                x = x.wrapping_mul(31).wrapping_add(1);
            }
            used = process_cpu().expect("Linux").saturating_sub(before);
        }
        std::hint::black_box(x);
        assert!(used >= Duration::from_millis(50), "{used:?}");
    }
}
