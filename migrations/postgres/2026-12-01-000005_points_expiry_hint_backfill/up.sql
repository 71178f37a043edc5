-- Fills points_expire_next_at for customers holding points that will expire, in a transaction
-- of its own: it takes those customers' row locks, not the table's.
SET LOCAL lock_timeout = '5s';
UPDATE customers SET points_expire_next_at = (
    SELECT MIN(point_lots.expires_at) FROM point_lots
    WHERE point_lots.tenant_id = customers.tenant_id
      AND point_lots.customer_id = customers.id
      AND point_lots.remaining > 0
)
WHERE EXISTS (
    SELECT 1 FROM point_lots
    WHERE point_lots.tenant_id = customers.tenant_id
      AND point_lots.customer_id = customers.id
      AND point_lots.remaining > 0
      AND point_lots.expires_at IS NOT NULL
);
