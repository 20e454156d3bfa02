-- The state database's schema, as migrations applied in order (PRAGMA user_version = how many
-- have been applied). Never edit a released migration: add the next one.

-- migration: 1 cursors and ledgers, events, deliveries, attempts, webhook state
CREATE TABLE cursors (
    branch      TEXT PRIMARY KEY,
    commit_sha  TEXT NOT NULL,
    ledger      BLOB NOT NULL,      -- zlib-compressed JSON of the engine's Ledger
    generation  INTEGER NOT NULL,   -- +1 per write; a scan derived from an older one retries
    next_timer  REAL,               -- the next scheduled publish or expiry
    scanned_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,  -- derivation order
    event_id    TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    collection  TEXT NOT NULL,
    entry_id    TEXT NOT NULL,
    slug        TEXT NOT NULL,
    commit_sha  TEXT NOT NULL,        -- or "at:<time>" for a scheduled transition
    path        TEXT NOT NULL,
    stored_at   REAL NOT NULL
);

CREATE TABLE deliveries (
    id             INTEGER PRIMARY KEY,  -- per webhook and entry, the order to send in
    event          INTEGER NOT NULL REFERENCES events (id),
    webhook        TEXT NOT NULL,        -- the webhook's name; never its URL or secret
    entry_id       TEXT NOT NULL,
    status         TEXT NOT NULL,        -- pending, failed, ok, dead, skipped, coalesced
    next_at        REAL,                 -- while open (pending, failed): when it is due
    attempts       INTEGER NOT NULL DEFAULT 0,
    retry_base     INTEGER NOT NULL DEFAULT 0,  -- attempts before the last replay
    last_code      INTEGER,
    last_error     TEXT,
    coalesced_into INTEGER,
    created_at     REAL NOT NULL,
    updated_at     REAL NOT NULL,
    UNIQUE (event, webhook)
);
CREATE INDEX deliveries_due ON deliveries (webhook, next_at) WHERE next_at IS NOT NULL;
CREATE INDEX deliveries_entry ON deliveries (webhook, entry_id, id) WHERE next_at IS NOT NULL;
CREATE INDEX deliveries_settled ON deliveries (updated_at) WHERE next_at IS NULL;

CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    delivery    INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    started_at  REAL NOT NULL,
    code        INTEGER,              -- NULL: no answer (refused, timed out)
    duration    REAL NOT NULL,
    error       TEXT,
    answer      BLOB NOT NULL         -- the first 4 KiB of the answer body
);
CREATE INDEX attempts_delivery ON attempts (delivery);

CREATE TABLE webhooks (
    name            TEXT PRIMARY KEY,
    disabled_at     REAL,
    disabled_reason TEXT,
    failing_since   REAL,             -- the first failure since the last success
    last_success    REAL
);
