//! `HttpLinkedIn`: the provider's REST API over reqwest (rustls), one call at a time.
//!
//! The key travels only in a default header marked sensitive, so it is in no URL, no log line and
//! no error; every error detail is scrubbed of it anyway, in case the provider echoes it.

use plera_actors::SystemClock;
use plera_domain::ids::ProviderAccountId;
use plera_domain::ports::{Clock, GatewayError, StepKey};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex};
use thiserror::Error;
use url::Url;

use super::accounts::AccountDirectory;
use super::config::ProviderConfig;
use super::errors;
use super::keys::key_marker;
use super::wire::{API_KEY_HEADER, IDEMPOTENCY_HEADER};

/// Steps whose sending account is remembered in memory (the directory answers for older ones).
const REMEMBERED_STEPS: usize = 10_000;

/// Why an `HttpLinkedIn` could not be built (the key itself is never shown).
#[derive(Debug, Error)]
pub enum ProviderSetupError {
    /// The key holds characters a header cannot carry.
    #[error("the API key is not a valid header value")]
    InvalidKey,
    /// The HTTP client could not start (TLS set-up).
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

/// The LinkedIn gateway over the provider's HTTP API.
pub struct HttpLinkedIn {
    pub(super) http: reqwest::Client,
    pub(super) config: ProviderConfig,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) accounts: Option<Arc<dyn AccountDirectory>>,
    sent_from: Mutex<Remembered>,
}

#[derive(Default)]
struct Remembered {
    by_key: HashMap<StepKey, ProviderAccountId>,
    order: VecDeque<StepKey>,
}

impl fmt::Debug for HttpLinkedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpLinkedIn")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// One request to make.
pub(super) struct Call<'a> {
    pub method: Method,
    pub path: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    pub body: Option<serde_json::Value>,
    pub key: Option<&'a StepKey>,
    /// What the answer is, for error messages.
    pub what: &'static str,
}

impl<'a> Call<'a> {
    pub fn get(path: &[&str], what: &'static str) -> Self {
        Self {
            method: Method::GET,
            path: path.iter().map(|s| (*s).to_string()).collect(),
            query: Vec::new(),
            body: None,
            key: None,
            what,
        }
    }

    pub fn post(path: &[&str], body: &impl Serialize, what: &'static str) -> Self {
        Self {
            method: Method::POST,
            body: serde_json::to_value(body).ok(),
            ..Self::get(path, what)
        }
    }

    pub fn query(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.query.push((name, value.into()));
        self
    }

    pub fn key(mut self, key: &'a StepKey) -> Self {
        self.key = Some(key);
        self
    }
}

impl HttpLinkedIn {
    /// A gateway for `config`, stamping receipts with the system clock.
    pub fn new(config: ProviderConfig) -> Result<Self, ProviderSetupError> {
        let mut key = HeaderValue::from_str(config.api_key.expose_secret())
            .map_err(|_| ProviderSetupError::InvalidKey)?;
        key.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(API_KEY_HEADER, key);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .build()
            .map_err(|e| ProviderSetupError::Client(e.without_url().to_string()))?;
        Ok(Self {
            http,
            config,
            clock: Arc::new(SystemClock),
            accounts: None,
            sent_from: Mutex::new(Remembered::default()),
        })
    }

    /// Stamps receipts with `clock` (the simulator's virtual one).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where reconciliation after a restart learns which accounts may have sent a step.
    pub fn with_accounts(mut self, accounts: Arc<dyn AccountDirectory>) -> Self {
        self.accounts = Some(accounts);
        self
    }

    /// The configuration (its `Debug` hides the key).
    pub fn config(&self) -> &ProviderConfig {
        &self.config
    }

    /// Notes which account sends `key`, before the call: a lost answer is looked for there.
    pub(super) fn remember(&self, key: &StepKey, account: &ProviderAccountId) {
        let mut sent = self.sent_from.lock().unwrap_or_else(|e| e.into_inner());
        if sent.by_key.insert(key.clone(), account.clone()).is_none() {
            sent.order.push_back(key.clone());
        }
        while sent.order.len() > REMEMBERED_STEPS {
            if let Some(old) = sent.order.pop_front() {
                sent.by_key.remove(&old);
            }
        }
    }

    /// The account remembered for `key`, if this process sent it.
    pub(super) fn remembered(&self, key: &StepKey) -> Option<ProviderAccountId> {
        self.sent_from
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_key
            .get(key)
            .cloned()
    }

    fn url(&self, call: &Call<'_>) -> Url {
        let mut url = self.config.base_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(&call.path);
        }
        if !call.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &call.query {
                pairs.append_pair(name, value);
            }
        }
        url
    }

    /// Makes one call and reads its answer as `T`; every failure is classified and scrubbed.
    pub(super) async fn call<T: DeserializeOwned>(
        &self,
        call: Call<'_>,
    ) -> Result<T, GatewayError> {
        self.call_raw(&call)
            .await
            .and_then(|body| {
                serde_json::from_slice(&body).map_err(|e| errors::malformed(call.what, &e))
            })
            .map_err(|e| self.scrubbed(e))
    }

    async fn call_raw(&self, call: &Call<'_>) -> Result<Vec<u8>, GatewayError> {
        let url = self.url(call);
        let mutating = call.method != Method::GET;
        let mut request = self.http.request(call.method.clone(), url);
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        if let Some(key) = call.key {
            request = request.header(IDEMPOTENCY_HEADER, key_marker(key));
        }
        tracing::debug!(method = %call.method, path = %call.path.join("/"), "provider call");
        let response = request.send().await.map_err(|e| {
            let e = e.without_url();
            tracing::debug!(error = %e, "provider call failed");
            errors::transport(&e)
        })?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(|e| errors::transport(&e))?;
        tracing::debug!(status, path = %call.path.join("/"), "provider answered");
        if (200..300).contains(&status) {
            Ok(body.to_vec())
        } else {
            Err(errors::answer(status, &body, mutating))
        }
    }

    fn scrubbed(&self, error: GatewayError) -> GatewayError {
        GatewayError::new(
            error.kind,
            errors::scrub(&error.detail, self.config.api_key.expose_secret()),
        )
    }
}
