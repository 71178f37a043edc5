-- Who issued each key (the issuing key's id, or `operator`), when it stops working, and when it
-- was last used (written at most once a minute per key). Keys issued before stay as they were:
-- no issuer on record, no expiry.
ALTER TABLE api_keys ADD COLUMN created_by TEXT;
ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMP;
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMP;
