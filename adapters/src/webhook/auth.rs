//! The shared secret of inbound webhooks, checked in constant time.
//!
//! The provider's notifications are not signed (`linkedin-facts.md`), but it sends custom
//! headers configured with the webhook: we give it a secret header. Both sides are hashed
//! first, so the comparison takes the same time whatever the length or content of a guess.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The header carrying the shared secret.
pub const SECRET_HEADER: &str = "X-Plera-Webhook-Secret";

/// Whether `presented` is the secret.
pub fn secret_matches(secret: &SecretString, presented: Option<&[u8]>) -> bool {
    let expected = Sha256::digest(secret.expose_secret().as_bytes());
    let given = Sha256::digest(presented.unwrap_or_default());
    // A missing header still costs a comparison.
    let equal: bool = expected.ct_eq(&given).into();
    equal && presented.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_secret_matches() {
        let secret = SecretString::from("s3cret");
        assert!(secret_matches(&secret, Some(b"s3cret")));
        assert!(!secret_matches(&secret, Some(b"s3cre")));
        assert!(!secret_matches(&secret, Some(b"s3cret ")));
        assert!(!secret_matches(&secret, None));
        assert!(!secret_matches(&SecretString::from(""), None));
    }
}
