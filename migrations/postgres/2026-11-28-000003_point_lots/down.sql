-- Refuses while the ledger holds expiry entries; deleting them would leave balances that no longer
-- equal their ledger.
-- The check holds until the end: writers of these tables wait (at most 5 s here) meanwhile.
SET LOCAL lock_timeout = '5s';
LOCK TABLE ledger_entries IN SHARE ROW EXCLUSIVE MODE;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_entries WHERE kind = 'expiry') THEN
        RAISE EXCEPTION 'refusing to revert 2026-11-28-000003_point_lots: the ledger holds expiry entries; deleting them would leave balances that no longer equal their ledger';
    END IF;
END $$;

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone', 'redemption', 'refund')) NOT VALID;
DROP TABLE lot_draws;
DROP TABLE point_lots;
ALTER TABLE programs DROP COLUMN points_expire_after_days;
