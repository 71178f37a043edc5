//! Signing a delivery the Standard Webhooks way: `v1,` and the base64 HMAC-SHA256 of
//! `"{id}.{timestamp}.{body}"`, keyed with the secret's bytes.

use data_encoding::BASE64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secrets::random_bytes;

/// What every secret starts with, as Standard Webhooks libraries expect it.
const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a new secret (Standard Webhooks asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// An endpoint's signing secret: `whsec_` and the base64 of its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret(String);

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(..)")
    }
}

impl SigningSecret {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let bytes = random_bytes::<SECRET_BYTES>()?;
        Ok(Self(format!("{SECRET_PREFIX}{}", BASE64.encode(&bytes))))
    }

    /// A secret as the store holds it; stores only ever hold secrets this type made.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key the signature is made with: the bytes the text encodes.
    fn key(&self) -> Vec<u8> {
        let encoded = self.0.strip_prefix(SECRET_PREFIX).unwrap_or(&self.0);
        BASE64
            .decode(encoded.as_bytes())
            .unwrap_or_else(|_| encoded.as_bytes().to_vec())
    }

    /// `v1,<signature>` of one message.
    fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        // HMAC takes a key of any length, so this never fails.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body.as_bytes());
        format!("v1,{}", BASE64.encode(&mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header: one signature per secret in use, separated by spaces (both
/// while a rotated-out secret is still honoured).
pub fn signature_header(
    secrets: &[&SigningSecret],
    id: &str,
    timestamp: i64,
    body: &str,
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification's reference libraries.
    #[test]
    fn signs_as_the_standard_webhooks_reference_does() {
        let secret = SigningSecret::from_stored("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        let signature = signature_header(
            &[&secret],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn new_secrets_are_prefixed_and_distinct() {
        let a = SigningSecret::generate().unwrap();
        let b = SigningSecret::generate().unwrap();
        assert!(a.as_str().starts_with("whsec_"));
        assert_eq!(a.key().len(), SECRET_BYTES);
        assert_ne!(a, b);
    }

    #[test]
    fn two_secrets_give_two_signatures() {
        let a = SigningSecret::generate().unwrap();
        let b = SigningSecret::generate().unwrap();
        let header = signature_header(&[&a, &b], "evt", 1, "{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts, [a.sign("evt", 1, "{}"), b.sign("evt", 1, "{}")]);
    }
}
