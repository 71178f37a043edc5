ALTER TABLE tenants ADD COLUMN country TEXT NOT NULL DEFAULT 'US';
ALTER TABLE tenants ADD COLUMN currency TEXT NOT NULL DEFAULT 'USD';

-- Keys are looked up by prefix before any tenant is known, so the prefix is unique on its own.
CREATE TABLE api_keys (
    id TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT REFERENCES tenants (id),
    role TEXT NOT NULL CHECK (role IN ('platform_admin', 'tenant_admin', 'staff')),
    label TEXT,
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    CHECK ((role = 'platform_admin' AND tenant_id IS NULL) OR (role <> 'platform_admin' AND tenant_id IS NOT NULL))
);
CREATE UNIQUE INDEX api_keys_prefix_key ON api_keys (prefix);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id, id);

-- A tenant without a row runs on the default program.
CREATE TABLE programs (
    tenant_id TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id),
    visits_per_reward BIGINT NOT NULL CHECK (visits_per_reward > 0),
    points_per_visit BIGINT NOT NULL CHECK (points_per_visit >= 0),
    spend_points BIGINT NOT NULL CHECK (spend_points >= 0),
    spend_per_amount_minor BIGINT NOT NULL CHECK (spend_per_amount_minor > 0),
    min_purchase_minor BIGINT NOT NULL CHECK (min_purchase_minor >= 0),
    min_minutes_between_visits BIGINT NOT NULL CHECK (min_minutes_between_visits >= 0),
    updated_at TIMESTAMP NOT NULL
);

-- The account lives on the customer row: balance, lifetime points and visits move in the same
-- transaction as the ledger entries that explain them.
CREATE TABLE customers (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
    name TEXT,
    phone TEXT,
    email TEXT,
    external_id TEXT,
    card_token TEXT NOT NULL,
    balance BIGINT NOT NULL DEFAULT 0,
    lifetime_points BIGINT NOT NULL DEFAULT 0 CHECK (lifetime_points >= 0),
    visits BIGINT NOT NULL DEFAULT 0 CHECK (visits >= 0),
    last_visit_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX customers_phone_key ON customers (tenant_id, phone);
CREATE UNIQUE INDEX customers_email_key ON customers (tenant_id, email);
CREATE UNIQUE INDEX customers_external_id_key ON customers (tenant_id, external_id);
-- Public cards are found by token alone.
CREATE UNIQUE INDEX customers_card_token_key ON customers (card_token);

CREATE TABLE ledger_entries (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone')),
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
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX ledger_entries_customer_idx ON ledger_entries (tenant_id, customer_id, id);
-- A purchase is reversed at most once; each visit number is counted, and reaches a milestone, once.
CREATE UNIQUE INDEX ledger_entries_reversal_key ON ledger_entries (tenant_id, reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_entries_visit_number_key ON ledger_entries (tenant_id, customer_id, kind, visit_number)
    WHERE visit_number IS NOT NULL;

CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
);
