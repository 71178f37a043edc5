-- Refuses while the ledger holds redemption or refund entries; deleting them would leave balances
-- that no longer equal their ledger.
-- The check holds until the end: writers of these tables wait (at most 5 s here) meanwhile.
SET LOCAL lock_timeout = '5s';
LOCK TABLE ledger_entries IN SHARE ROW EXCLUSIVE MODE;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM ledger_entries WHERE kind IN ('redemption', 'refund')) THEN
        RAISE EXCEPTION 'refusing to revert 2026-11-28-000001_rewards: the ledger holds redemption or refund entries; deleting them would leave balances that no longer equal their ledger';
    END IF;
END $$;

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone')) NOT VALID;
ALTER TABLE ledger_entries DROP COLUMN redemption_id;
DROP TABLE redemptions;
DROP TABLE rewards;
ALTER TABLE programs DROP COLUMN refund_expired_vouchers;
ALTER TABLE programs DROP COLUMN milestone_reward_id;
