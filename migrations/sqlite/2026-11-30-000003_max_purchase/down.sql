ALTER TABLE programs DROP COLUMN max_purchase_minor;
