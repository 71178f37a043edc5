DROP TABLE event_places;
DROP TABLE events;
