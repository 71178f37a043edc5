-- JSON array of {name, min_lifetime_points, multiplier_percent}, lowest tier first.
ALTER TABLE programs ADD COLUMN tiers TEXT NOT NULL DEFAULT '[]';
