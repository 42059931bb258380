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
