//! `plera.toml`: a complete file reads into the model (secrets from the file and from the
//! environment, play and leads files relative to it), the shipped sample reads, and every kind
//! of mistake is refused with its own typed error on one line that shows no secret.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::Weekday;
use plera_adapters::config::{ConfigError, ServeConfig};
use plera_adapters::email::SmtpSecurity;
use plera_domain::ids::{CampaignId, LeadId, MailboxId, ProviderAccountId};
use plera_domain::quota::WorkingDays;
use plera_domain::values::{ConnectionDegree, Limits, Tier};
use secrecy::ExposeSecret;

const API_KEY: &str = "sk-live-CONFIG-KEY-4242";
const WEBHOOK_SECRET: &str = "whsec-CONFIG-SECRET-0001";
const SMTP_PASSWORD: &str = "smtp-CONFIG-PASSWORD-77";

const GOOD: &str = r#"
workspace = "acme"

[engine]
tick_seconds = 2

[provider]
base_url = "https://api.provider.example"
api_key_env = "TEST_API_KEY"
timeout_seconds = 12

[webhook]
listen = "127.0.0.1:0"
public_url = "https://plera.acme.example"
secret = "whsec-CONFIG-SECRET-0001"
poll_seconds = 60

[smtp]
host = "smtp.acme.example"
port = 587
security = "starttls"
username = "sales@acme.example"
password_env = "TEST_SMTP_PASSWORD"
journal = "journal.jsonl"

[[mailbox]]
id = "sales"
address = "Acme Sales <sales@acme.example>"

[[sender]]
name = "alice"
first_name = "Alice"
provider_account_id = "li-alice"
tier = "premium"
timezone = "Europe/Paris"
working_hours = "09:00-17:30"
limits = { daily_invites = 20, daily_messages = 60, weekly_invites = 90 }

[[sender]]
name = "bob"
tier = "sales-navigator"
timezone = "America/New_York"
working_hours = "08:30-16:30"
warm_up = true

[[campaign]]
id = "spring"
name = "Spring outreach"
play = "linkedin-first"
senders = ["alice", "bob"]
mailbox = "sales"
leads = "leads.csv"

[[campaign]]
id = "custom"
play_file = "plays/custom.toml"
senders = ["alice"]
mailbox = "sales"
"#;

const LEADS: &str = "lead_id,first_name,last_name,company,email,degree,sender\n\
                     li-ada,Ada,Lovelace,Acme,ada@acme.example,1,bob\n\
                     li-alan,Alan,Turing,Bletchley,,,\n";

const PLAY: &str = r#"
name = "custom"
[[steps]]
action = "invite"
template = "Hi {{first_name}}"
"#;

/// A directory holding `plera.toml` (with `text`), the leads and the play file.
struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new(text: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("plera.toml"), text).unwrap();
        std::fs::write(dir.path().join("leads.csv"), LEADS).unwrap();
        std::fs::create_dir(dir.path().join("plays")).unwrap();
        std::fs::write(dir.path().join("plays/custom.toml"), PLAY).unwrap();
        Self { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("plera.toml")
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.dir.path().join(name), text).unwrap();
    }
}

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: BTreeMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.get(name).cloned()
}

fn full_env() -> impl Fn(&str) -> Option<String> {
    env(&[
        ("TEST_API_KEY", API_KEY),
        ("TEST_SMTP_PASSWORD", SMTP_PASSWORD),
    ])
}

fn parse(text: &str) -> Result<ServeConfig, ConfigError> {
    let dir = Dir::new(text);
    ServeConfig::parse(text, &dir.path(), &full_env())
}

#[test]
fn a_complete_file_reads_into_the_model() {
    let dir = Dir::new(GOOD);
    let config = ServeConfig::parse(GOOD, &dir.path(), &full_env()).unwrap();
    assert_eq!(config.workspace.as_str(), "acme");
    assert_eq!(config.tick.as_secs(), 2);
    assert_eq!(
        config.working_days,
        WorkingDays::default(),
        "Monday to Friday unless the file names the days"
    );
    assert_eq!(
        config.provider.base_url.as_str(),
        "https://api.provider.example/"
    );
    assert_eq!(config.provider.api_key.expose_secret(), API_KEY);
    assert_eq!(config.provider.timeout.as_secs(), 12);
    assert_eq!(config.webhook.listen.to_string(), "127.0.0.1:0");
    assert_eq!(
        config.webhook.public_url.as_ref().map(|u| u.as_str()),
        Some("https://plera.acme.example/")
    );
    assert_eq!(config.webhook.secret.expose_secret(), WEBHOOK_SECRET);
    assert_eq!(config.webhook.poll_every.map(|d| d.as_secs()), Some(60));
    assert_eq!(config.smtp.host, "smtp.acme.example");
    assert_eq!(
        (config.smtp.port, config.smtp.security),
        (587, SmtpSecurity::StartTls)
    );
    let (user, password) = config.smtp.credentials.as_ref().unwrap();
    assert_eq!(user, "sales@acme.example");
    assert_eq!(password.expose_secret(), SMTP_PASSWORD);
    assert_eq!(
        config
            .smtp
            .mailboxes
            .get(&MailboxId::new("sales"))
            .map(String::as_str),
        Some("Acme Sales <sales@acme.example>")
    );
    assert_eq!(
        config.smtp_journal,
        Some(dir.dir.path().join("journal.jsonl"))
    );
    assert_eq!(config.mailboxes[0].email, "sales@acme.example");

    let alice = config.sender("alice").unwrap();
    assert_eq!(alice.first_name, "Alice");
    assert_eq!(
        alice.provider_account_id,
        Some(ProviderAccountId::new("li-alice"))
    );
    assert_eq!(alice.settings.tier, Tier::Premium);
    assert_eq!(alice.settings.timezone, chrono_tz::Europe::Paris);
    assert_eq!(
        alice
            .settings
            .working_hours
            .end()
            .format("%H:%M")
            .to_string(),
        "17:30"
    );
    assert_eq!(
        alice.settings.limits,
        Some(Limits {
            daily_invites: 20,
            daily_messages: 60,
            weekly_invites: 90
        })
    );
    let bob = config.sender("bob").unwrap();
    assert_eq!(
        bob.first_name, "bob",
        "the name stands in for a missing first name"
    );
    assert_eq!(
        bob.provider_account_id, None,
        "bob connects through hosted auth"
    );
    assert_eq!(bob.settings.tier, Tier::SalesNavigator);
    assert!(bob.settings.warm_up && bob.settings.limits.is_none());

    let spring = &config.campaigns[0];
    assert_eq!(spring.id, CampaignId::new("spring"));
    assert_eq!(spring.name, "Spring outreach");
    assert_eq!(spring.play.name, "linkedin-first");
    assert_eq!(spring.senders, vec!["alice", "bob"]);
    assert_eq!(spring.mailbox, Some(MailboxId::new("sales")));
    assert_eq!(spring.leads.len(), 2);
    assert_eq!(spring.leads[0].id, LeadId::new("li-ada"));
    assert_eq!(spring.leads[0].degree, ConnectionDegree::First);
    assert_eq!(spring.leads[0].sender.as_deref(), Some("bob"));
    let custom = &config.campaigns[1];
    assert_eq!(
        (custom.name.as_str(), custom.play.name.as_str()),
        ("custom", "custom")
    );
    assert!(custom.leads.is_empty());

    let shown = format!("{config:?}");
    for secret in [API_KEY, WEBHOOK_SECRET, SMTP_PASSWORD] {
        assert!(!shown.contains(secret), "Debug shows a secret: {shown}");
    }
}

#[test]
fn the_sample_config_reads() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/plera.toml");
    let text = std::fs::read_to_string(&sample).unwrap();
    let config = ServeConfig::parse(
        &text,
        &sample,
        &env(&[
            ("PLERA_PROVIDER_API_KEY", "k"),
            ("PLERA_WEBHOOK_SECRET", "a-secret-of-16-chars"),
            ("PLERA_SMTP_PASSWORD", "p"),
        ]),
    )
    .unwrap();
    assert_eq!(config.senders.len(), 2);
    assert_eq!(config.campaigns.len(), 2);
    assert_eq!(config.campaigns[0].leads.len(), 3);
    assert_eq!(config.campaigns[1].play.name, "email-first");
}

#[test]
fn working_days_are_read_by_name_in_any_case() {
    let text = good_with(
        "tick_seconds = 2",
        "tick_seconds = 2\nworking_days = [\"Sat\", \"sunday\", \"MON\"]",
    );
    let dir = Dir::new(&text);
    let config = ServeConfig::parse(&text, &dir.path(), &full_env()).unwrap();
    assert_eq!(
        config.working_days,
        WorkingDays::new([Weekday::Sat, Weekday::Sun, Weekday::Mon]).unwrap()
    );
}

/// `GOOD` with `from` replaced by `to` (which must occur).
fn good_with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "{from:?} is not in the good config");
    GOOD.replacen(from, to, 1)
}

/// Whether an error is the one a mistake should give.
type Expected = fn(&ConfigError) -> bool;

/// `GOOD` without its `[smtp]` section.
fn without_smtp() -> String {
    let start = GOOD.find("[smtp]").unwrap();
    let end = GOOD.find("[[mailbox]]").unwrap();
    format!("{}{}", &GOOD[..start], &GOOD[end..])
}

#[test]
fn every_mistake_has_its_own_error() {
    let cases: Vec<(&str, String, Expected)> = vec![
        ("not TOML", good_with("[engine]", "[engine"), |e| {
            matches!(e, ConfigError::Syntax { line: 4, .. })
        }),
        (
            "unknown key",
            good_with("tick_seconds = 2", "tick_second = 2"),
            |e| matches!(e, ConfigError::Syntax { line: 5, message, .. } if message.contains("tick_second")),
        ),
        (
            "wrong type",
            good_with("port = 587", "port = \"587\""),
            |e| matches!(e, ConfigError::Syntax { line: 20, .. }),
        ),
        (
            "no workspace",
            good_with("workspace = \"acme\"", ""),
            |e| matches!(e, ConfigError::Syntax { message, .. } if message.contains("workspace")),
        ),
        (
            "no api key",
            good_with("api_key_env = \"TEST_API_KEY\"", ""),
            |e| matches!(e, ConfigError::Missing { field } if field.contains("provider.api_key")),
        ),
        (
            "api key twice",
            good_with(
                "api_key_env = \"TEST_API_KEY\"",
                "api_key_env = \"TEST_API_KEY\"\napi_key = \"sk-in-file\"",
            ),
            |e| matches!(e, ConfigError::Ambiguous { field } if field == "provider.api_key"),
        ),
        (
            "unset variable",
            good_with("TEST_API_KEY", "NOT_SET_ANYWHERE"),
            |e| matches!(e, ConfigError::EnvUnset { var, .. } if var == "NOT_SET_ANYWHERE"),
        ),
        (
            "bad base url",
            good_with("https://api.provider.example", "api.provider.example"),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "provider.base_url"),
        ),
        (
            "bad timeout",
            good_with("timeout_seconds = 12", "timeout_seconds = 0"),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "provider.timeout_seconds"),
        ),
        (
            "bad tick",
            good_with("tick_seconds = 2", "tick_seconds = 0"),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "engine.tick_seconds"),
        ),
        (
            "no working day",
            good_with("tick_seconds = 2", "tick_seconds = 2\nworking_days = []"),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "engine.working_days"),
        ),
        (
            "not a day",
            good_with(
                "tick_seconds = 2",
                "tick_seconds = 2\nworking_days = [\"mon\", \"funday\"]",
            ),
            |e| matches!(e, ConfigError::Invalid { field, reason } if field == "engine.working_days" && reason.contains("funday")),
        ),
        (
            "bad listen",
            good_with("127.0.0.1:0", "localhost"),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "webhook.listen"),
        ),
        (
            "short webhook secret",
            good_with(WEBHOOK_SECRET, "short"),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "webhook.secret"),
        ),
        (
            "no webhook secret",
            good_with(&format!("secret = \"{WEBHOOK_SECRET}\""), ""),
            |e| matches!(e, ConfigError::Missing { field } if field.contains("webhook.secret")),
        ),
        (
            "no smtp",
            without_smtp(),
            |e| matches!(e, ConfigError::Missing { field } if field == "[smtp]"),
        ),
        (
            "misspelt section",
            good_with("[smtp]", "[smtp_relay]"),
            |e| matches!(e, ConfigError::Syntax { message, .. } if message.contains("smtp_relay")),
        ),
        (
            "bad security",
            good_with("\"starttls\"", "\"ssl\""),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "smtp.security"),
        ),
        (
            "user without password",
            good_with("password_env = \"TEST_SMTP_PASSWORD\"", ""),
            |e| matches!(e, ConfigError::Missing { field } if field.contains("smtp.password")),
        ),
        (
            "bad mailbox address",
            good_with("Acme Sales <sales@acme.example>", "sales at acme"),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field.contains("mailbox `sales`")),
        ),
        (
            "bad tier",
            good_with("tier = \"premium\"", "tier = \"gold\""),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "sender `alice`: tier"),
        ),
        (
            "bad time zone",
            good_with("Europe/Paris", "Europe/Atlantis"),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "sender `alice`: timezone"),
        ),
        (
            "bad hours",
            good_with("09:00-17:30", "17:30-09:00"),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "sender `alice`: working_hours"),
        ),
        (
            "bad limits",
            good_with("daily_invites = 20", "daily_invites = 5000"),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "sender `alice`: limits"),
        ),
        (
            "sender twice",
            good_with("name = \"bob\"", "name = \"alice\""),
            |e| matches!(e, ConfigError::Duplicate { what: "sender", id } if id == "alice"),
        ),
        (
            "provider account twice",
            good_with(
                "name = \"bob\"",
                "name = \"bob\"\nprovider_account_id = \"li-alice\"",
            ),
            |e| {
                matches!(
                    e,
                    ConfigError::Duplicate {
                        what: "provider account",
                        ..
                    }
                )
            },
        ),
        (
            "campaign twice",
            good_with("id = \"custom\"", "id = \"spring\""),
            |e| matches!(e, ConfigError::Duplicate { what: "campaign", id } if id == "spring"),
        ),
        (
            "unknown sender",
            good_with(
                "senders = [\"alice\", \"bob\"]",
                "senders = [\"alice\", \"carol\"]",
            ),
            |e| matches!(e, ConfigError::Unknown { what: "sender", id, .. } if id == "carol"),
        ),
        (
            "unknown mailbox",
            good_with("mailbox = \"sales\"", "mailbox = \"support\""),
            |e| matches!(e, ConfigError::Unknown { what: "mailbox", id, .. } if id == "support"),
        ),
        (
            "unknown play",
            good_with("play = \"linkedin-first\"", "play = \"linkedin-last\""),
            |e| matches!(e, ConfigError::Invalid { field, .. } if field == "campaign `spring`: play"),
        ),
        (
            "no play",
            good_with("play = \"linkedin-first\"", ""),
            |e| matches!(e, ConfigError::Missing { field } if field.contains("campaign `spring`")),
        ),
        (
            "play file missing",
            good_with("plays/custom.toml", "plays/none.toml"),
            |e| matches!(e, ConfigError::Play { campaign, .. } if campaign == "custom"),
        ),
        (
            "leads file missing",
            good_with("leads.csv", "none.csv"),
            |e| matches!(e, ConfigError::Leads { line: 0, .. }),
        ),
    ];
    for (what, text, expected) in cases {
        let error = match parse(&text) {
            Ok(_) => panic!("{what}: accepted"),
            Err(e) => e,
        };
        assert!(expected(&error), "{what}: got {error:?}");
        let line = error.one_line();
        assert!(!line.contains('\n'), "{what}: {line}");
        for secret in [API_KEY, WEBHOOK_SECRET, SMTP_PASSWORD] {
            assert!(
                !line.contains(secret),
                "{what}: the error shows a secret: {line}"
            );
        }
    }
}

#[test]
fn bad_play_files_and_lead_rows_are_named() {
    let dir = Dir::new(GOOD);
    dir.write("plays/custom.toml", "name = \"custom\"\nsteps = []\n");
    dir.write("leads.csv", "lead_id,degree\nli-1,2\nli-2,7\n");
    let e = ServeConfig::parse(GOOD, &dir.path(), &full_env()).unwrap_err();
    assert!(matches!(&e, ConfigError::Leads { line: 3, .. }), "{e:?}");
    dir.write("leads.csv", LEADS);
    let e = ServeConfig::parse(GOOD, &dir.path(), &full_env()).unwrap_err();
    assert!(
        matches!(&e, ConfigError::Play { campaign, .. } if campaign == "custom"),
        "{e:?}"
    );
    dir.write("plays/custom.toml", PLAY);
    dir.write("leads.csv", "lead_id,sender\nli-1,carol\n");
    let e = ServeConfig::parse(GOOD, &dir.path(), &full_env()).unwrap_err();
    assert!(
        matches!(&e, ConfigError::Invalid { reason, .. } if reason.contains("carol")),
        "{e:?}"
    );
}

#[test]
fn a_missing_file_is_a_read_error() {
    let e = ServeConfig::load(Path::new("/nonexistent/plera.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
}

#[test]
fn plera_serve_refuses_a_bad_file_with_one_line_and_exit_2() {
    let dir = Dir::new(&good_with("tier = \"premium\"", "tier = \"gold\""));
    let output = Command::new(env!("CARGO_BIN_EXE_plera"))
        .args(["serve", "--config"])
        .arg(dir.path())
        .args(["--db", "sqlite::memory:"])
        .env("TEST_API_KEY", API_KEY)
        .env("TEST_SMTP_PASSWORD", SMTP_PASSWORD)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "error: sender `alice`: tier: `gold` is not free, premium or sales_navigator"
    );
    assert!(output.stdout.is_empty());
}
