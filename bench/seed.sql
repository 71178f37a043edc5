-- Bulk seed for the benchmark, in SQL both PostgreSQL and SQLite run: 100,000 customers over the
-- three tenants `bench-1` (80,000), `bench-2` and `bench-3` (10,000 each), named from 32 first names
-- and 64 surnames (some with accents), each with a phone (+4915 and n in 8 digits) and an email
-- (c<n>@bench.example); ten ledger entries of 100 points each per customer (1,000,000 entries,
-- spread evenly over the last 365 days, for the reports),
-- and one point lot per customer holding the balance, so every invariant holds before the run. The tenants exist already (made with
-- `loyalty tenant create`). Ids are canonical UUID text derived from a number, so the load
-- scripts and pgbench can name any customer without a look-up: customer n is
-- 00000000-0000-7000-8000-<n as 12 hex digits>.

WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000)
INSERT INTO customers (tenant_id, id, name, phone, email, external_id, card_token, balance,
                       lifetime_points, visits, last_visit_at, created_at, updated_at)
SELECT CASE WHEN n <= 80000 THEN 'bench-1' WHEN n <= 90000 THEN 'bench-2' ELSE 'bench-3' END,
       '00000000-0000-7000-8000-' || printf_hex12,
       trim(substr('Anna  Ben   Chloé David Emma  Finn  Greta Hugo  Ida   Jonas Klara Leon  Mia   Noah  OliviaPaul  Rosa  Sven  Tara  Umut  Vera  Will  Xenia Yusuf Zoë   AmélieBjörn Carla Dilan Elif  Felix Hanna ', (n % 32) * 6 + 1, 6)) || ' ' ||
         trim(substr('Müller    Schmidt   Schneider Fischer   Weber     Meyer     Wagner    Becker    Schulz    Hoffmann  Schäfer   Koch      Bauer     Richter   Klein     Wolf      Schröder  Neumann   Schwarz   ZimmermannBraun     Krüger    Hofmann   Hartmann  Lange     Schmitt   Werner    Schmitz   Krause    Meier     Lehmann   Schmid    Schulze   Maier     Köhler    Herrmann  König     Walter    Mayer     Huber     Kaiser    Fuchs     Peters    Lang      Scholz    Möller    Weiß      Jung      Hahn      Schubert  Vogel     Friedrich Keller    Günther   Frank     Berger    Winkler   Roth      Beck      Lorenz    Baumann   Franke    Albrecht  Dubois    ', ((n / 32) % 64) * 10 + 1, 10)),
       '+4915' || DEC8, 'c' || n || '@bench.example', NULL, 'card-bench-' || n,
       1000, 1000, 0, NULL, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM (SELECT n, HEX12 AS printf_hex12 FROM seq) AS numbered;

WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 1000000)
INSERT INTO ledger_entries (tenant_id, id, customer_id, kind, points, balance_after, visit_number,
                            amount_minor, currency, reference, reason, reverses_entry_id,
                            actor_key_id, request_id, created_at, redemption_id)
SELECT CASE WHEN c <= 80000 THEN 'bench-1' WHEN c <= 90000 THEN 'bench-2' ELSE 'bench-3' END,
       '00000000-0000-7000-9000-' || entry_hex12,
       '00000000-0000-7000-8000-' || customer_hex12,
       'adjustment', 100, 100 * k, NULL, NULL, NULL, NULL, 'seed', NULL, 'seed', NULL,
       DAYS_AGO, NULL
FROM (SELECT n, (n - 1) / 10 + 1 AS c, (n - 1) % 10 + 1 AS k, ENTRY_HEX12 AS entry_hex12,
             CUSTOMER_HEX12 AS customer_hex12 FROM seq) AS numbered;

WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000)
INSERT INTO point_lots (tenant_id, id, customer_id, source_entry_id, earned_at, expires_at, remaining)
SELECT CASE WHEN n <= 80000 THEN 'bench-1' WHEN n <= 90000 THEN 'bench-2' ELSE 'bench-3' END,
       '00000000-0000-7000-a000-' || printf_hex12,
       '00000000-0000-7000-8000-' || printf_hex12,
       '00000000-0000-7000-9000-' || first_entry_hex12,
       CURRENT_TIMESTAMP, NULL, 1000
FROM (SELECT n, HEX12 AS printf_hex12, FIRST_ENTRY_HEX12 AS first_entry_hex12 FROM seq) AS numbered;
