-- A customer's live vouchers in expiry order, for the public card: it reads only live rows,
-- however many vouchers the customer ever had.
CREATE INDEX redemptions_live_idx ON redemptions (tenant_id, customer_id, expires_at)
    WHERE status = 'issued';
