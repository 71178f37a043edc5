-- When the soonest of a customer's points expire, kept with the balance, so that a read knows
-- without looking at the lots whether part of the balance may be past its expiry. Nullable and
-- without a default, so adding it rewrites nothing and holds the table's lock for an instant;
-- the backfill is a migration of its own (points_expiry_hint_backfill), so it runs under row
-- locks, not this one. A revision that predates it leaves it as it is, which a read only trusts
-- for speed: every change to a balance still checks the lots themselves.
-- Customers are read and written all day: wait at most 5 s for the lock, then fail and retry.
SET LOCAL lock_timeout = '5s';
ALTER TABLE customers ADD COLUMN points_expire_next_at TIMESTAMP;
