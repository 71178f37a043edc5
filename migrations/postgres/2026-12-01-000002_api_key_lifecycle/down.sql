-- Refuses while unrevoked keys carry an expiry; without the column they would work forever, expired
-- ones again: revoke them first.
-- The check holds until the end: writers of these tables wait (at most 5 s here) meanwhile.
SET LOCAL lock_timeout = '5s';
LOCK TABLE api_keys IN SHARE ROW EXCLUSIVE MODE;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM api_keys WHERE expires_at IS NOT NULL AND revoked_at IS NULL) THEN
        RAISE EXCEPTION 'refusing to revert 2026-12-01-000002_api_key_lifecycle: unrevoked keys carry an expiry; without the column they would work forever, expired ones again: revoke them first';
    END IF;
END $$;

ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE api_keys DROP COLUMN created_by;
