-- The ledger's kind check, added NOT VALID with the opening_balance kind, is checked against the
-- rows already there here, in its own transaction: validating takes a lock that lets reads and
-- writes go on.
SET LOCAL lock_timeout = '5s';
ALTER TABLE ledger_entries VALIDATE CONSTRAINT ledger_entries_kind_check;
