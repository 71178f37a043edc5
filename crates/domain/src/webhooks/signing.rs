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

/// An endpoint's signing secret: `whsec_` and the base64 of its key.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningSecret {
    text: String,
    /// The bytes the text encodes: what signatures are made with.
    key: Vec<u8>,
}

impl std::fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningSecret(..)")
    }
}

/// Stored text that is not a secret this service made.
#[derive(Debug, thiserror::Error)]
#[error("a signing secret must be whsec_ and base64")]
pub struct MalformedSecret;

impl SigningSecret {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let key = random_bytes::<SECRET_BYTES>()?.to_vec();
        let text = format!("{SECRET_PREFIX}{}", BASE64.encode(&key));
        Ok(Self { text, key })
    }

    /// A secret as the store holds it.
    pub fn from_stored(text: String) -> Result<Self, MalformedSecret> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(MalformedSecret)?;
        let key = BASE64
            .decode(encoded.as_bytes())
            .map_err(|_| MalformedSecret)?;
        Ok(Self { text, key })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// `v1,<signature>` of one message.
    fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes a key of any length"),
        };
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
        let secret =
            SigningSecret::from_stored("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()).unwrap();
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
        assert_eq!(a.key.len(), SECRET_BYTES);
        assert_ne!(a, b);
        assert_eq!(
            SigningSecret::from_stored(a.as_str().to_owned()).unwrap(),
            a
        );
        assert!(SigningSecret::from_stored("whsec_not base64!".into()).is_err());
        assert!(SigningSecret::from_stored("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into()).is_err());
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
