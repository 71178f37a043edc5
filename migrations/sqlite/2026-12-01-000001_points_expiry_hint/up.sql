-- When the soonest of a customer's points expire, kept with the balance, so that a read knows
-- without looking at the lots whether part of the balance may be past its expiry. Nullable and
-- without a default, so adding it rewrites nothing; the backfill touches only customers holding
-- points that will expire. A revision that predates it leaves it as it is, which a read only
-- trusts for speed: every change to a balance still checks the lots themselves.
ALTER TABLE customers ADD COLUMN points_expire_next_at TIMESTAMP;

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
