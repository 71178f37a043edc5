DELETE FROM ledger_entries WHERE kind = 'expiry';
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone', 'redemption', 'refund'));
DROP TABLE lot_draws;
DROP TABLE point_lots;
ALTER TABLE programs DROP COLUMN points_expire_after_days;
