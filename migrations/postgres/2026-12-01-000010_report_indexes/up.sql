-- The ledger and the vouchers are written all day: wait at most 5 s for their locks (then fail,
-- and retry later) rather than queue every write behind this migration.
SET LOCAL lock_timeout = '5s';

-- Reports and the ledger export read one tenant's entries and vouchers over a range of time:
-- along these indexes they read that range only, not the tenant's whole history.
--
-- Building them holds off writes to the tables (not reads) while they run. On a large ledger,
-- build them by hand first without blocking (CREATE INDEX CONCURRENTLY, same names and
-- definitions): this migration then finds them and does nothing.
CREATE INDEX IF NOT EXISTS ledger_entries_created_idx ON ledger_entries (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS redemptions_created_idx ON redemptions (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS redemptions_closed_idx ON redemptions (tenant_id, closed_at)
    WHERE closed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS redemptions_expires_idx ON redemptions (tenant_id, expires_at);
