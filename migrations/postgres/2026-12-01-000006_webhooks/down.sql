-- Drops every endpoint with its deliveries: receivers must be registered again (with new
-- secrets) after a forward deploy. The previous release cannot read webhook.disabled events, so
-- they leave the feed too.
SET LOCAL lock_timeout = '5s';
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DELETE FROM events WHERE event_type = 'webhook.disabled';
