//! `plera serve` as a child process against the sandbox served over HTTP and SMTP, on the system
//! clock: one sender already connected at the provider, one connected through the hosted-auth
//! page it hands out; both campaigns send invites the provider really performs; SIGTERM stops it
//! with exit 0; at `RUST_LOG=trace` no secret shows in its output; run again on the same
//! database, it recognises its senders, campaigns and leads and does nothing twice.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use chrono::{Timelike, Utc};
use plera_actors::SystemClock;
use plera_adapters::sandbox::{SandboxConfig, SandboxLead, SandboxWorld};
use plera_adapters::sandbox_http::{SandboxHttp, SandboxHttpConfig};
use plera_domain::ids::{AccountId, LeadId, MailboxId, ProviderAccountId};
use plera_domain::values::{Action, Tier};
use secrecy::SecretString;
use url::Url;

const API_KEY: &str = "sk-live-SERVE-TEST-KEY-5150";
const WEBHOOK_SECRET: &str = "whsec-SERVE-TEST-SECRET-2112";
const SMTP_USER: &str = "relay-user";
const SMTP_PASSWORD: &str = "smtp-SERVE-TEST-PASSWORD-1984";

/// A zone where it is around noon now, so that 08:00-17:00 working hours hold for the test.
fn noon_zone() -> String {
    let offset = 12 - i64::from(Utc::now().hour());
    match offset {
        0 => "Etc/GMT".to_string(),
        // IANA's Etc zones count the other way: Etc/GMT-3 is UTC+3.
        o if o > 0 => format!("Etc/GMT-{o}"),
        o => format!("Etc/GMT+{}", -o),
    }
}

fn config(smtp_port: u16, api_url: &Url, zone: &str) -> String {
    format!(
        r#"
workspace = "acme"

[engine]
tick_seconds = 1
# Every day: the test runs at any hour of any day, and the noon zone may be on a weekend.
working_days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[provider]
base_url = "{api_url}"
api_key_env = "SERVE_TEST_API_KEY"
timeout_seconds = 10

[webhook]
listen = "127.0.0.1:0"
secret_env = "SERVE_TEST_WEBHOOK_SECRET"
poll_seconds = 10

[smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "plain"
username = "{SMTP_USER}"
password = "{SMTP_PASSWORD}"
journal = "smtp-journal.jsonl"

[[mailbox]]
id = "sales"
address = "Acme Sales <sales@acme.example>"

[[sender]]
name = "ann"
first_name = "Ann"
provider_account_id = "li-ann"
tier = "premium"
timezone = "{zone}"
working_hours = "08:00-17:00"

[[sender]]
name = "bea"
first_name = "Bea"
tier = "free"
timezone = "{zone}"
working_hours = "08:00-17:00"

[[campaign]]
id = "spring"
play = "linkedin-first"
senders = ["ann"]
mailbox = "sales"
leads = "spring.csv"

[[campaign]]
id = "summer"
play = "linkedin-first"
senders = ["bea"]
mailbox = "sales"
leads = "summer.csv"
"#
    )
}

const SPRING: &str = "lead_id,first_name,last_name,company,email\n\
                      li-lead-1,Ada,Lovelace,Acme,ada@prospect.example\n\
                      li-lead-2,Alan,Turing,Bletchley,\n\
                      li-lead-3,Grace,Hopper,Navy,grace@prospect.example\n";
const SUMMER: &str = "lead_id,first_name,company\n\
                      li-lead-4,Edsger,Eindhoven\n\
                      li-lead-5,Barbara,MIT\n";

/// The served sandbox, its world on the system clock.
async fn sandbox() -> SandboxHttp {
    let world = SandboxWorld::new(
        SandboxConfig {
            // Nothing here is about expired sessions or flaky answers.
            session_expiry_per_account_day: 0.0,
            ..SandboxConfig::seeded(9)
        },
        Arc::new(SystemClock),
    );
    for i in 1..=5 {
        world.add_lead(
            LeadId::new(format!("li-lead-{i}")),
            SandboxLead {
                email: Some(format!("lead{i}@prospect.example")),
                ..SandboxLead::default()
            },
        );
    }
    let sandbox = SandboxHttp::start(
        world,
        SandboxHttpConfig {
            api_key: SecretString::from(API_KEY),
            // Told the endpoint's real address once `serve` prints it.
            webhook_url: Url::parse("http://127.0.0.1:9").unwrap(),
            webhook_secret: SecretString::from(WEBHOOK_SECRET),
            mailboxes: [(MailboxId::new("sales"), "sales@acme.example".to_string())].into(),
        },
    )
    .await
    .unwrap();
    // Ann's account exists at the provider already, under the provider's own name for it.
    sandbox.add_account(
        AccountId::new("provider-ann"),
        ProviderAccountId::new("li-ann"),
        Tier::Premium,
        chrono_tz::UTC,
    );
    sandbox
}

/// `plera serve` running, its stderr collected line by line; killed if the test fails.
struct Serve {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Serve {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_plera"))
            .arg("serve")
            .arg("--config")
            .arg(dir.join("plera.toml"))
            .arg("--db")
            .arg(format!("sqlite://{}", dir.join("plera.db").display()))
            .env("RUST_LOG", "trace")
            .env("SERVE_TEST_API_KEY", API_KEY)
            .env("SERVE_TEST_WEBHOOK_SECRET", WEBHOOK_SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Serve { child, lines }
    }

    fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// The first line starting with `prefix` (the log's lines start with a timestamp; the
    /// CLI's own with `plera serve:`), waiting up to `patience`.
    async fn line(&mut self, prefix: &str, patience: Duration) -> String {
        self.wait_for(|l| l.starts_with(prefix), prefix, patience)
            .await
    }

    /// The first line containing `text`, waiting up to `patience`.
    async fn line_containing(&mut self, text: &str, patience: Duration) -> String {
        self.wait_for(|l| l.contains(text), text, patience).await
    }

    async fn wait_for(
        &mut self,
        found: impl Fn(&str) -> bool,
        prefix: &str,
        patience: Duration,
    ) -> String {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(line) = self.lines.lock().unwrap().iter().find(|l| found(l)) {
                return line.clone();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("serve exited with {status}:\n{}", tail(&self.output()));
            }
            assert!(
                Instant::now() < deadline,
                "no `{prefix}` line:\n{}",
                tail(&self.output())
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The webhook endpoint's URL, from the line serve prints once it listens.
    async fn webhooks(&mut self) -> Url {
        let prefix = "plera serve: webhooks on ";
        let line = self.line(prefix, Duration::from_secs(30)).await;
        let url = line[prefix.len()..].split(',').next().unwrap_or_default();
        Url::parse(url).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    /// SIGTERM, then the exit code within 20 s.
    async fn terminate(&mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the reader thread take the last lines.
                tokio::time::sleep(Duration::from_millis(200)).await;
                return status.code();
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Invites the provider performed, per account.
fn invites(sandbox: &SandboxHttp, account: &AccountId) -> usize {
    sandbox
        .world()
        .ledger()
        .iter()
        .filter(|e| e.action == Action::Invite && e.account_id.as_ref() == Some(account))
        .count()
}

fn assert_no_secret(output: &str) {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for secret in [
        API_KEY.to_string(),
        WEBHOOK_SECRET.to_string(),
        SMTP_PASSWORD.to_string(),
        b64(&format!("\0{SMTP_USER}\0{SMTP_PASSWORD}")),
        b64(SMTP_PASSWORD),
    ] {
        assert!(!output.contains(&secret), "a secret is in the output");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_sends_through_the_provider_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = sandbox().await;
    let zone = noon_zone();
    std::fs::write(
        dir.path().join("plera.toml"),
        config(sandbox.smtp_addr().port(), &sandbox.api_url(), &zone),
    )
    .unwrap();
    std::fs::write(dir.path().join("spring.csv"), SPRING).unwrap();
    std::fs::write(dir.path().join("summer.csv"), SUMMER).unwrap();

    let mut serve = Serve::start(dir.path());
    let webhooks = serve.webhooks().await;
    assert_eq!(webhooks.host_str(), Some("127.0.0.1"));
    sandbox.set_webhook_url(&webhooks);

    // Bea opens the hosted-auth page serve printed and logs in as li-bea.
    let link = serve
        .line("plera serve: sender bea: connect", Duration::from_secs(30))
        .await;
    let page = sandbox.pending_hosted_auth();
    assert_eq!(page.len(), 1, "one page for bea: {page:?}");
    assert!(link.contains(&page[0]), "{link}");
    let bea = sandbox
        .complete_hosted_auth(
            &page[0],
            ProviderAccountId::new("li-bea"),
            Tier::Free,
            chrono_tz::UTC,
        )
        .await
        .unwrap();

    // Both campaigns run: invites reach the provider from both accounts.
    let ann = AccountId::new("provider-ann");
    let deadline = Instant::now() + Duration::from_secs(60);
    while invites(&sandbox, &ann) == 0 || invites(&sandbox, &bea) == 0 {
        assert!(
            Instant::now() < deadline,
            "no invites from both senders: {:?}\n{}",
            sandbox.world().ledger(),
            tail(&serve.output())
        );
        sandbox.deliver_due(Utc::now()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The polling fallback's next round asks the provider about both accounts.
    serve
        .line_containing("path=api/v1/accounts/li-bea", Duration::from_secs(30))
        .await;
    assert_eq!(
        serve.terminate().await,
        Some(0),
        "{}",
        tail(&serve.output())
    );
    let output = serve.output();
    assert!(output.contains("plera serve: stopped"), "{}", tail(&output));
    assert!(
        output.contains("plera serve: campaign spring running: 3 leads enrolled now")
            && output.contains("plera serve: campaign summer running: 2 leads enrolled now"),
        "{}",
        tail(&output)
    );
    // The trace was on (provider calls, webhook requests), and shows no secret.
    assert!(output.contains("provider call") && output.contains("actix_http"));
    assert_no_secret(&output);
    let trouble: Vec<&str> = output
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect();
    assert!(trouble.is_empty(), "{trouble:#?}");
    let ledger = sandbox.world().ledger();
    let notes: Vec<&str> = ledger.iter().filter_map(|e| e.note.as_deref()).collect();
    assert!(
        notes.iter().any(|n| n.ends_with("- Ann")) && notes.iter().any(|n| n.ends_with("- Bea")),
        "each sender signs its notes: {notes:?}"
    );
    drop(serve);

    // The log: Bea connected with her own settings, not the webhook's fallback ones.
    let log = export(dir.path());
    let connected: Vec<&serde_json::Value> = log
        .iter()
        .filter(|e| e["event_type"] == "AccountConnected")
        .collect();
    assert_eq!(connected.len(), 2, "{connected:?}");
    let bea_event = connected
        .iter()
        .find(|e| e["payload"]["owner"] == "bea")
        .expect("bea connected");
    assert_eq!(bea_event["payload"]["tier"], "free");
    assert_eq!(bea_event["payload"]["timezone"], zone.as_str());
    assert_eq!(bea_event["payload"]["working_hours"]["start"], "08:00");
    let events = log.len();

    // Again on the same database: nothing connected, created or enrolled twice.
    let mut again = Serve::start(dir.path());
    sandbox.set_webhook_url(&again.webhooks().await);
    again
        .line(
            "plera serve: campaign spring running: 0 leads enrolled now, 3 before",
            Duration::from_secs(30),
        )
        .await;
    again
        .line(
            "plera serve: campaign summer running: 0 leads enrolled now, 2 before",
            Duration::from_secs(30),
        )
        .await;
    assert_eq!(
        again.terminate().await,
        Some(0),
        "{}",
        tail(&again.output())
    );
    assert!(
        sandbox.pending_hosted_auth().is_empty(),
        "no new link for bea"
    );
    assert_no_secret(&again.output());
    let log = export(dir.path());
    assert!(log.len() >= events);
    let count = |kind: &str| log.iter().filter(|e| e["event_type"] == kind).count();
    assert_eq!(count("AccountConnected"), 2);
    assert_eq!(count("CampaignCreated"), 2);
    assert_eq!(count("SequenceStarted"), 5);
    sandbox.stop().await;
}

/// The log as `plera export` gives it.
fn export(dir: &Path) -> Vec<serde_json::Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_plera"))
        .args(["export", "--db"])
        .arg(format!("sqlite://{}", dir.join("plera.db").display()))
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
