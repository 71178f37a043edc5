-- Webhook endpoints, and one delivery per placed event and subscribed endpoint, with its
-- attempts. A delivery is queued when its event is placed in the feed (by the placement, in
-- its transaction), so an endpoint's deliveries follow the feed's order.
-- The deliveries' key on events takes a short lock on that busy table: wait at most 5 s for it.
SET LOCAL lock_timeout = '5s';

CREATE TABLE webhook_endpoints (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    -- '*' for every type, else the types between commas: ',visit.recorded,voucher.issued,'
    event_types TEXT NOT NULL,
    description TEXT,
    -- Kept as it is: deliveries are signed with it.
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMP,
    failing_since TIMESTAMP,
    disabled_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (id)
);

CREATE TABLE webhook_deliveries (
    tenant_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    -- The event's place in the feed: an endpoint's deliveries go out in this order.
    position BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    -- Attempts claimed so far, the one in flight included.
    attempts INTEGER NOT NULL,
    -- While pending: when it is due (or, while an attempt is in flight, when its claim lapses).
    next_attempt_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    PRIMARY KEY (endpoint_id, event_id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
);
-- What workers claim: due deliveries, and whether one has an earlier pending one of its endpoint.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint_id, position) WHERE status = 'pending';
-- Deleting old events deletes their deliveries.
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    attempted_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    response_excerpt TEXT,
    PRIMARY KEY (endpoint_id, event_id, number),
    FOREIGN KEY (endpoint_id, event_id) REFERENCES webhook_deliveries (endpoint_id, event_id) ON DELETE CASCADE
);
