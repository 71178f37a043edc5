-- Idempotency keys belong to the API key that sent them: two tills that both send `visit-1`
-- make two visits. Records made before this migration have no key ('') and keep answering
-- replays for their tenant until they expire. `created_at` serves the sweep that deletes
-- records past their time to live.
ALTER TABLE idempotency_keys ADD COLUMN api_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (tenant_id, api_key_id, idempotency_key);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
