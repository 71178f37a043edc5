//! Typed ids for the records a tenant owns, so that a customer id cannot be passed where a reward
//! id is expected.
//!
//! Every such id is a UUIDv7 in its canonical text form (lowercase, hyphenated): new ids sort by
//! creation time, which the cursor pagination relies on. An id from a client is parsed once, at
//! the edge; text that is not a canonical id names no record, so callers answer it as not found.
//! An id read back from the store is taken as it is ([`from_stored`](CustomerId::from_stored)).

use std::fmt;

/// Declares an id newtype over its canonical text.
macro_rules! record_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A new id, later in sort order than every id made before it.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().to_string())
            }

            /// The id a client wrote, if it is one: only the canonical text of a UUID.
            pub fn parse(raw: &str) -> Option<Self> {
                is_canonical_uuid(raw).then(|| Self(raw.to_owned()))
            }

            /// An id as the store holds it; stores only ever hold ids this type made.
            pub fn from_stored(stored: String) -> Self {
                Self(stored)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

record_id!(
    /// A customer of a tenant.
    CustomerId
);
record_id!(
    /// An entry of a customer's ledger.
    LedgerEntryId
);
record_id!(
    /// A reward of a tenant's catalog.
    RewardId
);
record_id!(
    /// A voucher: a reward issued to a customer.
    VoucherId
);
record_id!(
    /// An event in a tenant's feed.
    EventId
);
record_id!(
    /// An API key (not its secret: the id is safe to show and log).
    ApiKeyId
);
record_id!(
    /// A lot of points earned together.
    LotId
);
record_id!(
    /// A webhook endpoint of a tenant.
    WebhookId
);
record_id!(
    /// An entry of a tenant's audit trail.
    AuditEntryId
);

/// Whether `raw` is a UUID exactly as `Uuid::to_string` writes it: of the forms `try_parse`
/// accepts, only the hyphenated one has this length, and the canonical text is lowercase.
fn is_canonical_uuid(raw: &str) -> bool {
    raw.len() == uuid::fmt::Hyphenated::LENGTH
        && !raw.bytes().any(|b| b.is_ascii_uppercase())
        && uuid::Uuid::try_parse(raw).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_sort_by_creation() {
        let first = CustomerId::generate();
        let second = CustomerId::generate();
        assert_eq!(CustomerId::parse(first.as_str()), Some(first.clone()));
        assert!(first < second);
    }

    #[test]
    fn only_canonical_uuids_are_ids() {
        let id = RewardId::generate().into_string();
        for bad in [
            String::new(),
            "not-an-id".to_owned(),
            id.to_uppercase(),
            id.replace('-', ""),
            format!("{{{id}}}"),
            format!("{id}\0"),
            format!("urn:uuid:{id}"),
        ] {
            assert_eq!(RewardId::parse(&bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ids_serialize_as_their_text() {
        let id = VoucherId::generate();
        assert_eq!(
            serde_json::to_value(&id).unwrap(),
            serde_json::Value::String(id.to_string())
        );
    }
}
