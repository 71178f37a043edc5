-- The audit trail: every change that is not a ledger posting, with who made it (the API key, or
-- `operator` for the command line), when, and the fields it changed before and after (personal
-- data masked), as JSON. Read newest first, all of a tenant's or one key's.
CREATE TABLE audit_entries (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
    actor_key_id TEXT NOT NULL,
    request_id TEXT,
    action TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    changes TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_entries_actor_idx ON audit_entries (tenant_id, actor_key_id, id);

-- The key that fulfilled a voucher, kept on the voucher.
ALTER TABLE redemptions ADD COLUMN fulfilled_by_key_id TEXT;
