-- Customers are searched by terms: each name word folded to lower-case ASCII, the email, the
-- phone's digits reversed (its last digits become a prefix) and the external id, each tagged with
-- its kind. Terms compare byte by byte (COLLATE "C"), so a prefix is a range of the index.
CREATE TABLE customer_search_terms (
    tenant_id TEXT NOT NULL,
    term TEXT COLLATE "C" NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, term, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX customer_search_terms_customer_idx ON customer_search_terms (tenant_id, customer_id);

-- Customers written before this release (or by it during a rollout) have no terms yet; the
-- sweep indexes them in batches and sets this.
SET LOCAL lock_timeout = '5s';
ALTER TABLE customers ADD COLUMN search_indexed BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX IF NOT EXISTS customers_unindexed_idx ON customers (tenant_id, id) WHERE NOT search_indexed;
