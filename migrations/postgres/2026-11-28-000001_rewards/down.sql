DELETE FROM ledger_entries WHERE kind IN ('redemption', 'refund');
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone'));
ALTER TABLE ledger_entries DROP COLUMN redemption_id;
DROP TABLE redemptions;
DROP TABLE rewards;
ALTER TABLE programs DROP COLUMN refund_expired_vouchers;
ALTER TABLE programs DROP COLUMN milestone_reward_id;
