-- The ledger is written all day: wait at most 5 s for its lock (then fail, and retry later)
-- rather than queue every write behind this migration.
SET LOCAL lock_timeout = '5s';

ALTER TABLE programs ADD COLUMN milestone_reward_id TEXT;
ALTER TABLE programs ADD COLUMN refund_expired_vouchers BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE rewards (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    cost_points BIGINT NOT NULL CHECK (cost_points > 0),
    active BOOLEAN NOT NULL,
    stock BIGINT CHECK (stock >= 0),
    valid_days BIGINT NOT NULL CHECK (valid_days > 0),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE redemptions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    reward_id TEXT NOT NULL,
    reward_name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('issued', 'fulfilled', 'cancelled', 'expired')),
    code TEXT NOT NULL,
    qr_payload TEXT NOT NULL,
    points_spent BIGINT NOT NULL CHECK (points_spent >= 0),
    milestone_visit_number BIGINT,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, reward_id) REFERENCES rewards (tenant_id, id)
);
-- A code names one live voucher of its tenant; closed vouchers free their code.
CREATE UNIQUE INDEX redemptions_live_code_key ON redemptions (tenant_id, code) WHERE status = 'issued';
CREATE INDEX redemptions_code_idx ON redemptions (tenant_id, code, id);
CREATE UNIQUE INDEX redemptions_qr_payload_key ON redemptions (tenant_id, qr_payload);
-- A completed stamp card earns its voucher once, even if that voucher later expires.
CREATE UNIQUE INDEX redemptions_milestone_key ON redemptions (tenant_id, customer_id, milestone_visit_number)
    WHERE milestone_visit_number IS NOT NULL;
CREATE INDEX redemptions_customer_idx ON redemptions (tenant_id, customer_id, id);
CREATE INDEX redemptions_expiry_idx ON redemptions (status, expires_at);

ALTER TABLE ledger_entries ADD COLUMN redemption_id TEXT;
ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
-- NOT VALID: enforced for new rows at once, without scanning the ledger under this lock; a
-- later migration validates it with a lock that lets reads and writes go on.
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone', 'redemption', 'refund')) NOT VALID;
