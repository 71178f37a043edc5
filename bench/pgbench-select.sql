-- One customer by primary key: the floor under `customer_get`.
\set n random(1, 80000)
SELECT * FROM customers WHERE tenant_id = 'bench-1' AND id = '00000000-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0');
