-- The statements one `purchase` runs in its transaction (a fresh Idempotency-Key, the tenant's
-- program, the customer locked, the tenant's currency, the entry, the customer's lots, the lot,
-- the account, the event, the stored response: bodies of a purchase's size), for pgbench to show what the database alone can do.
\set n random(1, 10000)
\set k random(1, 9223372036854775806)
BEGIN;
SELECT api_key_id, fingerprint, status_code, response_body, created_at FROM idempotency_keys WHERE tenant_id = 'bench-1' AND api_key_id = 'pgbench' AND idempotency_key = 'pgbench-' || :k::text UNION ALL SELECT api_key_id, fingerprint, status_code, response_body, created_at FROM idempotency_keys WHERE tenant_id = 'bench-1' AND api_key_id = '' AND idempotency_key = 'pgbench-' || :k::text;
INSERT INTO idempotency_keys (tenant_id, api_key_id, idempotency_key, fingerprint, status_code, response_body, created_at) VALUES ('bench-1', 'pgbench', 'pgbench-' || :k::text, 'a3f1c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566778', 0, '', now());
SELECT * FROM programs WHERE tenant_id = 'bench-1';
SELECT * FROM customers WHERE tenant_id = 'bench-1' AND id = '00000000-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0') FOR UPDATE;
SELECT * FROM tenants WHERE id = 'bench-1';
INSERT INTO ledger_entries (tenant_id, id, customer_id, kind, points, balance_after, visit_number, amount_minor, currency, reference, reason, reverses_entry_id, actor_key_id, request_id, created_at, redemption_id) VALUES ('bench-1', gen_random_uuid()::text, '00000000-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'), 'purchase', 12, 1012, NULL, 1250, 'EUR', NULL, NULL, NULL, 'pgbench', gen_random_uuid()::text, now(), NULL);
SELECT * FROM point_lots WHERE tenant_id = 'bench-1' AND customer_id = '00000000-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0') AND remaining <> 0 ORDER BY id;
UPDATE point_lots SET remaining = remaining + 12 WHERE tenant_id = 'bench-1' AND id = '00000000-0000-7000-a000-' || lpad(to_hex(:n::bigint), 12, '0');
UPDATE customers SET name = name, phone = phone, email = email, external_id = external_id, card_token = card_token, balance = balance + 12, lifetime_points = lifetime_points + 12, visits = visits, last_visit_at = last_visit_at, created_at = created_at, updated_at = now() WHERE tenant_id = 'bench-1' AND id = '00000000-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0');
INSERT INTO events (id, tenant_id, customer_id, event_type, occurred_at, data, written_seq) VALUES (gen_random_uuid()::text, 'bench-1', '00000000-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'), 'purchase.recorded', now(), repeat('x', 330), nextval('events_written_seq'));
UPDATE idempotency_keys SET status_code = 201, response_body = repeat('x', 560) WHERE tenant_id = 'bench-1' AND api_key_id = 'pgbench' AND idempotency_key = 'pgbench-' || :k::text;
END;
