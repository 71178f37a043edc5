//! Port: what committed transactions wrote, for an adapter that counts it (metrics). The store
//! reports a transaction's writes only once it has committed, so a rolled-back attempt or a
//! retried one is never counted twice.

use crate::ledger::EntryKind;
use crate::voucher::VoucherStatus;

/// The writes of one committed transaction that operators count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommittedWrites {
    /// The kind of each ledger entry appended.
    pub entries: Vec<EntryKind>,
    /// The status each voucher was written with: `Issued` when created, then the status it
    /// moved to.
    pub vouchers: Vec<VoucherStatus>,
}

impl CommittedWrites {
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.vouchers.is_empty()
    }
}

/// Told of every committed transaction that wrote entries or vouchers.
pub trait CommitObserver: Send + Sync + std::fmt::Debug {
    fn committed(&self, writes: &CommittedWrites);
}
