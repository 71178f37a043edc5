//! Unguessable tokens and how secrets are kept: random bytes from the operating system, and only
//! a hash of any secret a client presents is stored. (A webhook's signing secret is the one
//! exception: the service signs with it, so it keeps it.)

use data_encoding::{BASE32_NOPAD, BASE64URL_NOPAD};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Random bytes from the OS. Failing to read them means the machine cannot produce secrets at
/// all: callers get the error rather than a weak token.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}

/// A URL-safe token of `N` random bytes (N = 16 gives 128 bits in 22 characters).
pub fn url_token<const N: usize>() -> Result<String, getrandom::Error> {
    Ok(BASE64URL_NOPAD.encode(&random_bytes::<N>()?))
}

/// A lowercase base32 token of `N` random bytes: easy to read aloud and to type.
pub fn base32_token<const N: usize>() -> Result<String, getrandom::Error> {
    Ok(BASE32_NOPAD
        .encode(&random_bytes::<N>()?)
        .to_ascii_lowercase())
}

/// SHA-256 of a secret, hex. Secrets here are long random tokens, so a fast hash suffices: there
/// is no dictionary to attack.
pub fn hash_secret(secret: &str) -> String {
    data_encoding::HEXLOWER.encode(&Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored`, compared in constant time.
pub fn secret_matches(secret: &str, stored: &str) -> bool {
    hash_secret(secret)
        .as_bytes()
        .ct_eq(stored.as_bytes())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_and_distinct() {
        let a = url_token::<16>().unwrap();
        let b = url_token::<16>().unwrap();
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert_eq!(base32_token::<10>().unwrap().len(), 16);
    }

    #[test]
    fn only_the_right_secret_matches() {
        let stored = hash_secret("s3cret");
        assert!(secret_matches("s3cret", &stored));
        assert!(!secret_matches("s3cret ", &stored));
        assert!(!secret_matches("", &stored));
    }
}
