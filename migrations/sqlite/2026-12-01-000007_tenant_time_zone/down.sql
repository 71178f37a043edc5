-- Tenants go back to UTC days; points already earned keep the expiry they were given.
ALTER TABLE tenants DROP COLUMN time_zone;
