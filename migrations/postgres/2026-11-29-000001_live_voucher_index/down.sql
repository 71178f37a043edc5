DROP INDEX redemptions_live_idx;
