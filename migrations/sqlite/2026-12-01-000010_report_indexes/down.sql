DROP INDEX redemptions_expires_idx;
DROP INDEX redemptions_closed_idx;
DROP INDEX redemptions_created_idx;
DROP INDEX ledger_entries_created_idx;
