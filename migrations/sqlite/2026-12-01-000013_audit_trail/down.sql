ALTER TABLE redemptions DROP COLUMN fulfilled_by_key_id;
DROP TABLE audit_entries;
