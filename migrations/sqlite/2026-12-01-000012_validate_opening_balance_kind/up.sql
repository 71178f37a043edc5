-- PostgreSQL validates the ledger's kind check here, which it added NOT VALID. SQLite rebuilt the
-- ledger with the check in place: there is nothing to validate.
SELECT 1;
