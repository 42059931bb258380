//! `plera export`: the whole log in global order, as JSON lines or CSV, on stdout.

use plera_actors::store::StoredEvent;
use serde::Serialize;
use std::io::Write;

use super::args::{ExportArgs, ExportFormat};
use super::db;
use super::error::CliError;
use super::output::Output;
use super::Finished;
use crate::audit::scan;

/// The columns, in order.
const COLUMNS: [&str; 7] = [
    "position",
    "aggregate_type",
    "aggregate_id",
    "sequence",
    "event_type",
    "event_version",
    "payload",
];

/// One exported line (field order is the documented column order).
#[derive(Serialize)]
struct Line<'a> {
    position: u64,
    aggregate_type: &'a str,
    aggregate_id: &'a str,
    sequence: u64,
    event_type: &'a str,
    event_version: &'a str,
    payload: &'a serde_json::Value,
}

/// Runs `plera export`.
pub async fn run(url: &str, args: &ExportArgs, out: Output) -> Result<Finished, CliError> {
    let store = db::open_existing(url).await?;
    let stdout = std::io::stdout();
    let mut writer = std::io::BufWriter::new(stdout.lock());
    let result = export(&store, args.format, &mut writer).await;
    store.close().await;
    match result.and_then(|n| writer.flush().map(|()| n).map_err(Into::into)) {
        Ok(n) => {
            out.human(format!("exported {n} events"));
            Ok(Finished::Ok)
        }
        // A reader that stops early (`| head`) is not a failure of the export.
        Err(ExportError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Finished::Ok),
        Err(ExportError::Io(e)) => Err(CliError::Output(e.to_string())),
        Err(ExportError::Cli(e)) => Err(e),
    }
}

enum ExportError {
    Io(std::io::Error),
    Cli(CliError),
}

impl From<std::io::Error> for ExportError {
    fn from(e: std::io::Error) -> Self {
        ExportError::Io(e)
    }
}

impl From<plera_actors::store::StoreError> for ExportError {
    fn from(e: plera_actors::store::StoreError) -> Self {
        ExportError::Cli(e.into())
    }
}

async fn export(
    store: &crate::store::Store,
    format: ExportFormat,
    w: &mut impl Write,
) -> Result<u64, ExportError> {
    if format == ExportFormat::Csv {
        writeln!(w, "{}", COLUMNS.join(","))?;
    }
    scan(store.event_log().as_ref(), |e| {
        match format {
            ExportFormat::Jsonl => write_jsonl(w, e)?,
            ExportFormat::Csv => write_csv(w, e)?,
        }
        Ok::<(), ExportError>(())
    })
    .await
}

fn line(e: &StoredEvent) -> Line<'_> {
    Line {
        position: e.position,
        aggregate_type: &e.aggregate_type,
        aggregate_id: &e.aggregate_id,
        sequence: e.sequence,
        event_type: &e.event_type,
        event_version: &e.event_version,
        payload: &e.payload,
    }
}

fn write_jsonl(w: &mut impl Write, e: &StoredEvent) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, &line(e)).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

fn write_csv(w: &mut impl Write, e: &StoredEvent) -> std::io::Result<()> {
    let payload = serde_json::to_string(&e.payload).map_err(std::io::Error::other)?;
    let fields = [
        e.position.to_string(),
        csv_field(&e.aggregate_type),
        csv_field(&e.aggregate_id),
        e.sequence.to_string(),
        csv_field(&e.event_type),
        csv_field(&e.event_version),
        csv_field(&payload),
    ];
    writeln!(w, "{}", fields.join(","))
}

/// A CSV field (RFC 4180): quoted, with quotes doubled, when it holds a comma, quote or line
/// break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> StoredEvent {
        StoredEvent {
            position: 3,
            aggregate_type: "lead_sequence".into(),
            aggregate_id: "ws/c/l".into(),
            sequence: 2,
            event_type: "MessageSent".into(),
            event_version: "1".into(),
            payload: json!({"type": "MessageSent", "text": "Hi, \"you\"\nthere"}),
        }
    }

    #[test]
    fn a_jsonl_line_has_the_documented_fields_in_order() {
        let mut out = Vec::new();
        write_jsonl(&mut out, &event()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("{\"position\":3,\"aggregate_type\":\"lead_sequence\","));
        assert!(text.ends_with("}\n"));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["payload"]["text"], "Hi, \"you\"\nthere");
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut out = Vec::new();
        write_csv(&mut out, &event()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("3,lead_sequence,ws/c/l,2,MessageSent,1,\"{"));
        assert!(text.contains("\"\"text\"\":\"\"Hi, \\\"\"you\\\"\"\\nthere\"\""));
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
    }
}
