-- Reports and the ledger export read one tenant's entries and vouchers over a range of time:
-- along these indexes they read that range only, not the tenant's whole history.
CREATE INDEX IF NOT EXISTS ledger_entries_created_idx ON ledger_entries (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS redemptions_created_idx ON redemptions (tenant_id, created_at);
CREATE INDEX IF NOT EXISTS redemptions_closed_idx ON redemptions (tenant_id, closed_at)
    WHERE closed_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS redemptions_expires_idx ON redemptions (tenant_id, expires_at);
