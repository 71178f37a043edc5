-- The outbox and the feed. Each change writes its events in its own transaction, in the order it
-- writes them (written_seq, from a sequence read at the insert: after the change's row locks, so
-- two changes to one customer are written in the order they commit). An event gets its place in
-- the feed (position) only after it committed, one placement at a time, so a reader following
-- positions never passes an event that commits later.
CREATE SEQUENCE events_written_seq;
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
