-- The directory's users. Times are microseconds since the Unix epoch, as in
-- the SQLite schema. Text that is compared, ordered or paged on uses the "C"
-- collation: byte order, the same on every server whatever its locale, and
-- the same order SQLite gives.
CREATE TABLE users (
    id           TEXT COLLATE "C" PRIMARY KEY,
    uid          UUID     NOT NULL UNIQUE,
    email        TEXT     NOT NULL,
    -- The lowercased email (Unicode lowercase, made by the service): the
    -- uniqueness, the email filter and the email order use it.
    email_key    TEXT COLLATE "C" NOT NULL,
    display_name TEXT COLLATE "C" NOT NULL,
    -- 1 ACTIVE, 2 DELETED (the proto's values).
    state        SMALLINT NOT NULL CHECK (state IN (1, 2)),
    create_time  BIGINT   NOT NULL,
    update_time  BIGINT   NOT NULL,
    delete_time  BIGINT,
    purge_time   BIGINT,
    etag         TEXT     NOT NULL,
    -- The CreateUser request_id (AIP-155) that created the user, if any.
    request_id   UUID     UNIQUE
);

-- An email belongs to at most one user that is not deleted, compared
-- case-insensitively: a partial unique index on the lowercased email.
CREATE UNIQUE INDEX users_active_email ON users (email_key) WHERE state = 1;
-- Keyset paging: one index per order, the id breaking ties.
CREATE INDEX users_by_create_time ON users (create_time, id);
CREATE INDEX users_by_email ON users (email_key, id);
CREATE INDEX users_by_display_name ON users (display_name, id);
-- The purge sweep.
CREATE INDEX users_purge ON users (purge_time) WHERE state = 2;

-- Values the service keeps for itself: the page-token secret.
CREATE TABLE service_meta (
    key   TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
