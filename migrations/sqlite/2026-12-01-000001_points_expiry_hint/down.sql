ALTER TABLE customers DROP COLUMN points_expire_next_at;
