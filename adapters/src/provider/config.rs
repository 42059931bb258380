//! How to reach the provider. The API key is a secret: it is shown nowhere, `Debug` included.

use secrecy::SecretString;
use std::fmt;
use std::time::Duration;
use url::Url;

/// The provider's address, key and patience.
#[derive(Clone)]
pub struct ProviderConfig {
    /// The API's base URL (`https://<dsn>`); paths `/api/v1/...` are joined to it.
    pub base_url: Url,
    /// The API key, sent in `X-API-KEY`.
    pub api_key: SecretString,
    /// How long a whole call may take; past it the outcome is unknown.
    pub timeout: Duration,
    /// How long connecting may take; a call that never connected was never sent.
    pub connect_timeout: Duration,
    /// Items asked per page of a listing.
    pub page_limit: u32,
    /// Pages read at most when looking for one sent item (reconciliation stays bounded).
    pub max_pages: u32,
}

impl ProviderConfig {
    /// A configuration with the usual timeouts (30 s per call, 5 s to connect).
    pub fn new(base_url: Url, api_key: SecretString) -> Self {
        Self {
            base_url,
            api_key,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            page_limit: 100,
            max_pages: 20,
        }
    }

    /// The same with another call timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("base_url", &self.base_url.as_str())
            .field("api_key", &"[redacted]")
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("page_limit", &self.page_limit)
            .field("max_pages", &self.max_pages)
            .finish()
    }
}
