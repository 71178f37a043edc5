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

-- SQLite cannot alter a CHECK constraint: the ledger is rebuilt with the new kinds and column.
CREATE TABLE ledger_entries_rebuilt (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone', 'redemption', 'refund')),
    points BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    visit_number BIGINT,
    amount_minor BIGINT,
    currency TEXT,
    reference TEXT,
    reason TEXT,
    reverses_entry_id TEXT,
    actor_key_id TEXT NOT NULL,
    request_id TEXT,
    created_at TIMESTAMP NOT NULL,
    redemption_id TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
INSERT INTO ledger_entries_rebuilt (tenant_id, id, customer_id, kind, points, balance_after, visit_number, amount_minor, currency, reference, reason, reverses_entry_id, actor_key_id, request_id, created_at)
    SELECT tenant_id, id, customer_id, kind, points, balance_after, visit_number, amount_minor, currency, reference, reason, reverses_entry_id, actor_key_id, request_id, created_at FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_rebuilt RENAME TO ledger_entries;
CREATE INDEX ledger_entries_customer_idx ON ledger_entries (tenant_id, customer_id, id);
-- A purchase is reversed at most once; each visit number is counted, and reaches a milestone, once.
CREATE UNIQUE INDEX ledger_entries_reversal_key ON ledger_entries (tenant_id, reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_entries_visit_number_key ON ledger_entries (tenant_id, customer_id, kind, visit_number)
    WHERE visit_number IS NOT NULL;
