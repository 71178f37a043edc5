ALTER TABLE programs DROP COLUMN tiers;
