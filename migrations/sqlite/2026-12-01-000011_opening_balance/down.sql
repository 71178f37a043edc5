-- Refuses while the ledger holds opening balances: the previous release cannot read them, and
-- deleting them would leave balances that no longer equal their ledger.
-- (SQLite has no procedural blocks: a trigger on a scratch table raises the error.)
CREATE TEMP TABLE revert_guard (refused INTEGER);
CREATE TEMP TRIGGER revert_guard_refuses BEFORE INSERT ON revert_guard
BEGIN
    SELECT RAISE(ABORT, 'refusing to revert 2026-12-01-000011_opening_balance: the ledger holds imported opening balances, which the previous release cannot read');
END;
INSERT INTO revert_guard SELECT 1 WHERE EXISTS (SELECT 1 FROM ledger_entries WHERE kind = 'opening_balance');
DROP TABLE revert_guard;

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
CREATE INDEX ledger_entries_redemption_idx ON ledger_entries (tenant_id, redemption_id)
    WHERE redemption_id IS NOT NULL;
CREATE INDEX ledger_entries_created_idx ON ledger_entries (tenant_id, created_at);
