-- The ledger is written all day: wait at most 5 s for its lock (then fail, and retry later)
-- rather than queue every write behind this migration.
SET LOCAL lock_timeout = '5s';

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

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_kind_check;
-- NOT VALID, validated by a later migration (see the rewards migration).
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind_check
    CHECK (kind IN ('visit', 'purchase', 'adjustment', 'reversal', 'milestone', 'redemption', 'refund', 'expiry')) NOT VALID;
