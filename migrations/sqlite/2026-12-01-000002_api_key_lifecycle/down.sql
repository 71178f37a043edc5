-- Refuses while unrevoked keys carry an expiry; without the column they would work forever, expired
-- ones again: revoke them first.
-- (SQLite has no procedural blocks: a trigger on a scratch table raises the error.)
CREATE TEMP TABLE revert_guard (refused INTEGER);
CREATE TEMP TRIGGER revert_guard_refuses BEFORE INSERT ON revert_guard
BEGIN
    SELECT RAISE(ABORT, 'refusing to revert 2026-12-01-000002_api_key_lifecycle: unrevoked keys carry an expiry; without the column they would work forever, expired ones again: revoke them first');
END;
INSERT INTO revert_guard SELECT 1 WHERE EXISTS (SELECT 1 FROM api_keys WHERE expires_at IS NOT NULL AND revoked_at IS NULL);
DROP TABLE revert_guard;

ALTER TABLE api_keys DROP COLUMN last_used_at;
ALTER TABLE api_keys DROP COLUMN expires_at;
ALTER TABLE api_keys DROP COLUMN created_by;
