//! One engine node of the two-process scale-out test; see `plera_tests::cluster_node`.
//! `cluster_node URL NAME VIRTUAL_ORIGIN WALL_ORIGIN SPEED RUN_MS` (times in RFC 3339).

use chrono::{DateTime, Utc};
use plera_tests::cluster_node::{run_node, NodeArgs, ScaledClock};
use std::sync::Arc;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = parse(&args);
    let Ok(node) = parsed else {
        eprintln!("cluster_node: {}", parsed.err().unwrap_or_default());
        return std::process::ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cluster_node: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_node(node)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cluster_node: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> Result<NodeArgs, String> {
    let [url, name, virtual_origin, wall_origin, speed, run_ms] = args else {
        return Err("usage: cluster_node URL NAME VIRTUAL_ORIGIN WALL_ORIGIN SPEED RUN_MS".into());
    };
    let time = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("{s}: {e}"))
    };
    Ok(NodeArgs {
        url: url.clone(),
        name: name.clone(),
        clock: Arc::new(ScaledClock {
            virtual_origin: time(virtual_origin)?,
            wall_origin: time(wall_origin)?,
            speed: speed.parse().map_err(|e| format!("speed: {e}"))?,
        }),
        run_for: std::time::Duration::from_millis(
            run_ms.parse().map_err(|e| format!("run ms: {e}"))?,
        ),
    })
}
