-- A customer imported from another system brings their balance as an opening_balance entry.
-- SQLite cannot alter a CHECK constraint: the ledger is rebuilt with the new kind.
CREATE TABLE ledger_entries_rebuilt (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone', 'redemption', 'refund', 'expiry', 'opening_balance')),
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
CREATE INDEX ledger_entries_redemption_idx ON ledger_entries (tenant_id, redemption_id)
    WHERE redemption_id IS NOT NULL;
CREATE INDEX ledger_entries_created_idx ON ledger_entries (tenant_id, created_at);
