-- The directory's users. Times are microseconds since the Unix epoch.
CREATE TABLE users (
    id           TEXT    PRIMARY KEY,
    uid          TEXT    NOT NULL UNIQUE,
    email        TEXT    NOT NULL,
    -- The lowercased email: uniqueness and the email filter and order use it.
    email_key    TEXT    NOT NULL,
    display_name TEXT    NOT NULL,
    -- 1 ACTIVE, 2 DELETED (the proto's values).
    state        INTEGER NOT NULL CHECK (state IN (1, 2)),
    create_time  INTEGER NOT NULL,
    update_time  INTEGER NOT NULL,
    delete_time  INTEGER,
    purge_time   INTEGER,
    etag         TEXT    NOT NULL,
    -- The CreateUser request_id (AIP-155) that created the user, if any.
    request_id   TEXT    UNIQUE
) STRICT;

-- An email belongs to at most one user that is not deleted.
CREATE UNIQUE INDEX users_active_email ON users (email_key) WHERE state = 1;
-- Keyset paging: one index per order, the id breaking ties.
CREATE INDEX users_by_create_time ON users (create_time, id);
CREATE INDEX users_by_email ON users (email_key, id);
CREATE INDEX users_by_display_name ON users (display_name, id);
-- The purge sweep.
CREATE INDEX users_purge ON users (purge_time) WHERE state = 2;

-- Values the service keeps for itself: the page-token secret, the heartbeat.
CREATE TABLE service_meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
