-- Refuses while the ledger holds opening balances: the previous release cannot read them, and
-- deleting them would leave balances that no longer equal their ledger.
SET LOCAL lock_timeout = '5s';
LOCK TABLE ledger_entries IN SHARE ROW EXCLUSIVE MODE;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_entries WHERE kind = 'opening_balance') THEN
        RAISE EXCEPTION 'refusing to revert 2026-12-01-000011_opening_balance: the ledger holds imported opening balances, which the previous release cannot read';
    END IF;
END $$;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone', 'redemption', 'refund', 'expiry')) NOT VALID;
