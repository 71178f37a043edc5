-- Tenants go back to UTC days; points already earned keep the expiry they were given.
SET LOCAL lock_timeout = '5s';
ALTER TABLE tenants DROP COLUMN time_zone;
