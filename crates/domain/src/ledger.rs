//! The append-only ledger: every change to an account is an entry, and the account's running
//! totals move in the same step, so an account's balance always equals the sum of its entries'
//! points.

use chrono::{DateTime, Utc};

use crate::LoyaltyError;
use crate::customer::Customer;
use crate::ids::{CustomerId, LedgerEntryId, VoucherId};
use crate::tenant::TenantId;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Visit,
    Purchase,
    Adjustment,
    Reversal,
    /// A completed stamp card; the program's milestone reward turns it into a voucher.
    Milestone,
    /// Points spent on a voucher.
    Redemption,
    /// A voucher's points given back (cancelled, or expired unused).
    Refund,
    /// Earned points that reached their expiry unspent.
    Expiry,
    /// The balance a customer brought when imported from another system.
    OpeningBalance,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visit => "visit",
            Self::Purchase => "purchase",
            Self::Adjustment => "adjustment",
            Self::Reversal => "reversal",
            Self::Milestone => "milestone",
            Self::Redemption => "redemption",
            Self::Refund => "refund",
            Self::Expiry => "expiry",
            Self::OpeningBalance => "opening_balance",
        }
    }

    /// Points leaving the balance by the customer's choice or by the clock, never past zero.
    pub fn is_spending(self) -> bool {
        matches!(self, Self::Redemption | Self::Expiry)
    }

    /// The kind a stored text names; serde derives the table, so no variant can be missed.
    pub fn parse(text: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub id: LedgerEntryId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub kind: EntryKind,
    /// Signed: earnings are positive, spending and reversals negative.
    pub points: i64,
    pub balance_after: i64,
    /// For visits and milestones: which visit of the customer this was.
    pub visit_number: Option<i64>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub reference: Option<String>,
    pub reason: Option<String>,
    pub reverses_entry_id: Option<LedgerEntryId>,
    /// For spending on a voucher and its refund: the voucher.
    pub voucher_id: Option<VoucherId>,
    /// The API key that caused the entry.
    pub actor_key_id: String,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl crate::page::Keyed for LedgerEntry {
    fn sort_key(&self) -> &str {
        self.id.as_str()
    }
}

/// An entry to be written, before it has an id and a balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub kind: EntryKind,
    pub points: i64,
    pub visit_number: Option<i64>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub reference: Option<String>,
    pub reason: Option<String>,
    pub reverses_entry_id: Option<LedgerEntryId>,
    pub voucher_id: Option<VoucherId>,
    /// For a visit: when it happened, which moves the account's last visit forward.
    pub visited_at: Option<DateTime<Utc>>,
}

impl Posting {
    pub fn new(kind: EntryKind, points: i64) -> Self {
        Self {
            kind,
            points,
            visit_number: None,
            amount_minor: None,
            currency: None,
            reference: None,
            reason: None,
            reverses_entry_id: None,
            voucher_id: None,
            visited_at: None,
        }
    }
}

/// Who caused a change, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub actor_key_id: String,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// Applies `postings` to the customer's account in order and returns the entries to store, each
/// with the balance it leaves. Earnings raise lifetime points; a reversal lowers them again; a
/// visit counts and moves the last visit forward (never back, for a visit recorded late).
pub fn post(
    customer: &mut Customer,
    postings: Vec<Posting>,
    provenance: &Provenance,
) -> Result<Vec<LedgerEntry>, LoyaltyError> {
    let account = &mut customer.account;
    let mut entries = Vec::with_capacity(postings.len());
    for posting in postings {
        let before = account.balance;
        account.balance = before
            .checked_add(posting.points)
            .ok_or(LoyaltyError::PointsOverflow)?;
        // Spending never overdraws; only a reversal or an adjustment that says so may.
        if posting.kind.is_spending() && posting.points < 0 && account.balance < 0 {
            return Err(LoyaltyError::InsufficientPoints {
                balance: before,
                requested: -posting.points,
            });
        }
        let lifetime_change = match posting.kind {
            EntryKind::Visit
            | EntryKind::Purchase
            | EntryKind::Milestone
            | EntryKind::Adjustment
            | EntryKind::OpeningBalance => posting.points.max(0),
            EntryKind::Reversal => posting.points.min(0),
            // Spending and giving spent points back are not earning.
            EntryKind::Redemption | EntryKind::Refund | EntryKind::Expiry => 0,
        };
        account.lifetime_points = account
            .lifetime_points
            .checked_add(lifetime_change)
            .ok_or(LoyaltyError::PointsOverflow)?
            .max(0);
        if posting.kind == EntryKind::Visit {
            account.visits += 1;
        }
        if let Some(at) = posting.visited_at {
            account.last_visit_at = Some(account.last_visit_at.map_or(at, |last| last.max(at)));
        }
        entries.push(LedgerEntry {
            id: LedgerEntryId::generate(),
            tenant_id: customer.tenant_id.clone(),
            customer_id: customer.id.clone(),
            kind: posting.kind,
            points: posting.points,
            balance_after: account.balance,
            visit_number: posting.visit_number,
            amount_minor: posting.amount_minor,
            currency: posting.currency,
            reference: posting.reference,
            reason: posting.reason,
            reverses_entry_id: posting.reverses_entry_id,
            voucher_id: posting.voucher_id,
            actor_key_id: provenance.actor_key_id.clone(),
            request_id: provenance.request_id.clone(),
            created_at: provenance.at,
        });
    }
    customer.updated_at = provenance.at;
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::EntryKind;

    #[test]
    fn every_kind_reads_back_from_its_text() {
        let kinds = [
            EntryKind::Visit,
            EntryKind::Purchase,
            EntryKind::Adjustment,
            EntryKind::Reversal,
            EntryKind::Milestone,
            EntryKind::Redemption,
            EntryKind::Refund,
            EntryKind::Expiry,
            EntryKind::OpeningBalance,
        ];
        for kind in kinds {
            assert_eq!(EntryKind::parse(kind.as_str()), Some(kind));
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(EntryKind::parse("bonus"), None);
    }
}
