-- The outbox and the feed (see the PostgreSQL migration). SQLite has one writer at a time, so
-- written_seq is the next number after the largest.
CREATE TABLE events (
    id TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    customer_id TEXT,
    event_type TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    data TEXT NOT NULL,
    written_seq BIGINT NOT NULL,
    position BIGINT UNIQUE
);
CREATE INDEX events_unplaced_idx ON events (written_seq) WHERE position IS NULL;
-- The largest written_seq, read by every insert.
CREATE INDEX events_written_idx ON events (written_seq);
CREATE INDEX events_feed_idx ON events (tenant_id, position);
CREATE INDEX events_type_idx ON events (tenant_id, event_type, position);
CREATE INDEX events_customer_idx ON events (tenant_id, customer_id, position);
CREATE INDEX events_occurred_idx ON events (occurred_at);

-- The last place given, so places only ever grow, even after the sweep deleted every event
-- (a reader's cursor then still points before the next one).
CREATE TABLE event_places (
    id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    last_position BIGINT NOT NULL
);
INSERT INTO event_places (id, last_position) VALUES (1, 0);
