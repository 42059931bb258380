//! The provider's REST API (as `HttpLinkedIn` speaks it) over a `SandboxWorld`.

use actix_web::{web, HttpRequest, HttpResponse};
use plera_domain::ids::{LeadId, ProviderAccountId};
use plera_domain::ports::{
    GatewayErrorKind, InviteRequest, LinkedInGateway, MessageRequest, StepKey,
};
use secrecy::SecretString;
use serde::Deserialize;
use std::sync::{Mutex, MutexGuard};

use super::records::{AskedInvite, HostedLink, Records, StoredMessage};
use super::wire_errors::{error_response, lost_answer, plain_error};
use crate::provider::wire::{
    AccountBody, AccountSource, Chat, ChatMessage, ChatMessageBody, HostedAuthBody, HostedAuthUrl,
    InvitationSent, InviteBody, MessageSent, Page, Relation, SentInvitation, StartChatBody,
    API_KEY_HEADER, IDEMPOTENCY_HEADER,
};
use crate::provider::{key_marker, parse_key_marker};
use crate::sandbox::SandboxWorld;
use crate::webhook::secret_matches;

/// The API's state.
pub(super) struct Api {
    pub world: SandboxWorld,
    pub records: Mutex<Records>,
    pub api_key: SecretString,
    pub base_url: String,
}

impl Api {
    pub fn records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type Data = web::Data<Api>;

pub(super) fn mount(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/users/invite", web::post().to(invite))
        .route("/api/v1/users/invite/sent", web::get().to(sent_invitations))
        .route("/api/v1/users/relations", web::get().to(relations))
        .route("/api/v1/chats", web::post().to(start_chat))
        .route("/api/v1/chats", web::get().to(chats))
        .route(
            "/api/v1/chats/{chat_id}/messages",
            web::post().to(chat_message),
        )
        .route(
            "/api/v1/chats/{chat_id}/messages",
            web::get().to(chat_messages),
        )
        .route("/api/v1/accounts/{account_id}", web::get().to(account))
        .route("/api/v1/hosted/accounts/link", web::post().to(hosted_link));
}

#[derive(Deserialize)]
struct Listing {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
}

fn page<T>(items: Vec<T>, listing: &Listing) -> Page<T> {
    let start = listing
        .cursor
        .as_deref()
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(0);
    let limit = listing.limit.unwrap_or(100).clamp(1, 250);
    let total = items.len();
    let items: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next = start + items.len();
    Page {
        object: "List".into(),
        items,
        cursor: (next < total).then(|| next.to_string()),
    }
}

/// An answer given before the handler's work: boxed, as it is the rare path.
type Early = Box<HttpResponse>;

fn authorised(request: &HttpRequest, api: &Api) -> Result<(), Early> {
    let presented = request.headers().get(API_KEY_HEADER).map(|v| v.as_bytes());
    if secret_matches(&api.api_key, presented) {
        Ok(())
    } else {
        Err(Box::new(plain_error(
            401,
            "invalid_credentials",
            "missing or wrong API key",
        )))
    }
}

fn step_key(request: &HttpRequest) -> Result<StepKey, Early> {
    request
        .headers()
        .get(IDEMPOTENCY_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_key_marker)
        .ok_or_else(|| {
            Box::new(plain_error(
                400,
                "invalid_parameters",
                "the sandbox needs an Idempotency-Key",
            ))
        })
}

fn json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Early> {
    serde_json::from_slice(body)
        .map_err(|e| Box::new(plain_error(400, "invalid_parameters", &e.to_string())))
}

/// Guard, key and body of a send.
fn send_parts<T: serde::de::DeserializeOwned>(
    request: &HttpRequest,
    api: &Api,
    body: &[u8],
) -> Result<(StepKey, T), Early> {
    authorised(request, api)?;
    Ok((step_key(request)?, json(body)?))
}

async fn invite(request: HttpRequest, body: web::Bytes, api: Data) -> HttpResponse {
    let (key, body) = match send_parts::<InviteBody>(&request, &api, &body) {
        Ok(parts) => parts,
        Err(answer) => return *answer,
    };
    let provider = ProviderAccountId::new(body.account_id);
    let lead = LeadId::new(body.provider_id);
    let account = {
        let mut records = api.records();
        let Some(account) = records.accounts.get(&provider).cloned() else {
            return plain_error(401, "disconnected_account", "no such account");
        };
        if !records.invites.iter().any(|i| i.key == key) {
            records.invites.push(AskedInvite {
                key: key.clone(),
                provider: provider.clone(),
                lead: lead.clone(),
            });
        }
        account
    };
    let sent = api
        .world
        .send_invite(InviteRequest {
            key,
            account,
            provider_account: provider,
            lead,
            note: body.message,
        })
        .await;
    match sent {
        Ok(receipt) => HttpResponse::Created().json(InvitationSent {
            object: "UserInvitationSent".into(),
            invitation_id: receipt.invitation_id,
            usage: receipt.usage,
        }),
        Err(e) if e.kind == GatewayErrorKind::Timeout => lost_answer(),
        Err(e) => error_response(&e),
    }
}

async fn sent_invitations(
    request: HttpRequest,
    listing: web::Query<Listing>,
    api: Data,
) -> HttpResponse {
    if let Err(answer) = authorised(&request, &api) {
        return *answer;
    }
    let provider = ProviderAccountId::new(listing.account_id.clone().unwrap_or_default());
    let asked: Vec<AskedInvite> = {
        let records = api.records();
        let Some(account) = records.accounts.get(&provider).cloned() else {
            return plain_error(401, "disconnected_account", "no such account");
        };
        records
            .invites
            .iter()
            .filter(|i| i.provider == provider && !api.world.is_connected(&account, &i.lead))
            .cloned()
            .collect()
    };
    let mut items = Vec::new();
    for asked in asked.iter().rev() {
        if let Ok(Some(receipt)) = api.world.find_invite(&asked.key).await {
            items.push(SentInvitation {
                id: receipt.invitation_id,
                invited_user_id: asked.lead.to_string(),
                date: Some(receipt.at),
                idempotency_key: Some(key_marker(&asked.key)),
            });
        }
    }
    HttpResponse::Ok().json(page(items, &listing))
}

async fn relations(request: HttpRequest, listing: web::Query<Listing>, api: Data) -> HttpResponse {
    if let Err(answer) = authorised(&request, &api) {
        return *answer;
    }
    let provider = ProviderAccountId::new(listing.account_id.clone().unwrap_or_default());
    let records = api.records();
    let Some(account) = records.accounts.get(&provider).cloned() else {
        return plain_error(401, "disconnected_account", "no such account");
    };
    let mut members: Vec<LeadId> = records
        .invites
        .iter()
        .filter(|i| i.provider == provider)
        .map(|i| i.lead.clone())
        .collect();
    members.sort();
    members.dedup();
    let items = members
        .into_iter()
        .filter(|lead| api.world.is_connected(&account, lead))
        .map(|lead| Relation {
            member_id: lead.to_string(),
            created_at: None,
        })
        .collect();
    HttpResponse::Ok().json(page(items, &listing))
}

async fn send_message(
    api: &Api,
    key: StepKey,
    provider: ProviderAccountId,
    lead: LeadId,
    text: String,
) -> HttpResponse {
    let Some(account) = api.records().accounts.get(&provider).cloned() else {
        return plain_error(401, "disconnected_account", "no such account");
    };
    let sent = api
        .world
        .send_message(MessageRequest {
            key: key.clone(),
            account,
            provider_account: provider.clone(),
            lead: lead.clone(),
            text: text.clone(),
        })
        .await;
    let receipt = match &sent {
        Ok(receipt) => Some(receipt.clone()),
        Err(e) if e.kind == GatewayErrorKind::Timeout => {
            api.world.find_message(&key).await.ok().flatten()
        }
        Err(_) => None,
    };
    let chat_id = receipt.map(|receipt| {
        let mut records = api.records();
        let i = records.chat_with(&provider, &lead);
        let chat = &mut records.chats[i];
        if !chat.messages.iter().any(|m| m.id == receipt.message_id) {
            chat.messages.push(StoredMessage {
                id: receipt.message_id.clone(),
                text,
                from_us: true,
                at: receipt.at,
                key: Some(key_marker(&key)),
            });
        }
        (chat.id.clone(), receipt.message_id)
    });
    match (sent, chat_id) {
        (Ok(_), Some((chat_id, message_id))) => HttpResponse::Created().json(MessageSent {
            object: "ChatStarted".into(),
            chat_id: Some(chat_id),
            message_id: Some(message_id),
        }),
        (Err(e), _) if e.kind == GatewayErrorKind::Timeout => lost_answer(),
        (Err(e), _) => error_response(&e),
        (Ok(_), None) => plain_error(500, "provider_error", "message without receipt"),
    }
}

async fn start_chat(request: HttpRequest, body: web::Bytes, api: Data) -> HttpResponse {
    let (key, body) = match send_parts::<StartChatBody>(&request, &api, &body) {
        Ok(parts) => parts,
        Err(answer) => return *answer,
    };
    let [lead] = body.attendees_ids.as_slice() else {
        return plain_error(400, "invalid_parameters", "one attendee expected");
    };
    send_message(
        &api,
        key,
        ProviderAccountId::new(body.account_id),
        LeadId::new(lead.as_str()),
        body.text,
    )
    .await
}

async fn chat_message(
    request: HttpRequest,
    chat_id: web::Path<String>,
    body: web::Bytes,
    api: Data,
) -> HttpResponse {
    let (key, body) = match send_parts::<ChatMessageBody>(&request, &api, &body) {
        Ok(parts) => parts,
        Err(answer) => return *answer,
    };
    let chat = api
        .records()
        .chats
        .iter()
        .find(|c| c.id == *chat_id)
        .map(|c| (c.provider.clone(), c.lead.clone()));
    let Some((provider, lead)) = chat else {
        return plain_error(404, "resource_not_found", "no such chat");
    };
    send_message(&api, key, provider, lead, body.text).await
}

async fn chats(request: HttpRequest, listing: web::Query<Listing>, api: Data) -> HttpResponse {
    if let Err(answer) = authorised(&request, &api) {
        return *answer;
    }
    let provider = ProviderAccountId::new(listing.account_id.clone().unwrap_or_default());
    let mut items: Vec<Chat> = api
        .records()
        .chats
        .iter()
        .filter(|c| c.provider == provider)
        .map(|c| Chat {
            id: c.id.clone(),
            attendee_provider_id: Some(c.lead.to_string()),
            timestamp: c.last_at(),
        })
        .collect();
    items.sort_by(|a, b| b.timestamp.cmp(&a.timestamp).then(a.id.cmp(&b.id)));
    HttpResponse::Ok().json(page(items, &listing))
}

async fn chat_messages(
    request: HttpRequest,
    chat_id: web::Path<String>,
    listing: web::Query<Listing>,
    api: Data,
) -> HttpResponse {
    if let Err(answer) = authorised(&request, &api) {
        return *answer;
    }
    let records = api.records();
    let Some(chat) = records.chats.iter().find(|c| c.id == *chat_id) else {
        return plain_error(404, "resource_not_found", "no such chat");
    };
    let mut items: Vec<ChatMessage> = chat
        .messages
        .iter()
        .map(|m| ChatMessage {
            id: m.id.clone(),
            chat_id: Some(chat.id.clone()),
            text: m.text.clone(),
            is_sender: m.from_us,
            sender_id: (!m.from_us).then(|| chat.lead.to_string()),
            timestamp: Some(m.at),
            idempotency_key: m.key.clone(),
        })
        .collect();
    items.reverse();
    HttpResponse::Ok().json(page(items, &listing))
}

async fn account(request: HttpRequest, account_id: web::Path<String>, api: Data) -> HttpResponse {
    if let Err(answer) = authorised(&request, &api) {
        return *answer;
    }
    let provider = ProviderAccountId::new(account_id.into_inner());
    let records = api.records();
    if !records.accounts.contains_key(&provider) {
        return plain_error(404, "resource_not_found", "no such account");
    }
    let status = match records.statuses.get(&provider) {
        Some(plera_domain::ports::AccountStatusSignal::CredentialsExpired) => "CREDENTIALS",
        Some(plera_domain::ports::AccountStatusSignal::Restricted) => "ERROR",
        _ => "OK",
    };
    HttpResponse::Ok().json(AccountBody {
        object: "Account".into(),
        id: provider.to_string(),
        sources: vec![AccountSource {
            id: Some(format!("{provider}_MESSAGING")),
            status: status.into(),
        }],
    })
}

async fn hosted_link(request: HttpRequest, body: web::Bytes, api: Data) -> HttpResponse {
    if let Err(answer) = authorised(&request, &api) {
        return *answer;
    }
    let body: HostedAuthBody = match json(&body) {
        Ok(body) => body,
        Err(answer) => return *answer,
    };
    let mut records = api.records();
    // Numbered by how many were ever made: a completed link leaves the table, and its number
    // must not come back for another page.
    records.links_made += 1;
    let id = format!("link-{}", records.links_made);
    records.links.insert(
        id.clone(),
        HostedLink {
            name: body.name,
            notify_url: body.notify_url,
            reconnect: body.reconnect_account.map(ProviderAccountId::new),
        },
    );
    HttpResponse::Created().json(HostedAuthUrl {
        object: "HostedAuthURL".into(),
        url: format!("{}/hosted/{id}", api.base_url.trim_end_matches('/')),
    })
}
