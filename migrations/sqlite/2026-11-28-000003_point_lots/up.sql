ALTER TABLE programs ADD COLUMN points_expire_after_days BIGINT CHECK (points_expire_after_days > 0);

-- Earned points, with what is left of them and when they expire. A customer's lots add up to the
-- balance; a negative balance is one lot with a negative remainder and no expiry.
CREATE TABLE point_lots (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    source_entry_id TEXT NOT NULL,
    earned_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    remaining BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX point_lots_customer_idx ON point_lots (tenant_id, customer_id, expires_at);
CREATE INDEX point_lots_expiry_idx ON point_lots (expires_at) WHERE remaining > 0;

-- Which lots a voucher's spending drew from, so a refund puts the points back there.
CREATE TABLE lot_draws (
    tenant_id TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    lot_id TEXT NOT NULL,
    points BIGINT NOT NULL CHECK (points > 0),
    PRIMARY KEY (tenant_id, entry_id, lot_id)
);

-- Balances from before lots existed become one lot each, never expiring.
INSERT INTO point_lots (tenant_id, id, customer_id, source_entry_id, earned_at, expires_at, remaining)
    SELECT tenant_id, 'opening-' || id, id, 'opening-balance', created_at, NULL, balance
    FROM customers WHERE balance <> 0;

-- SQLite cannot alter a CHECK constraint: the ledger is rebuilt with the new kind.
CREATE TABLE ledger_entries_rebuilt (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone', 'redemption', 'refund', 'expiry')),
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
INSERT INTO ledger_entries_rebuilt (tenant_id, id, customer_id, kind, points, balance_after, visit_number, amount_minor, currency, reference, reason, reverses_entry_id, actor_key_id, request_id, created_at, redemption_id)
    SELECT tenant_id, id, customer_id, kind, points, balance_after, visit_number, amount_minor, currency, reference, reason, reverses_entry_id, actor_key_id, request_id, created_at, redemption_id FROM ledger_entries;
DROP TABLE ledger_entries;
ALTER TABLE ledger_entries_rebuilt RENAME TO ledger_entries;
CREATE INDEX ledger_entries_customer_idx ON ledger_entries (tenant_id, customer_id, id);
-- A purchase is reversed at most once; each visit number is counted, and reaches a milestone, once.
CREATE UNIQUE INDEX ledger_entries_reversal_key ON ledger_entries (tenant_id, reverses_entry_id)
    WHERE reverses_entry_id IS NOT NULL;
CREATE UNIQUE INDEX ledger_entries_visit_number_key ON ledger_entries (tenant_id, customer_id, kind, visit_number)
    WHERE visit_number IS NOT NULL;
