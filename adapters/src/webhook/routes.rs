//! The handlers: authenticate, read a bounded body, parse, hand to the engine, answer.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::StreamExt;
use plera_actors::{Engine, EngineError, IngestOutcome};
use plera_domain::ids::{LeadId, ProviderAccountId, ProviderMessageId, WorkspaceId};
use plera_domain::ports::InboundEvent;
use plera_domain::values::Channel;
use plera_domain::workspace::WorkspaceError;
use serde::de::DeserializeOwned;

use super::auth::{secret_matches, SECRET_HEADER};
use super::payloads::{
    AccountStatusWebhook, Ack, EmailWebhook, HostedAuthAnswer, HostedAuthWebhook, MessageWebhook,
    RelationWebhook,
};
use super::{
    WebhookConfig, ACCOUNT_STATUS_PATH, EMAIL_PATH, HOSTED_AUTH_PATH, MESSAGES_PATH, RELATIONS_PATH,
};
use crate::email::step_of_references;
use crate::provider::{sequence_parts, status_signal, KnownAccount};

/// What every handler shares.
pub(super) struct Shared {
    pub engine: Engine,
    pub config: WebhookConfig,
}

type Data = web::Data<Shared>;

pub(super) fn mount(cfg: &mut web::ServiceConfig, shared: Data) {
    cfg.app_data(shared)
        .route(MESSAGES_PATH, web::post().to(messages))
        .route(RELATIONS_PATH, web::post().to(relations))
        .route(ACCOUNT_STATUS_PATH, web::post().to(account_status))
        .route(HOSTED_AUTH_PATH, web::post().to(hosted_auth))
        .route(EMAIL_PATH, web::post().to(email));
}

fn ack(status: &str) -> HttpResponse {
    HttpResponse::Ok().json(Ack {
        status: status.to_string(),
        reason: None,
    })
}

fn ignored(reason: impl Into<String>) -> HttpResponse {
    let reason = reason.into();
    tracing::warn!(%reason, "webhook ignored");
    HttpResponse::Ok().json(Ack {
        status: "ignored".into(),
        reason: Some(reason),
    })
}

fn refuse(status: StatusCode, reason: &str) -> HttpResponse {
    HttpResponse::build(status).json(Ack {
        status: "refused".into(),
        reason: Some(reason.to_string()),
    })
}

/// The body, once the secret is right and the size within bounds.
async fn receive<T: DeserializeOwned>(
    request: &HttpRequest,
    mut payload: web::Payload,
    shared: &Shared,
) -> Result<T, HttpResponse> {
    let presented = request.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
    if !secret_matches(&shared.config.secret, presented) {
        return Err(refuse(StatusCode::UNAUTHORIZED, "bad or missing secret"));
    }
    let max = shared.config.max_body;
    let declared = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| refuse(StatusCode::BAD_REQUEST, "unreadable body"))?;
        if body.len() + chunk.len() > max {
            return Err(refuse(StatusCode::PAYLOAD_TOO_LARGE, "body too large"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body)
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "not the expected JSON"))
}

/// The sender behind a provider account, or the answer to give.
async fn sender_of(shared: &Shared, provider: &str) -> Result<KnownAccount, HttpResponse> {
    match shared
        .config
        .accounts
        .resolve(&ProviderAccountId::new(provider))
        .await
    {
        Ok(Some(known)) => Ok(known),
        Ok(None) => Err(ignored(format!("unknown provider account {provider}"))),
        Err(e) => {
            tracing::error!(error = %e, "account directory failed");
            Err(refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "account directory unavailable",
            ))
        }
    }
}

async fn ingest(shared: &Shared, workspace: &WorkspaceId, event: InboundEvent) -> HttpResponse {
    let call = shared.engine.ingest(workspace, event);
    match tokio::time::timeout(shared.config.ingest_timeout, call).await {
        Ok(Ok(outcome)) => ack(match outcome {
            IngestOutcome::Recorded => "recorded",
            IngestOutcome::Duplicate => "duplicate",
            IngestOutcome::NoSequence => "no_sequence",
            IngestOutcome::SenderNotified => "sender_notified",
        }),
        Ok(Err(e)) if e.is_transient() => {
            tracing::error!(error = %e, "the engine could not take a notification");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "engine unavailable, deliver again",
            )
        }
        Ok(Err(e)) => ignored(e.to_string()),
        Err(_) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "engine too slow, deliver again",
        ),
    }
}

async fn messages(request: HttpRequest, payload: web::Payload, shared: Data) -> HttpResponse {
    let body: MessageWebhook = match receive(&request, payload, &shared).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let own = body
        .account_info
        .as_ref()
        .is_some_and(|me| me.user_id == body.sender.attendee_provider_id);
    if own {
        // Our own message, threaded back to us: never a reply.
        return ack("own_message");
    }
    let known = match sender_of(&shared, &body.account_id).await {
        Ok(known) => known,
        Err(answer) => return answer,
    };
    let event = InboundEvent::MessageReceived {
        account: Some(known.account),
        lead: LeadId::new(body.sender.attendee_provider_id),
        channel: Channel::Linkedin,
        message_id: ProviderMessageId::new(body.message_id),
        text: body.message,
        at: body.timestamp.unwrap_or_else(|| shared.config.clock.now()),
    };
    ingest(&shared, &known.workspace, event).await
}

async fn relations(request: HttpRequest, payload: web::Payload, shared: Data) -> HttpResponse {
    let body: RelationWebhook = match receive(&request, payload, &shared).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let known = match sender_of(&shared, &body.account_id).await {
        Ok(known) => known,
        Err(answer) => return answer,
    };
    let event = InboundEvent::InviteAccepted {
        account: known.account,
        lead: LeadId::new(body.user_provider_id),
        at: body.timestamp.unwrap_or_else(|| shared.config.clock.now()),
    };
    ingest(&shared, &known.workspace, event).await
}

async fn account_status(request: HttpRequest, payload: web::Payload, shared: Data) -> HttpResponse {
    let body: AccountStatusWebhook = match receive(&request, payload, &shared).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let Some(status) = status_signal(&body.status.message) else {
        return ignored(format!("status {} says nothing", body.status.message));
    };
    let known = match sender_of(&shared, &body.status.account_id).await {
        Ok(known) => known,
        Err(answer) => return answer,
    };
    let event = InboundEvent::AccountStatus {
        account: known.account,
        status,
        at: shared.config.clock.now(),
    };
    ingest(&shared, &known.workspace, event).await
}

async fn hosted_auth(request: HttpRequest, payload: web::Payload, shared: Data) -> HttpResponse {
    let body: HostedAuthWebhook = match receive(&request, payload, &shared).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    if !matches!(body.status.as_str(), "CREATION_SUCCESS" | "RECONNECTED") {
        return ignored(format!("hosted auth ended with {}", body.status));
    }
    let provider = ProviderAccountId::new(body.account_id);
    let settings = shared
        .config
        .expected
        .settings_for(&body.name)
        .unwrap_or_else(|| shared.config.sender_settings.clone());
    let call = shared
        .engine
        .complete_connection(&body.name, &provider, settings);
    let answer = |status: &str, account_id: Option<String>| {
        HttpResponse::Ok().json(HostedAuthAnswer {
            status: status.to_string(),
            account_id,
        })
    };
    match tokio::time::timeout(shared.config.ingest_timeout, call).await {
        Ok(Ok(account)) => {
            shared.config.expected.forget(&body.name);
            answer("connected", Some(account.to_string()))
        }
        // A redelivery of a completion already done.
        Ok(Err(EngineError::Workspace(WorkspaceError::StateUsed))) => answer("duplicate", None),
        Ok(Err(e)) if e.is_transient() => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "engine unavailable, deliver again",
        ),
        // The token is never logged: the error names no state.
        Ok(Err(e)) => ignored(format!("connection refused: {e}")),
        Err(_) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "engine too slow, deliver again",
        ),
    }
}

async fn email(request: HttpRequest, payload: web::Payload, shared: Data) -> HttpResponse {
    let body: EmailWebhook = match receive(&request, payload, &shared).await {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let thread = [body.in_reply_to.as_deref(), body.references.as_deref()];
    let Some(step) = thread.into_iter().flatten().find_map(step_of_references) else {
        return ignored("an email that answers none of ours");
    };
    let Some((workspace, lead)) = sequence_parts(&step.sequence) else {
        return ignored("an email whose thread names no lead");
    };
    let event = InboundEvent::MessageReceived {
        account: None,
        lead,
        channel: Channel::Email,
        message_id: ProviderMessageId::new(body.message_id),
        text: body.text,
        at: body.date.unwrap_or_else(|| shared.config.clock.now()),
    };
    ingest(&shared, &workspace, event).await
}
