//! `HttpLinkedIn` against a mock provider (wiremock): every endpoint, every error class.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use plera_adapters::provider::{
    key_marker, HostedAuthKind, HostedAuthRequest, HttpLinkedIn, MemoryAccounts, ProviderConfig,
};
use plera_domain::ids::{AccountId, LeadId, ProviderAccountId, SequenceId, WorkspaceId};
use plera_domain::ports::{
    AccountStatusSignal, GatewayErrorKind, InviteRequest, LinkedInGateway, MessageRequest, StepKey,
};
use secrecy::SecretString;
use serde_json::json;
use url::Url;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "sk-live-3f9a1c77e0d2b4a8";

fn gateway(server: &MockServer) -> HttpLinkedIn {
    let config = ProviderConfig::new(Url::parse(&server.uri()).unwrap(), SecretString::from(KEY))
        .with_timeout(Duration::from_millis(500));
    HttpLinkedIn::new(config).unwrap()
}

fn step(lead: &str, n: u32) -> StepKey {
    StepKey {
        sequence: SequenceId::of(&"ws".into(), &"camp".into(), &LeadId::new(lead)),
        step: n,
    }
}

fn invite(lead: &str) -> InviteRequest {
    InviteRequest {
        key: step(lead, 0),
        account: AccountId::new("acc-1"),
        provider_account: ProviderAccountId::new("prov-1"),
        lead: LeadId::new(lead),
        note: Some("Hi Ada".into()),
    }
}

fn message(lead: &str) -> MessageRequest {
    MessageRequest {
        key: step(lead, 1),
        account: AccountId::new("acc-1"),
        provider_account: ProviderAccountId::new("prov-1"),
        lead: LeadId::new(lead),
        text: "Thanks for connecting".into(),
    }
}

fn error_body(status: u16, slug: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "object": "Error", "type": format!("errors/{slug}"), "status": status,
        "title": "Provider error", "detail": detail,
    }))
}

#[tokio::test]
async fn an_invite_is_posted_with_the_key_and_the_idempotency_marker() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/users/invite"))
        .and(header("X-API-KEY", KEY))
        .and(header(
            "Idempotency-Key",
            key_marker(&step("lead-1", 0)).as_str(),
        ))
        .and(body_json(
            json!({"account_id": "prov-1", "provider_id": "lead-1", "message": "Hi Ada"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "object": "UserInvitationSent", "invitation_id": "inv-9", "usage": 40
        })))
        .expect(1)
        .mount(&server)
        .await;
    let receipt = gateway(&server)
        .send_invite(invite("lead-1"))
        .await
        .unwrap();
    assert_eq!(receipt.invitation_id, "inv-9");
    assert_eq!(receipt.usage, Some(0.4), "a percentage is read as a share");
}

#[tokio::test]
async fn an_invite_without_a_note_sends_no_message_field() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/users/invite"))
        .and(body_json(
            json!({"account_id": "prov-1", "provider_id": "lead-1"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "object": "UserInvitationSent", "invitation_id": "inv-1", "usage": 0.25
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut request = invite("lead-1");
    request.note = None;
    let receipt = gateway(&server).send_invite(request).await.unwrap();
    assert_eq!(receipt.usage, Some(0.25));
}

#[tokio::test]
async fn a_message_starts_a_chat_and_a_chat_message_goes_to_the_chat() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/chats"))
        .and(header("Idempotency-Key", key_marker(&step("lead-1", 1)).as_str()))
        .and(body_json(json!({"account_id": "prov-1", "attendees_ids": ["lead-1"], "text": "Thanks for connecting"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "object": "ChatStarted", "chat_id": "chat-1", "message_id": "msg-1"
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/chats/chat%201/messages"))
        .and(body_json(json!({"text": "a follow-up"})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "object": "MessageSent", "message_id": "msg-2"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let gw = gateway(&server);
    assert_eq!(
        gw.send_message(message("lead-1")).await.unwrap().message_id,
        "msg-1"
    );
    let receipt = gw
        .send_in_chat("chat 1", "a follow-up", &step("lead-1", 2))
        .await
        .unwrap();
    assert_eq!(receipt.message_id, "msg-2");
}

/// Every error of `linkedin-facts.md`, with its status, lands in its class.
#[tokio::test]
async fn every_documented_error_slug_is_classified() {
    use GatewayErrorKind::*;
    let cases = [
        (422, "invalid_recipient", "", RecipientRefused),
        (422, "no_connection_with_recipient", "", NotConnected),
        (422, "blocked_recipient", "", RecipientRefused),
        (422, "user_unreachable", "", RecipientRefused),
        (422, "action_already_performed", "", AlreadyPerformed),
        (422, "not_allowed_inmail", "", RecipientRefused),
        (422, "insufficient_credits", "", InsufficientCredits),
        (
            422,
            "cannot_resend_yet",
            "Temporary provider limit",
            TemporaryProviderLimit,
        ),
        (
            422,
            "cannot_resend_yet",
            "Delay new invitation to this recipient",
            CannotInviteLeadYet,
        ),
        (422, "cannot_resend_within_24hrs", "", CannotInviteLeadYet),
        (422, "limit_exceeded", "", LimitExceeded),
        (422, "already_invited_recently", "", CannotInviteLeadYet),
        (422, "already_connected", "", AlreadyConnected),
        (422, "cannot_invite_attendee", "", RecipientRefused),
        (422, "too_many_characters", "", NoteTooLong),
        (429, "too_many_requests", "", TooManyRequests),
        (401, "disconnected_account", "", SessionExpired),
        (401, "account_restricted", "", Restricted),
        (401, "checkpoint_error", "", SessionExpired),
        (500, "provider_error", "", Transient),
        (503, "no_client_session", "", Transient),
        (503, "network_down", "", Transient),
    ];
    let server = MockServer::start().await;
    let gw = gateway(&server);
    for (status, slug, detail, expected) in cases {
        server.reset().await;
        Mock::given(method("POST"))
            .respond_with(error_body(status, slug, detail))
            .mount(&server)
            .await;
        let invite_error = gw.send_invite(invite("lead-1")).await.unwrap_err();
        assert_eq!(invite_error.kind, expected, "invite: {slug} {detail}");
        assert!(invite_error.detail.starts_with(slug), "{invite_error}");
        let message_error = gw.send_message(message("lead-1")).await.unwrap_err();
        assert_eq!(message_error.kind, expected, "message: {slug} {detail}");
    }
}

#[tokio::test]
async fn bare_statuses_fall_back_on_their_meaning() {
    use GatewayErrorKind::*;
    let server = MockServer::start().await;
    let gw = gateway(&server);
    for (status, expected) in [
        (429, TooManyRequests),
        (401, SessionExpired),
        (403, SessionExpired),
        (500, Transient),
        (502, Transient),
        (503, Transient),
        (504, Timeout),
        (404, Malformed),
    ] {
        server.reset().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).set_body_string("<html>oops</html>"))
            .mount(&server)
            .await;
        let error = gw.send_invite(invite("lead-1")).await.unwrap_err();
        assert_eq!(error.kind, expected, "HTTP {status}");
    }
}

#[tokio::test]
async fn a_slow_provider_is_an_unknown_outcome() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"object": "UserInvitationSent", "invitation_id": "x"}))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let error = gateway(&server)
        .send_invite(invite("lead-1"))
        .await
        .unwrap_err();
    assert_eq!(error.kind, GatewayErrorKind::Timeout, "{error}");
}

#[tokio::test]
async fn a_refused_connection_was_never_sent() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let config = ProviderConfig::new(
        Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        SecretString::from(KEY),
    );
    let gw = HttpLinkedIn::new(config).unwrap();
    let error = gw.send_invite(invite("lead-1")).await.unwrap_err();
    assert_eq!(error.kind, GatewayErrorKind::Transient, "{error}");
}

#[tokio::test]
async fn unreadable_answers_are_malformed() {
    let server = MockServer::start().await;
    let gw = gateway(&server);
    for body in [
        ResponseTemplate::new(201).set_body_string("not json"),
        ResponseTemplate::new(201).set_body_json(json!({"object": "UserInvitationSent"})),
        ResponseTemplate::new(201)
            .set_body_json(json!({"object": "UserInvitationSent", "invitation_id": ""})),
    ] {
        server.reset().await;
        Mock::given(method("POST"))
            .respond_with(body)
            .mount(&server)
            .await;
        let error = gw.send_invite(invite("lead-1")).await.unwrap_err();
        assert_eq!(error.kind, GatewayErrorKind::Malformed, "{error}");
    }
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"object": "ChatStarted"})))
        .mount(&server)
        .await;
    let error = gw.send_message(message("lead-1")).await.unwrap_err();
    assert_eq!(error.kind, GatewayErrorKind::Malformed);
}

#[tokio::test]
async fn a_lost_invite_is_found_by_its_echoed_marker_across_pages() {
    let server = MockServer::start().await;
    let key = step("lead-1", 0);
    Mock::given(method("GET"))
        .and(path("/api/v1/users/invite/sent"))
        .and(query_param("account_id", "prov-1"))
        .and(query_param("cursor", "p2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "InvitationList",
            "items": [{"id": "inv-7", "invited_user_id": "lead-1", "date": "2026-11-02T10:00:00Z",
                       "idempotency_key": key_marker(&key)}],
        })))
        // Once for the lost invite, once more while looking in vain for another.
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/invite/sent"))
        .and(query_param("account_id", "prov-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "InvitationList",
            "items": [{"id": "inv-3", "invited_user_id": "lead-0", "idempotency_key": "ws/camp/lead-0#0"}],
            "cursor": "p2",
        })))
        .mount(&server)
        .await;
    let accounts = Arc::new(MemoryAccounts::default());
    accounts.insert(
        WorkspaceId::new("ws"),
        AccountId::new("acc-1"),
        ProviderAccountId::new("prov-1"),
    );
    let gw = gateway(&server).with_accounts(accounts);
    let found = gw.find_invite(&key).await.unwrap().expect("found");
    assert_eq!(found.invitation_id, "inv-7");
    assert_eq!(
        found.at,
        Utc.with_ymd_and_hms(2026, 11, 2, 10, 0, 0).unwrap()
    );
    assert_eq!(gw.find_invite(&step("lead-2", 0)).await.unwrap(), None);
}

#[tokio::test]
async fn without_echoed_markers_a_pending_invite_to_the_lead_is_ours() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/invite/sent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [{"id": "inv-3", "invited_user_id": "lead-1"}],
        })))
        .mount(&server)
        .await;
    let gw = gateway(&server);
    // The account is known because this process sent the step.
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(504))
        .mount(&server)
        .await;
    let lost = gw.send_invite(invite("lead-1")).await.unwrap_err();
    assert_eq!(lost.kind, GatewayErrorKind::Timeout);
    let found = gw
        .find_invite(&step("lead-1", 0))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.invitation_id, "inv-3");
}

#[tokio::test]
async fn reconciling_with_no_account_to_look_in_is_not_a_no() {
    let server = MockServer::start().await;
    let error = gateway(&server)
        .find_invite(&step("lead-1", 0))
        .await
        .unwrap_err();
    assert_eq!(error.kind, GatewayErrorKind::Transient);
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_lost_message_is_found_in_the_chat_with_the_lead() {
    let server = MockServer::start().await;
    let key = step("lead-1", 1);
    Mock::given(method("GET"))
        .and(path("/api/v1/chats"))
        .and(query_param("account_id", "prov-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [{"id": "chat-0", "attendee_provider_id": "lead-0"},
                      {"id": "chat-1", "attendee_provider_id": "lead-1"}],
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/chats/chat-1/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "items": [
                {"id": "in-1", "text": "hello", "is_sender": false, "idempotency_key": key_marker(&key)},
                {"id": "out-1", "text": "Thanks", "is_sender": true, "idempotency_key": key_marker(&key),
                 "timestamp": "2026-11-02T11:00:00Z"},
            ],
        })))
        .mount(&server)
        .await;
    let accounts = Arc::new(MemoryAccounts::default());
    accounts.insert(
        WorkspaceId::new("ws"),
        AccountId::new("acc-1"),
        ProviderAccountId::new("prov-1"),
    );
    let gw = gateway(&server).with_accounts(accounts);
    let found = gw.find_message(&key).await.unwrap().expect("found");
    assert_eq!(
        found.message_id, "out-1",
        "only a message the account sent counts"
    );
    assert_eq!(gw.find_message(&step("lead-1", 2)).await.unwrap(), None);
    assert_eq!(gw.find_message(&step("lead-9", 1)).await.unwrap(), None);
}

#[tokio::test]
async fn relations_status_and_hosted_auth_are_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/relations"))
        .and(query_param("account_id", "prov-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "UserRelationsList",
            "items": [{"member_id": "lead-1", "created_at": "2026-11-02T09:00:00Z"}, {"member_id": "lead-2"}],
            "cursor": "next",
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/accounts/prov-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "Account", "id": "prov-1", "sources": [{"id": "s", "status": "CREDENTIALS"}]
        })))
        .mount(&server)
        .await;
    let expires = Utc.with_ymd_and_hms(2026, 11, 2, 12, 0, 0).unwrap();
    Mock::given(method("POST"))
        .and(path("/api/v1/hosted/accounts/link"))
        .and(body_json(json!({
            "type": "reconnect", "providers": ["LINKEDIN"], "api_url": format!("{}/", server.uri()),
            "expiresOn": "2026-11-02T12:00:00Z", "notify_url": "https://plera.example/webhooks/hosted-auth",
            "name": "state-token", "reconnect_account": "prov-1",
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "object": "HostedAuthURL", "url": "https://account.provider.example/x"
        })))
        .mount(&server)
        .await;
    let gw = gateway(&server);
    let page = gw
        .relations(&ProviderAccountId::new("prov-1"), None)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].member_id, "lead-1");
    assert_eq!(page.cursor.as_deref(), Some("next"));
    let status = gw
        .account_status(&ProviderAccountId::new("prov-1"))
        .await
        .unwrap();
    assert_eq!(status.signal, Some(AccountStatusSignal::CredentialsExpired));
    let url = gw
        .hosted_auth_link(HostedAuthRequest {
            kind: HostedAuthKind::Reconnect(ProviderAccountId::new("prov-1")),
            state: SecretString::from("state-token"),
            notify_url: Url::parse("https://plera.example/webhooks/hosted-auth").unwrap(),
            expires_at: expires,
        })
        .await
        .unwrap();
    assert_eq!(url, "https://account.provider.example/x");
}
