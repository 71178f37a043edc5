-- Each tenant's IANA time zone: its days (when points expire) end at its own midnight. Tenants
-- so far keep UTC, the days they had.
-- Tenants are read when a cache misses and by changes to points that expire: wait at most 5 s
-- for the lock.
SET LOCAL lock_timeout = '5s';
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
