//! `SmtpMailbox` against a Rust SMTP sink on 127.0.0.1: accepted mail, refusals (classified,
//! not retried forever), timeouts and lost answers (unknown outcome), restarts (the journal).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use plera_adapters::email::{message_id_for, SmtpConfig, SmtpMailbox, SmtpSecurity};
use plera_adapters::sandbox_http::{AcceptAll, MailHandler, ReceivedMail, SmtpSink, Verdict};
use plera_domain::ids::{MailboxId, SequenceId};
use plera_domain::lead::SkipReason;
use plera_domain::ports::{Disposition, EmailGateway, EmailRequest, GatewayErrorKind, StepKey};
use secrecy::SecretString;

struct Always(Verdict);

#[async_trait]
impl MailHandler for Always {
    async fn on_mail(&self, _mail: &ReceivedMail) -> Verdict {
        self.0.clone()
    }
}

fn key(step: u32) -> StepKey {
    StepKey {
        sequence: SequenceId::new("ws/camp/lead-1"),
        step,
    }
}

fn request(step: u32) -> EmailRequest {
    EmailRequest {
        key: key(step),
        mailbox: MailboxId::new("mb"),
        to: "ada@lead.example".into(),
        subject: "Café, Ada?".into(),
        body: "Hello Ada,\n.a line starting with a dot\nCheers".into(),
    }
}

fn config(sink: &SmtpSink) -> SmtpConfig {
    let mut config = SmtpConfig::new("127.0.0.1", sink.addr().port(), SmtpSecurity::Plain)
        .with_mailbox(MailboxId::new("mb"), "Al <sales@acme.io>");
    config.timeout = Duration::from_millis(400);
    config.message_id_domain = "mail.acme.io".into();
    config
}

#[tokio::test]
async fn an_accepted_mail_is_recorded_and_never_sent_twice() {
    let sink = SmtpSink::start(Arc::new(AcceptAll)).await.unwrap();
    let mut config = config(&sink);
    config.credentials = Some(("sales".into(), SecretString::from("hunter2-pw")));
    assert!(!format!("{config:?}").contains("hunter2-pw"));
    let mailbox = SmtpMailbox::new(config).unwrap();
    assert!(!format!("{mailbox:?}").contains("hunter2-pw"));

    let receipt = mailbox.send_email(request(2)).await.unwrap();
    assert_eq!(receipt.message_id, message_id_for(&key(2), "mail.acme.io"));
    let mails = sink.accepted();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.mail_from, "sales@acme.io");
    assert_eq!(mail.rcpt_to, vec!["ada@lead.example".to_string()]);
    assert_eq!(
        mail.message_id.as_deref(),
        Some(receipt.message_id.as_str())
    );
    assert_eq!(mail.subject, "Café, Ada?");
    assert_eq!(mail.body, "Hello Ada,\n.a line starting with a dot\nCheers");
    assert!(mail.authenticated);

    assert_eq!(
        mailbox.find_email(&key(2)).await.unwrap(),
        Some(receipt.clone())
    );
    assert_eq!(mailbox.find_email(&key(3)).await.unwrap(), None);
    let again = mailbox.send_email(request(2)).await.unwrap();
    assert_eq!(again, receipt);
    assert_eq!(sink.accepted().len(), 1, "a repeated key sends nothing");
    sink.stop();
}

#[tokio::test]
async fn refusals_are_classified() {
    let cases = [
        (
            550,
            "5.1.1 no such user",
            GatewayErrorKind::RecipientRefused,
        ),
        (
            554,
            "5.7.1 rejected as spam",
            GatewayErrorKind::RecipientRefused,
        ),
        (451, "4.3.0 try again later", GatewayErrorKind::Transient),
    ];
    for (code, text, kind) in cases {
        let sink = SmtpSink::start(Arc::new(Always(Verdict::Reject(code, text.into()))))
            .await
            .unwrap();
        let mailbox = SmtpMailbox::new(config(&sink)).unwrap();
        let error = mailbox.send_email(request(2)).await.unwrap_err();
        assert_eq!(error.kind, kind, "{code}: {error}");
        assert!(error.detail.contains(&code.to_string()), "{error}");
        assert_eq!(mailbox.find_email(&key(2)).await.unwrap(), None);
        sink.stop();
    }
    // A permanent refusal passes the step over rather than retrying it.
    assert_eq!(
        GatewayErrorKind::RecipientRefused.disposition(),
        Disposition::SkipStep(SkipReason::RecipientRefused)
    );
}

#[tokio::test]
async fn a_silent_relay_or_a_lost_answer_is_an_unknown_outcome() {
    for verdict in [Verdict::Stall, Verdict::HangUp] {
        let sink = SmtpSink::start(Arc::new(Always(verdict.clone())))
            .await
            .unwrap();
        let mailbox = SmtpMailbox::new(config(&sink)).unwrap();
        let started = std::time::Instant::now();
        let error = mailbox.send_email(request(2)).await.unwrap_err();
        assert_eq!(
            error.kind,
            GatewayErrorKind::Timeout,
            "{verdict:?}: {error}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(mailbox.find_email(&key(2)).await.unwrap(), None);
        sink.stop();
    }
}

#[tokio::test]
async fn a_relay_that_is_not_there_was_never_sent_to() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut config = SmtpConfig::new("127.0.0.1", port, SmtpSecurity::Plain)
        .with_mailbox(MailboxId::new("mb"), "sales@acme.io");
    config.timeout = Duration::from_millis(400);
    let error = SmtpMailbox::new(config)
        .unwrap()
        .send_email(request(2))
        .await
        .unwrap_err();
    assert_eq!(error.kind, GatewayErrorKind::Transient, "{error}");
}

#[tokio::test]
async fn bad_addresses_and_unknown_mailboxes_fail_without_sending() {
    let sink = SmtpSink::start(Arc::new(AcceptAll)).await.unwrap();
    let mailbox = SmtpMailbox::new(config(&sink)).unwrap();
    let mut bad_to = request(2);
    bad_to.to = "not an address".into();
    assert_eq!(
        mailbox.send_email(bad_to).await.unwrap_err().kind,
        GatewayErrorKind::RecipientRefused
    );
    let mut unknown = request(3);
    unknown.mailbox = MailboxId::new("other");
    assert_eq!(
        mailbox.send_email(unknown).await.unwrap_err().kind,
        GatewayErrorKind::Malformed
    );
    assert!(sink.accepted().is_empty());
    sink.stop();
}

#[tokio::test]
async fn the_journal_answers_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("emails.jsonl");
    let sink = SmtpSink::start(Arc::new(AcceptAll)).await.unwrap();
    let first = SmtpMailbox::new(config(&sink))
        .unwrap()
        .with_journal(file.clone())
        .await
        .unwrap();
    let receipt = first.send_email(request(2)).await.unwrap();
    drop(first);
    let second = SmtpMailbox::new(config(&sink))
        .unwrap()
        .with_journal(file)
        .await
        .unwrap();
    assert_eq!(second.find_email(&key(2)).await.unwrap(), Some(receipt));
    second.send_email(request(2)).await.unwrap();
    assert_eq!(sink.accepted().len(), 1);
    sink.stop();
}
