-- The largest purchase a till may record, per program: an amount keyed twice is refused instead
-- of earning a fortune. Existing programs get the default, 100,000.00 in a currency with cents.
ALTER TABLE programs ADD COLUMN max_purchase_minor BIGINT NOT NULL DEFAULT 10000000
    CHECK (max_purchase_minor > 0);
