-- A customer imported from another system brings their balance as an opening_balance entry.
-- The new check allows every kind the old one did, so the rows already there pass it: it is added
-- NOT VALID (no scan of the ledger under the exclusive lock), and is enforced for new rows at once.
SET LOCAL lock_timeout = '5s';
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone', 'redemption', 'refund', 'expiry', 'opening_balance')) NOT VALID;
