SET LOCAL lock_timeout = '5s';
ALTER TABLE customers DROP COLUMN points_expire_next_at;
