//! The API key never leaves the header: not in `Debug`, not in any error, not in any log line
//! (captured at TRACE, dependencies' `log` records included).

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plera_adapters::provider::{HttpLinkedIn, ProviderConfig};
use plera_domain::ids::{AccountId, LeadId, ProviderAccountId, SequenceId};
use plera_domain::ports::{InviteRequest, LinkedInGateway, StepKey};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-live-SECRET-91c0ffee";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn invite() -> InviteRequest {
    InviteRequest {
        key: StepKey {
            sequence: SequenceId::new("ws/camp/lead-1"),
            step: 0,
        },
        account: AccountId::new("acc-1"),
        provider_account: ProviderAccountId::new("prov-1"),
        lead: LeadId::new("lead-1"),
        note: None,
    }
}

#[tokio::test]
async fn the_key_appears_in_no_debug_output_error_or_log_line() {
    let _ = tracing_log::LogTracer::init();
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let server = MockServer::start().await;
    let config = ProviderConfig::new(Url::parse(&server.uri()).unwrap(), SecretString::from(KEY))
        .with_timeout(Duration::from_millis(300));
    assert!(!format!("{config:?}").contains(KEY));
    assert!(!format!("{config:#?}").contains(KEY));
    let gw = HttpLinkedIn::new(config).unwrap();
    assert!(!format!("{gw:?}").contains(KEY));

    let mut errors = Vec::new();
    let answers = [
        // A provider that echoes the key back in its error.
        ResponseTemplate::new(401).set_body_json(json!({
            "object": "Error", "type": "errors/disconnected_account", "status": 401,
            "detail": format!("bad key {KEY}"),
        })),
        ResponseTemplate::new(500).set_body_string(format!("key was {KEY}")),
        ResponseTemplate::new(201).set_body_string(format!("{{\"invitation_id\": {KEY}}}")),
        ResponseTemplate::new(201).set_delay(Duration::from_secs(2)),
    ];
    for answer in answers {
        server.reset().await;
        Mock::given(method("POST"))
            .respond_with(answer)
            .mount(&server)
            .await;
        errors.push(gw.send_invite(invite()).await.unwrap_err());
    }
    errors.push(gw.find_invite(&invite().key).await.unwrap_err());
    for error in &errors {
        assert!(!error.to_string().contains(KEY), "{error}");
        assert!(!format!("{error:?}").contains(KEY), "{error:?}");
    }
    // The requests really carried the key (so the test looked where it could have leaked).
    let received = server.received_requests().await.unwrap();
    assert!(received
        .iter()
        .any(|r| r.headers.get("x-api-key").and_then(|v| v.to_str().ok()) == Some(KEY)));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("provider call"), "the capture works: {logs}");
    assert!(
        logs.contains("reqwest"),
        "dependencies are captured too: {logs}"
    );
    assert!(!logs.contains(KEY), "{logs}");
}
