-- The hints go back to unknown; reads then look at the lots only after the next change.
UPDATE customers SET points_expire_next_at = NULL WHERE points_expire_next_at IS NOT NULL;
