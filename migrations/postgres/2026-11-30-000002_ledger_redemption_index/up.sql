-- The ledger is written all day: wait at most 5 s for its lock (then fail, and retry later)
-- rather than queue every write behind this migration.
SET LOCAL lock_timeout = '5s';

-- A voucher's spending entry, found when the voucher is cancelled or expires and its points go
-- back: without this index that look-up read the tenant's whole ledger while holding the
-- voucher's and the customer's locks. Partial: only redemption entries carry a voucher.
--
-- Building it holds off writes to the ledger (not reads) while it runs. On a large ledger, build
-- it by hand first without blocking (CREATE INDEX CONCURRENTLY, same name and definition): this
-- migration then finds it and does nothing.
CREATE INDEX IF NOT EXISTS ledger_entries_redemption_idx ON ledger_entries (tenant_id, redemption_id)
    WHERE redemption_id IS NOT NULL;
