//! `plera replay`: every view emptied and rebuilt from position 0 of the log, in one pass over
//! it, with a progress bar; `--json` prints each view's checkpoint and row counts.

use std::time::Instant;

use super::args::ReplayArgs;
use super::error::CliError;
use super::output::{table, Output};
use super::views::with_views;
use super::Finished;

/// Runs `plera replay`.
pub async fn run(url: &str, _args: &ReplayArgs, out: Output) -> Result<Finished, CliError> {
    let started = Instant::now();
    let bar = out.progress(
        0,
        "{spinner} rebuilding the views [{bar:40}] {pos}/{len} events {elapsed}",
    );
    let progress = bar.clone();
    let counts = with_views(url, false, |views| async move {
        Ok(views
            .rebuild_all(move |done, total| {
                progress.set_length(total);
                progress.set_position(done);
            })
            .await?)
    })
    .await;
    bar.finish_and_clear();
    let counts = counts?;
    if out.json {
        out.json(&counts)?;
        return Ok(Finished::Ok);
    }
    let mut rows = Vec::new();
    for count in &counts {
        for (name, n) in &count.rows {
            rows.push(vec![
                count.view.clone(),
                name.clone(),
                n.to_string(),
                count.position.to_string(),
            ]);
        }
    }
    eprintln!(
        "{}",
        table(&["view", "table", "rows", "log position"], rows)
    );
    let events = counts.iter().map(|c| c.position).max().unwrap_or(0);
    eprintln!(
        "rebuilt {} views from position 0 ({events} events) in {:.1} s",
        counts.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Finished::Ok)
}
