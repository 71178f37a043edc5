-- Back to one record per tenant and key string: where several API keys used the same string,
-- the newest record stays (a retry of an older one is then refused as a reused key, never
-- applied twice).
DROP INDEX idempotency_keys_created_at;
DELETE FROM idempotency_keys older
    USING idempotency_keys newer
    WHERE older.tenant_id = newer.tenant_id
      AND older.idempotency_key = newer.idempotency_key
      AND (older.created_at, older.api_key_id) < (newer.created_at, newer.api_key_id);
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (tenant_id, idempotency_key);
ALTER TABLE idempotency_keys DROP COLUMN api_key_id;
