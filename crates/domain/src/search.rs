//! Finding customers at the counter from a few letters or digits.
//!
//! Every customer is indexed by terms, each a kind's tag and a folded value: each word of the
//! name (accents and case folded away, so "zoe" finds "Zoë"), the email (lower-cased), the phone's
//! digits reversed (so the last digits are a prefix) and the external id as it is. A query turns
//! into probes of those terms, each with a score; a customer's best probe ranks them.

use deunicode::deunicode;

use crate::customer::Customer;
use crate::validation::{ValidationErrors, could_be_stored};

/// The shortest query, in characters, after trimming.
pub const MIN_QUERY_CHARS: usize = 2;
/// The longest query, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// A phone is matched by its last digits, at least this many.
pub const MIN_PHONE_DIGITS: usize = 4;
/// Name words a query probes (the first ones, each once); more would not narrow a counter
/// search further.
const MAX_QUERY_WORDS: usize = 5;

const NAME: &str = "n:";
const EMAIL: &str = "e:";
const PHONE: &str = "p:";
const EXTERNAL_ID: &str = "x:";

/// How well a customer matches, best first: the score a page sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchQuality {
    /// The external id, exactly.
    ExternalId = 0,
    /// The phone's last digits.
    PhoneEnding = 1,
    /// The email, exactly.
    Email = 2,
    /// Every word of the query is a whole word of the name.
    NameWords = 3,
    /// The beginning of the email.
    EmailPrefix = 4,
    /// Every word of the query begins a word of the name.
    NamePrefixes = 5,
}

impl MatchQuality {
    pub fn score(self) -> i32 {
        self as i32
    }
}

/// A customer's search terms, as stored: tag and folded value.
pub fn search_terms(customer: &Customer) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    if let Some(name) = &customer.name {
        for word in folded_words(name) {
            let term = format!("{NAME}{word}");
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
    }
    if let Some(email) = &customer.email {
        terms.push(format!("{EMAIL}{}", folded(email)));
    }
    if let Some(phone) = &customer.phone {
        terms.push(format!("{PHONE}{}", reversed_digits(phone)));
    }
    if let Some(external_id) = &customer.external_id {
        terms.push(format!("{EXTERNAL_ID}{external_id}"));
    }
    terms
}

/// One way a query may match a stored term: the term equals `value`, or (with `prefix`) begins
/// with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub value: String,
    pub prefix: bool,
}

/// Probes that all must match, each a different term of the customer: exact matches of every
/// probe score `exact`, otherwise `partial`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeGroup {
    pub probes: Vec<Probe>,
    pub exact: MatchQuality,
    pub partial: MatchQuality,
}

/// A validated search: the probes its text makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerQuery {
    pub groups: Vec<ProbeGroup>,
}

impl CustomerQuery {
    pub fn parse(text: &str) -> Result<Self, ValidationErrors> {
        let text = text.trim();
        let chars = text.chars().count();
        if !(MIN_QUERY_CHARS..=MAX_QUERY_CHARS).contains(&chars) || !could_be_stored(text) {
            return Err(ValidationErrors::single(
                "q",
                format!("must be {MIN_QUERY_CHARS} to {MAX_QUERY_CHARS} printable characters"),
            ));
        }
        let mut groups = vec![single(
            Probe {
                value: format!("{EXTERNAL_ID}{text}"),
                prefix: false,
            },
            MatchQuality::ExternalId,
            MatchQuality::ExternalId,
        )];
        if looks_like_phone(text) {
            groups.push(single(
                Probe {
                    value: format!("{PHONE}{}", reversed_digits(text)),
                    prefix: true,
                },
                MatchQuality::PhoneEnding,
                MatchQuality::PhoneEnding,
            ));
        }
        if !text.contains(char::is_whitespace) {
            groups.push(single(
                Probe {
                    value: format!("{EMAIL}{}", folded(text)),
                    prefix: true,
                },
                MatchQuality::Email,
                MatchQuality::EmailPrefix,
            ));
        }
        let mut words: Vec<Probe> = Vec::new();
        for word in folded_words(text) {
            let probe = Probe {
                value: format!("{NAME}{word}"),
                prefix: true,
            };
            if !words.contains(&probe) && words.len() < MAX_QUERY_WORDS {
                words.push(probe);
            }
        }
        if !words.is_empty() {
            groups.push(ProbeGroup {
                probes: words,
                exact: MatchQuality::NameWords,
                partial: MatchQuality::NamePrefixes,
            });
        }
        Ok(Self { groups })
    }
}

/// A customer a search found, with how well they match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    pub quality: i32,
    pub customer: Customer,
    /// The page's sort key: quality, then id.
    key: String,
}

impl SearchHit {
    pub fn new(quality: i32, customer: Customer) -> Self {
        let key = format!("{quality}:{}", customer.id);
        Self {
            quality,
            customer,
            key,
        }
    }
}

impl crate::page::Keyed for SearchHit {
    fn sort_key(&self) -> &str {
        &self.key
    }
}

/// Where a page of search results resumes: after this quality and customer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchCursor {
    pub quality: i32,
    pub customer_id: String,
}

impl SearchCursor {
    /// Reads a page's cursor key; None when it is not one a search page gave.
    pub fn from_key(key: &str) -> Option<Self> {
        let (quality, customer_id) = key.split_once(':')?;
        Some(Self {
            quality: quality.parse().ok()?,
            customer_id: customer_id.to_owned(),
        })
    }
}

fn single(probe: Probe, exact: MatchQuality, partial: MatchQuality) -> ProbeGroup {
    ProbeGroup {
        probes: vec![probe],
        exact,
        partial,
    }
}

/// `text` transliterated to ASCII and lower-cased: "Zoë" gives "zoe".
fn folded(text: &str) -> String {
    deunicode(text).to_lowercase()
}

/// The words of `text`, folded: "Zoë Müller" gives "zoe" and "muller".
fn folded_words(text: &str) -> impl Iterator<Item = String> {
    folded(text)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

/// Whether `text` is written like (the end of) a phone number with enough digits to search by.
fn looks_like_phone(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.' | '/'))
        && text.chars().filter(char::is_ascii_digit).count() >= MIN_PHONE_DIGITS
}

fn reversed_digits(text: &str) -> String {
    text.chars().rev().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::customer::Account;
    use crate::ids::CustomerId;
    use crate::tenant::TenantId;

    fn customer(name: &str) -> Customer {
        let now = Utc::now();
        Customer {
            id: CustomerId::generate(),
            tenant_id: TenantId::parse("acme").expect("tenant id"),
            name: Some(name.to_owned()),
            phone: Some("+4915123456789".to_owned()),
            email: Some("zoe@example.com".to_owned()),
            external_id: Some("POS-7".to_owned()),
            card_token: "t".to_owned(),
            account: Account::default(),
            tier: Default::default(),
            created_at: now,
            updated_at: now,
            erased_at: None,
        }
    }

    #[test]
    fn terms_fold_names_and_reverse_phones() {
        let terms = search_terms(&customer("Zoë  Müller-Lüdenscheidt zoë"));
        assert_eq!(
            terms,
            [
                "n:zoe",
                "n:muller",
                "n:ludenscheidt",
                "e:zoe@example.com",
                "p:9876543215194",
                "x:POS-7"
            ]
        );
    }

    #[test]
    fn queries_probe_what_they_could_be() {
        let query = CustomerQuery::parse(" 6789 ").expect("valid");
        let values: Vec<&str> = query
            .groups
            .iter()
            .flat_map(|g| g.probes.iter().map(|p| p.value.as_str()))
            .collect();
        assert_eq!(values, ["x:6789", "p:9876", "e:6789", "n:6789"]);

        let query = CustomerQuery::parse("Zoë MÜL").expect("valid");
        let values: Vec<&str> = query
            .groups
            .iter()
            .flat_map(|g| g.probes.iter().map(|p| p.value.as_str()))
            .collect();
        assert_eq!(values, ["x:Zoë MÜL", "n:zoe", "n:mul"]);
    }

    #[test]
    fn short_or_unprintable_queries_are_refused() {
        for text in ["", "z", "  z  ", "a\u{0}b", &"x".repeat(201)] {
            assert!(CustomerQuery::parse(text).is_err(), "{text:?}");
        }
        assert!(CustomerQuery::parse("zo").is_ok());
        assert!(!looks_like_phone("123"));
    }
}
