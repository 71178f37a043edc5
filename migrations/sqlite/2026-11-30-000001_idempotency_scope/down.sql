-- Back to one record per tenant and key string: where several API keys used the same string,
-- the newest record stays (a retry of an older one is then refused as a reused key, never
-- applied twice).
CREATE TABLE idempotency_keys_unscoped (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, idempotency_key)
);
INSERT INTO idempotency_keys_unscoped (tenant_id, idempotency_key, fingerprint, status_code, response_body, created_at)
    SELECT tenant_id, idempotency_key, fingerprint, status_code, response_body, created_at
    FROM idempotency_keys newest
    WHERE NOT EXISTS (
        SELECT 1 FROM idempotency_keys newer
        WHERE newer.tenant_id = newest.tenant_id
          AND newer.idempotency_key = newest.idempotency_key
          AND (newer.created_at > newest.created_at
               OR (newer.created_at = newest.created_at AND newer.api_key_id > newest.api_key_id))
    );
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_unscoped RENAME TO idempotency_keys;
