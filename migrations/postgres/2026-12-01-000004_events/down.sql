DROP TABLE event_places;
DROP TABLE events;
DROP SEQUENCE events_written_seq;
