-- Idempotency keys belong to the API key that sent them: two tills that both send `visit-1`
-- make two visits. Records made before this migration have no key ('') and keep answering
-- replays for their tenant until they expire. SQLite cannot change a primary key: the table is
-- rebuilt. `created_at` serves the sweep that deletes records past their time to live.
CREATE TABLE idempotency_keys_scoped (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    api_key_id TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, api_key_id, idempotency_key)
);
INSERT INTO idempotency_keys_scoped (tenant_id, api_key_id, idempotency_key, fingerprint, status_code, response_body, created_at)
    SELECT tenant_id, '', idempotency_key, fingerprint, status_code, response_body, created_at FROM idempotency_keys;
DROP TABLE idempotency_keys;
ALTER TABLE idempotency_keys_scoped RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
