//! The local record of what the relay accepted: SMTP has no query API, so this is the only
//! place `find_email` can look. Kept in memory and, when a file is given, appended to it (one
//! JSON line per accepted mail) so that reconciliation after a restart still finds it.

use chrono::{DateTime, Utc};
use plera_domain::ports::{EmailReceipt, StepKey};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use crate::provider::{key_marker, parse_key_marker};

#[derive(Serialize, Deserialize)]
struct Line {
    key: String,
    message_id: String,
    at: DateTime<Utc>,
}

/// Accepted mails by step.
#[derive(Default)]
pub(super) struct Journal {
    accepted: Mutex<HashMap<StepKey, EmailReceipt>>,
    file: Option<PathBuf>,
}

impl Journal {
    /// A journal kept in `file` too, loading what it holds.
    pub async fn open(file: PathBuf) -> std::io::Result<Self> {
        let mut accepted = HashMap::new();
        match tokio::fs::read_to_string(&file).await {
            Ok(text) => {
                // A torn last line (a crash mid-append) is skipped, not fatal.
                for line in text.lines() {
                    if let Ok(l) = serde_json::from_str::<Line>(line) {
                        if let Some(key) = parse_key_marker(&l.key) {
                            accepted.insert(
                                key,
                                EmailReceipt {
                                    message_id: l.message_id,
                                    at: l.at,
                                },
                            );
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        Ok(Self {
            accepted: Mutex::new(accepted),
            file: Some(file),
        })
    }

    /// The receipt of `key`, if the relay accepted it.
    pub async fn get(&self, key: &StepKey) -> Option<EmailReceipt> {
        self.accepted.lock().await.get(key).cloned()
    }

    /// Records an accepted mail. A failure to write the file is returned after the memory
    /// record is made: the mail did go out.
    pub async fn record(&self, key: &StepKey, receipt: &EmailReceipt) -> std::io::Result<()> {
        let mut accepted = self.accepted.lock().await;
        accepted.insert(key.clone(), receipt.clone());
        let Some(path) = &self.file else {
            return Ok(());
        };
        let line = Line {
            key: key_marker(key),
            message_id: receipt.message_id.clone(),
            at: receipt.at,
        };
        let mut text = serde_json::to_string(&line).map_err(std::io::Error::other)?;
        text.push('\n');
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .await?;
        file.write_all(text.as_bytes()).await?;
        file.flush().await
    }
}
