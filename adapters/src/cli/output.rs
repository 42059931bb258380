//! Where output goes: the machine result on stdout (`--json`), everything for people on stderr
//! (tables, progress bars, violations).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::io::Write;

use super::error::CliError;

/// The output mode of one command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Output {
    /// `--json`: stdout carries the JSON result only, and stderr no tables or progress.
    pub json: bool,
}

impl Output {
    /// Prints `value` as one JSON document on stdout.
    pub fn json<T: Serialize>(&self, value: &T) -> Result<(), CliError> {
        let mut out = std::io::stdout().lock();
        serde_json::to_writer(&mut out, value).map_err(|e| CliError::Output(e.to_string()))?;
        writeln!(out).map_err(|e| CliError::Output(e.to_string()))
    }

    /// Prints text for people on stderr (nothing in `--json` mode).
    pub fn human(&self, text: impl std::fmt::Display) {
        if !self.json {
            eprintln!("{text}");
        }
    }

    /// A progress bar on stderr of `len` steps; hidden in `--json` mode and when stderr is not a
    /// terminal.
    pub fn progress(&self, len: u64, template: &str) -> ProgressBar {
        if self.json {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    }
}

/// A table for stderr with a header row; numeric-looking cells are right-aligned.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(Cell::new));
    for row in rows {
        table.add_row(row.into_iter().map(|text| {
            let numeric = !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | '/' | ' ' | '%'));
            let cell = Cell::new(text);
            if numeric {
                cell.set_alignment(CellAlignment::Right)
            } else {
                cell
            }
        }));
    }
    table
}
