-- Each tenant's IANA time zone: its days (when points expire) end at its own midnight. Tenants
-- so far keep UTC, the days they had.
ALTER TABLE tenants ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
