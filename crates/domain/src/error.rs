//! The domain's error: every way a use case can refuse, plus the store failing underneath.

use chrono::{DateTime, Utc};

use crate::StoreError;
use crate::auth::AuthError;
use crate::ids::{CustomerId, LedgerEntryId};
use crate::import::ImportProblem;
use crate::money::Currency;
use crate::validation::ValidationErrors;

/// Kinds of record a lookup can miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Tenant,
    ApiKey,
    Customer,
    LedgerEntry,
    Card,
    Reward,
    Voucher,
    Webhook,
}

impl Resource {
    pub fn name(self) -> &'static str {
        match self {
            Self::Tenant => "tenant",
            Self::ApiKey => "api key",
            Self::Customer => "customer",
            Self::LedgerEntry => "ledger entry",
            Self::Card => "card",
            Self::Reward => "reward",
            Self::Voucher => "redemption",
            Self::Webhook => "webhook",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoyaltyError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// Also for records of another tenant: their existence is not revealed.
    #[error("no such {}", .0.name())]
    NotFound(Resource),
    /// The customer was erased: the record stays for the tenant's totals, the person is gone.
    #[error("this customer was erased")]
    CustomerErased,
    #[error("a tenant with this id exists")]
    TenantExists,
    #[error("another tenant already uses this {field}")]
    DomainTaken { field: &'static str },
    #[error("a customer with this {field} exists")]
    CustomerExists {
        field: &'static str,
        existing_id: CustomerId,
    },
    #[error("the last visit was less than the program's minimum interval ago")]
    VisitTooSoon { next_allowed_at: DateTime<Utc> },
    #[error("the purchase is in another currency than the tenant's ({expected})")]
    CurrencyMismatch { expected: Currency },
    #[error("the balance ({balance}) cannot cover {requested} points")]
    InsufficientPoints { balance: i64, requested: i64 },
    #[error("this entry was already reversed")]
    AlreadyReversed { reversal_id: LedgerEntryId },
    #[error("only a purchase's earning can be reversed")]
    NotReversible,
    #[error("this reward is not active")]
    RewardInactive,
    #[error("this reward is out of stock")]
    OutOfStock,
    #[error("this voucher was already fulfilled")]
    AlreadyFulfilled,
    #[error("this voucher has expired")]
    VoucherExpired,
    #[error("this voucher was cancelled")]
    VoucherCancelled,
    #[error("this Idempotency-Key was used with another route or body")]
    IdempotencyKeyReused,
    #[error("the result would overflow the points range")]
    PointsOverflow,
    #[error("the record changed since the version named in If-Match")]
    PreconditionFailed,
    /// A customer import found problems in its file (up to the most a refusal lists); nothing
    /// was imported.
    #[error("the file has {} problems; nothing was imported", .0.len())]
    ImportRefused(Vec<ImportProblem>),
    /// The file being imported could not be read (a failure of the service's own storage).
    #[error("the file being imported could not be read")]
    ImportSource(#[source] std::io::Error),
    #[error("the operating system gave no random bytes")]
    Randomness(#[source] getrandom::Error),
    #[error("the response could not be rendered for storing")]
    Render(#[source] crate::idempotency::RenderError),
    #[error("the change posted no ledger entry")]
    NothingPosted,
    /// The account's point lots no longer add up to its balance: a bug, never the client's fault.
    #[error("the point lots hold {lots} where the balance says {balance}")]
    LotsOutOfStep { balance: i64, lots: i64 },
    #[error("the store committed without running the use case")]
    TransactionProducedNothing,
    #[error(transparent)]
    Store(#[from] StoreError),
}
