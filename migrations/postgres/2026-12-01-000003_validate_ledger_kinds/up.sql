-- The ledger's kind check was added NOT VALID (enforced for new rows at once, no scan under the
-- exclusive lock). Checking the rows already there takes a lock that lets reads and writes go on,
-- in its own transaction; on a ledger that was checked before, it does nothing.
SET LOCAL lock_timeout = '5s';
ALTER TABLE ledger_entries VALIDATE CONSTRAINT ledger_entries_kind_check;
