//! What invariants 7 and 8 read besides the log: the views' live rows and checkpoints, loaded
//! once before the log is scanned (the checks are synchronous folds), and the comparison of two
//! versions of a view's tables.

use std::collections::BTreeMap;

use plera_projections::queries::ViewError;
use plera_projections::rows::{Key, KeyPart, Table, Value};

use super::violation::{Rule, Violation};
use crate::views::Views;

/// Rows of one table by primary key.
pub type Rows = BTreeMap<Key, Vec<Value>>;

/// Differences a report spells out per table (the rest are counted).
const SHOWN: usize = 5;

/// The views as stored: each view's checkpoint and every row of its tables.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveViews {
    /// Checkpoint (last log position applied) per view name.
    pub positions: BTreeMap<String, u64>,
    /// Rows per table name.
    pub tables: BTreeMap<&'static str, Rows>,
}

impl LiveViews {
    /// Reads every view's checkpoint and tables (nothing is written).
    pub async fn load(views: &Views) -> Result<Self, ViewError> {
        let positions = views
            .counts()
            .await?
            .into_iter()
            .map(|c| (c.view, c.position))
            .collect();
        let mut tables = BTreeMap::new();
        for table in views.tables() {
            let rows = views.dump(table.name).await?;
            tables.insert(table.name, keyed(table, rows)?);
        }
        Ok(Self { positions, tables })
    }

    /// A view's checkpoint (0 when it never ran).
    pub fn position(&self, view: &str) -> u64 {
        self.positions.get(view).copied().unwrap_or(0)
    }

    /// The lowest checkpoint: every view has applied the log up to here.
    pub fn lowest_position(&self) -> u64 {
        self.positions.values().copied().min().unwrap_or(0)
    }

    /// A table's rows (none when unknown).
    pub fn rows(&self, table: &str) -> Rows {
        self.tables.get(table).cloned().unwrap_or_default()
    }
}

/// Invariant 8 violations for every table whose rows in `live` differ from `expected` (e.g. the
/// views before and after a rebuild from position 0), `what` naming the latter.
pub fn compare(
    live: &LiveViews,
    expected: &LiveViews,
    views: &Views,
    what: &str,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for table in views.tables() {
        let d = diff(table, &live.rows(table.name), &expected.rows(table.name));
        if !d.is_empty() {
            out.extend(diff_violations(table.name, &d, what));
        }
    }
    out
}

/// Rows by their primary key.
pub fn keyed(table: &Table, rows: Vec<Vec<Value>>) -> Result<Rows, ViewError> {
    rows.into_iter()
        .map(|row| Ok((table.key_of(&row)?, row)))
        .collect()
}

/// How a table's live rows differ from what they should be.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableDiff {
    /// Keys that should be there and are not.
    pub missing: Vec<Key>,
    /// Keys that are there and should not be.
    pub extra: Vec<Key>,
    /// Keys whose row differs, with the columns that differ.
    pub changed: Vec<(Key, Vec<&'static str>)>,
}

impl TableDiff {
    /// Whether the two versions are equal.
    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty() && self.changed.is_empty()
    }
}

/// Compares `live` with `expected`, row by row and column by column.
pub fn diff(table: &Table, live: &Rows, expected: &Rows) -> TableDiff {
    let mut out = TableDiff::default();
    for (key, want) in expected {
        match live.get(key) {
            None => out.missing.push(key.clone()),
            Some(got) if got != want => {
                let columns = table
                    .columns
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| got.get(*i) != want.get(*i))
                    .map(|(_, c)| c.name)
                    .collect();
                out.changed.push((key.clone(), columns));
            }
            Some(_) => {}
        }
    }
    out.extra = live
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .cloned()
        .collect();
    out
}

/// Invariant 8 violations for a table whose live rows differ from `what` (e.g. "the log folded
/// from position 0"): the first few rows named, the rest counted.
pub fn diff_violations(table: &str, diff: &TableDiff, what: &str) -> Vec<Violation> {
    let mut lines: Vec<String> = Vec::new();
    lines.extend(
        diff.missing
            .iter()
            .map(|k| format!("row {} is missing", show_key(k))),
    );
    lines.extend(
        diff.extra
            .iter()
            .map(|k| format!("row {} should not be there", show_key(k))),
    );
    lines.extend(
        diff.changed
            .iter()
            .map(|(k, columns)| format!("row {} differs in {}", show_key(k), columns.join(", "))),
    );
    let total = lines.len();
    let mut out: Vec<Violation> = lines
        .into_iter()
        .take(SHOWN)
        .map(|line| violation(table, format!("{line} (compared with {what})")))
        .collect();
    if total > SHOWN {
        out.push(violation(
            table,
            format!("... {} more rows differ from {what}", total - SHOWN),
        ));
    }
    out
}

fn violation(table: &str, message: String) -> Violation {
    Violation::in_views(Rule::ViewDiffers, None, table, message)
}

fn show_key(key: &Key) -> String {
    let parts: Vec<String> = key
        .iter()
        .map(|p| match p {
            KeyPart::Int(i) => i.to_string(),
            KeyPart::Text(s) => s.clone(),
        })
        .collect();
    format!("({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use plera_projections::inbox::ThreadRow;
    use plera_projections::rows::Record;

    fn row(lead: &str, unread: i64) -> Vec<Value> {
        ThreadRow {
            workspace_id: "ws".into(),
            lead_id: lead.into(),
            account_id: "acc-1".into(),
            campaign_id: None,
            last_channel: "linkedin".into(),
            last_direction: "inbound".into(),
            last_at: "2026-03-02T09:00:00.000000000Z".into(),
            last_position: 3,
            messages: 2,
            inbound: 1,
            unread,
            last_read_at: None,
        }
        .to_values()
    }

    #[test]
    fn a_diff_names_missing_extra_and_changed_rows_and_their_columns() {
        let table = ThreadRow::table();
        let expected = keyed(table, vec![row("a", 1), row("b", 1)]).unwrap();
        let live = keyed(table, vec![row("b", 0), row("c", 1)]).unwrap();
        let d = diff(table, &live, &expected);
        assert_eq!(d.missing.len(), 1);
        assert_eq!(d.extra.len(), 1);
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].1, vec!["unread"]);
        let violations = diff_violations(table.name, &d, "the rebuild");
        assert_eq!(violations.len(), 3);
        assert!(violations.iter().all(|v| v.invariant == 8));
        assert!(violations[0].message.contains("(ws, a, acc-1) is missing"));
        assert!(diff(table, &expected, &expected).is_empty());
    }

    #[test]
    fn many_differences_are_counted_past_the_first_few() {
        let table = ThreadRow::table();
        let expected = keyed(
            table,
            (0..12).map(|i| row(&format!("l{i:02}"), 1)).collect(),
        )
        .unwrap();
        let d = diff(table, &Rows::new(), &expected);
        let violations = diff_violations(table.name, &d, "the rebuild");
        assert_eq!(violations.len(), SHOWN + 1);
        assert!(violations[SHOWN].message.contains("7 more rows"));
    }
}
