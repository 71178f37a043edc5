//! Point lots: earned points remember when they were earned and when they expire, so spending can
//! draw from the soonest-expiring points first and expiry takes exactly what is left unspent.
//!
//! The sum of a customer's lots is their balance at all times. A balance below zero (a refund of
//! points already spent, an adjustment that allowed it) is one debt lot with a negative remainder
//! and no expiry; new earnings pay it off first.

use chrono::{DateTime, Utc};

use crate::ids::{LedgerEntryId, LotId};

/// Points earned together, and what is left of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: LotId,
    /// The ledger entry that earned them.
    pub source_entry_id: LedgerEntryId,
    pub earned_at: DateTime<Utc>,
    /// None: never expires (also the debt lot).
    pub expires_at: Option<DateTime<Utc>>,
    /// Positive for points, negative only for the debt lot.
    pub remaining: i64,
}

impl Lot {
    /// Whether these are points whose expiry has come by `now`.
    fn is_due(&self, now: DateTime<Utc>) -> bool {
        self.remaining > 0 && self.expires_at.is_some_and(|at| at <= now)
    }
}

/// The points of `lots` whose expiry has come by `now`, read without building a book.
pub fn points_due(lots: &[Lot], now: DateTime<Utc>) -> i64 {
    lots.iter()
        .filter(|lot| lot.is_due(now))
        .map(|lot| lot.remaining)
        .sum()
}

/// Points taken from one lot by one spending entry, kept so a refund can put them back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draw {
    pub lot_id: LotId,
    pub points: i64,
}

/// A customer's lots, changed in memory and then written back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LotBook {
    lots: Vec<Lot>,
}

impl LotBook {
    pub fn new(lots: Vec<Lot>) -> Self {
        Self { lots }
    }

    pub fn lots(&self) -> &[Lot] {
        &self.lots
    }

    pub fn total(&self) -> i64 {
        self.lots.iter().map(|lot| lot.remaining).sum()
    }

    fn debt_index(&self) -> Option<usize> {
        self.lots.iter().position(|lot| lot.remaining < 0)
    }

    /// Adds earned points: they pay off debt first; the rest joins the open lot that expires at the
    /// same moment, or becomes a new lot. (Expiries fall on day boundaries, so a customer has at
    /// most one lot per expiry day.)
    pub fn credit(
        &mut self,
        points: i64,
        source_entry_id: &LedgerEntryId,
        earned_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) {
        let mut left = points;
        if let Some(debt) = self.debt_index() {
            let paid = left.min(-self.lots[debt].remaining);
            self.lots[debt].remaining += paid;
            left -= paid;
        }
        if left <= 0 {
            return;
        }
        if let Some(lot) = self
            .lots
            .iter_mut()
            .find(|lot| lot.remaining > 0 && lot.expires_at == expires_at)
        {
            lot.remaining += left;
            return;
        }
        self.lots.push(Lot {
            id: LotId::generate(),
            source_entry_id: source_entry_id.clone(),
            earned_at,
            expires_at,
            remaining: left,
        });
    }

    /// Takes `points` away: first from lots that expire at `prefer` (where a refunded purchase's
    /// points went), then soonest-expiring first, never-expiring last; what the lots cannot cover
    /// becomes debt. Returns what came from which lot.
    pub fn debit(
        &mut self,
        points: i64,
        prefer: Option<Option<DateTime<Utc>>>,
        source_entry_id: &LedgerEntryId,
        at: DateTime<Utc>,
    ) -> Vec<Draw> {
        let mut order: Vec<usize> = (0..self.lots.len())
            .filter(|&i| self.lots[i].remaining > 0)
            .collect();
        order.sort_by_key(|&i| {
            let lot = &self.lots[i];
            (
                Some(lot.expires_at) != prefer,
                lot.expires_at.is_none(),
                lot.expires_at,
                lot.earned_at,
                lot.id.clone(),
            )
        });
        let mut left = points;
        let mut draws = Vec::new();
        for i in order {
            if left == 0 {
                break;
            }
            let taken = left.min(self.lots[i].remaining);
            self.lots[i].remaining -= taken;
            left -= taken;
            draws.push(Draw {
                lot_id: self.lots[i].id.clone(),
                points: taken,
            });
        }
        if left > 0 {
            match self.debt_index() {
                Some(debt) => self.lots[debt].remaining -= left,
                None => self.lots.push(Lot {
                    id: LotId::generate(),
                    source_entry_id: source_entry_id.clone(),
                    earned_at: at,
                    expires_at: None,
                    remaining: -left,
                }),
            }
        }
        draws
    }

    /// Puts drawn points back where they came from (a cancelled or expired voucher's refund):
    /// they pay off any debt first, like any credit; the rest returns to the lots it was drawn
    /// from, with their original expiry.
    pub fn restore(
        &mut self,
        draws: &[Draw],
        points: i64,
        source_entry_id: &LedgerEntryId,
        at: DateTime<Utc>,
    ) {
        // Debt comes first, as for any credit: a debt lot never stands beside positive lots.
        let mut left = points;
        if let Some(debt) = self.debt_index() {
            let paid = left.min(-self.lots[debt].remaining);
            self.lots[debt].remaining += paid;
            left -= paid;
        }
        for draw in draws {
            if let Some(lot) = self.lots.iter_mut().find(|lot| lot.id == draw.lot_id) {
                let back = draw.points.min(left);
                lot.remaining += back;
                left -= back;
            }
        }
        if left > 0 {
            self.credit(left, source_entry_id, at, None);
        }
    }

    /// Empties every lot whose expiry has come and returns the points that left.
    pub fn expire(&mut self, now: DateTime<Utc>) -> i64 {
        let mut expired = 0;
        for lot in self.lots.iter_mut().filter(|lot| lot.is_due(now)) {
            expired += lot.remaining;
            lot.remaining = 0;
        }
        expired
    }

    /// The points whose expiry has come by `now`: on the balance, but no longer spendable.
    pub fn due(&self, now: DateTime<Utc>) -> i64 {
        points_due(&self.lots, now)
    }

    /// When the next of the customer's points expire, if any will.
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.lots
            .iter()
            .filter(|lot| lot.remaining > 0)
            .filter_map(|lot| lot.expires_at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    use super::*;

    fn at(day: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap() + Duration::days(day)
    }

    #[test]
    fn points_are_due_from_the_moment_their_lot_expires() {
        let [soon, late, never] = std::array::from_fn(|_| LedgerEntryId::generate());
        let mut book = LotBook::default();
        assert_eq!(book.next_expiry(), None);
        book.credit(10, &soon, at(0), Some(at(5)));
        book.credit(7, &late, at(0), Some(at(9)));
        book.credit(3, &never, at(0), None);
        assert_eq!(book.next_expiry(), Some(at(5)));
        assert_eq!(book.due(at(4)), 0);
        assert_eq!(book.due(at(5)), 10, "due at the instant itself");
        assert_eq!(book.due(at(9)), 17);
        assert_eq!(book.expire(at(5)), 10);
        assert_eq!((book.due(at(5)), book.next_expiry()), (0, Some(at(9))));
        book.debit(7, None, &soon, at(6));
        assert_eq!(
            book.next_expiry(),
            None,
            "spent lots and never-expiring points leave none"
        );
    }

    #[test]
    fn spending_draws_the_soonest_expiring_points_first() {
        let [late, never, soon, soon_too, spend] =
            std::array::from_fn(|_| LedgerEntryId::generate());
        let mut book = LotBook::default();
        book.credit(10, &late, at(0), Some(at(30)));
        book.credit(10, &never, at(0), None);
        book.credit(4, &soon, at(1), Some(at(5)));
        book.credit(6, &soon_too, at(1), Some(at(5)));
        assert_eq!(book.lots().len(), 3, "same expiry, same lot");
        let draws = book.debit(15, None, &spend, at(2));
        let remaining: Vec<(LedgerEntryId, i64)> = book
            .lots()
            .iter()
            .map(|l| (l.source_entry_id.clone(), l.remaining))
            .collect();
        assert_eq!(remaining, [(late, 5), (never, 10), (soon, 0)]);
        assert_eq!(draws.len(), 2);
        assert_eq!(book.expire(at(30)), 5);
        assert_eq!(book.total(), 10);
    }

    #[test]
    fn debt_is_paid_off_by_the_next_earnings() {
        let mut book = LotBook::default();
        book.credit(10, &LedgerEntryId::generate(), at(0), None);
        book.debit(25, None, &LedgerEntryId::generate(), at(1));
        assert_eq!(book.total(), -15);
        book.credit(20, &LedgerEntryId::generate(), at(2), Some(at(40)));
        assert_eq!(book.total(), 5);
        assert_eq!(book.lots().iter().filter(|l| l.remaining < 0).count(), 0);
        assert_eq!(book.expire(at(40)), 5);
    }

    #[derive(Debug, Clone)]
    enum Step {
        Earn(i64, Option<i64>),
        Spend(i64),
        RefundLastSpend,
        Expire,
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (1i64..500, prop::option::of(1i64..60)).prop_map(|(p, d)| Step::Earn(p, d)),
            (1i64..600).prop_map(Step::Spend),
            Just(Step::RefundLastSpend),
            Just(Step::Expire),
        ]
    }

    proptest! {
        /// Whatever happens, the lots add up to the balance kept beside them; expiry never takes
        /// points that were not earned with an expiry that has come; a refund restores exactly
        /// what its spend took.
        #[test]
        fn lots_always_sum_to_the_balance(steps in prop::collection::vec(step(), 1..80)) {
            let mut book = LotBook::default();
            let mut balance = 0i64;
            let mut last_spend: Option<(Vec<Draw>, i64)> = None;
            for (n, step) in steps.into_iter().enumerate() {
                let now = at(n as i64);
                match step {
                    Step::Earn(points, days) => {
                        book.credit(points, &LedgerEntryId::generate(), now, days.map(|d| now + Duration::days(d)));
                        balance += points;
                    }
                    Step::Spend(points) => {
                        let draws = book.debit(points, None, &LedgerEntryId::generate(), now);
                        prop_assert!(draws.iter().map(|d| d.points).sum::<i64>() <= points);
                        balance -= points;
                        last_spend = Some((draws, points));
                    }
                    Step::RefundLastSpend => {
                        if let Some((draws, points)) = last_spend.take() {
                            book.restore(&draws, points, &LedgerEntryId::generate(), now);
                            balance += points;
                        }
                    }
                    Step::Expire => {
                        let due: i64 = book.lots().iter()
                            .filter(|l| l.remaining > 0 && l.expires_at.is_some_and(|e| e <= now))
                            .map(|l| l.remaining).sum();
                        prop_assert_eq!(book.expire(now), due);
                        balance -= due;
                    }
                }
                prop_assert_eq!(book.total(), balance);
                prop_assert!(book.lots().iter().filter(|l| l.remaining < 0).count() <= 1, "one debt lot at most");
                let in_debt = book.lots().iter().any(|l| l.remaining < 0);
                prop_assert!(!(in_debt && book.lots().iter().any(|l| l.remaining > 0)), "debt never stands beside points");
                prop_assert!(book.lots().iter().all(|l| l.remaining >= 0 || l.expires_at.is_none()));
            }
        }
    }
}
