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

-- migration: 2 the ledger in rows of its own, written a change at a time; the content rules
-- Every scan wrote the whole ledger as one BLOB (a second at 100,000 entries); now a scan
-- upserts and deletes the rows it changed. The old BLOBs are set aside in `ledger_blobs`,
-- which cometwatch.store writes as rows and then drops, in this migration's transaction.
CREATE TABLE ledger (
    branch      TEXT NOT NULL,
    part        TEXT NOT NULL,      -- entries, timers, minted, deleted_by_path, deleted_by_explicit
    key         BLOB NOT NULL,      -- a path or an explicit id, UTF-8 (a path git gives may not be)
    value       TEXT NOT NULL,      -- JSON: the row of cometwatch.identity.Ledger.to_json
    PRIMARY KEY (branch, part, key)
) WITHOUT ROWID;

CREATE TABLE ledger_blobs AS SELECT branch, ledger FROM cursors;

CREATE TABLE cursors_2 (
    branch         TEXT PRIMARY KEY,
    commit_sha     TEXT NOT NULL,
    generation     INTEGER NOT NULL,   -- +1 per write; a scan derived from an older one retries
    next_timer     REAL,               -- the next scheduled publish or expiry
    scanned_at     REAL NOT NULL,
    updated_at     REAL NOT NULL,
    ledger_version INTEGER NOT NULL DEFAULT 1,
    ledger_clock   REAL NOT NULL DEFAULT 0,  -- the moment the ledger's states were evaluated at
    rules          TEXT                -- fingerprint of the content rules; NULL: not known
);
INSERT INTO cursors_2 (branch, commit_sha, generation, next_timer, scanned_at, updated_at)
SELECT branch, commit_sha, generation, next_timer, scanned_at, updated_at FROM cursors;
DROP TABLE cursors;
ALTER TABLE cursors_2 RENAME TO cursors;

-- migration: 3 the purge's horizon
-- `recover` creates the deliveries a webhook never had; a delivery the purge forgot must not
-- look like one of those. Settled deliveries are purged once last changed before a moment; the
-- latest such moment is kept here, and events stored before it are left out. A state written
-- before kept none: the oldest settled delivery left is later than any purged (or, with none
-- left, this moment when events exist).
CREATE TABLE purge_horizon (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    before      REAL NOT NULL
);
INSERT INTO purge_horizon (id, before)
SELECT 1, coalesce((SELECT min(updated_at) FROM deliveries WHERE next_at IS NULL),
                   CAST(strftime('%s', 'now') AS REAL))
WHERE EXISTS (SELECT 1 FROM events);

-- migration: 4 a redelivered delivery is sent by itself
-- `redeliver` asks for one delivery again, now: to a coalescing webhook it goes out alone,
-- never merged into (or carrying) a burst. `recover` reopens without it: a burst of recovered
-- deliveries to a build hook is one request.
ALTER TABLE deliveries ADD COLUMN alone INTEGER NOT NULL DEFAULT 0;

-- migration: 5 indexes for /metrics' outbox gauges
-- Each scrape counts open deliveries per webhook and state, with the oldest due moment, and
-- dead ones per webhook: covering indexes keep that a few milliseconds at 100,000 open
-- deliveries (without them, 120 ms: a row lookup per delivery for its status).
CREATE INDEX deliveries_open_status ON deliveries (webhook, status, next_at)
WHERE next_at IS NOT NULL;
CREATE INDEX deliveries_dead ON deliveries (webhook) WHERE status = 'dead';

-- migration: 6 the Webhooks page's admin token, when [server] admin_token is not set
-- Generated at the first start of the page and printed once; only its SHA-256 is kept.
CREATE TABLE admin_token (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    sha256      TEXT NOT NULL,
    created_at  REAL NOT NULL
);
-- Its 24-hour picture per webhook reads the last day's deliveries and attempts by time.
CREATE INDEX deliveries_created ON deliveries (created_at);
CREATE INDEX attempts_started ON attempts (started_at);

-- migration: 7 event paths as the bytes git gave
-- A file name need not be UTF-8 (`posts/bad\xffname.md`); SQLite TEXT must be. Every path is
-- stored as a BLOB of git's bytes (cometwatch.store.path_bytes), as the ledger's keys are.
UPDATE events SET path = CAST(path AS BLOB) WHERE typeof(path) = 'text';

-- migration: 8 the entries at the cursor, for the Public API
-- A row per file the ledger holds, written in the transaction that stores a scan's events and
-- moves its cursor (cometwatch.projection). `entries_built` marks a branch whose rows are
-- complete: a state from before this migration has a cursor but no rows, and its next scan
-- writes them all.
CREATE TABLE entries (
    branch          TEXT NOT NULL,
    path            TEXT NOT NULL,
    entry_id        TEXT NOT NULL,
    collection      TEXT NOT NULL,
    slug            TEXT NOT NULL,
    locale          TEXT,              -- a locale variant's code; NULL: a site without any
    rank            INTEGER NOT NULL,  -- language order: an entry's lowest is its default
    blob            TEXT NOT NULL,
    body_at         INTEGER NOT NULL,  -- where the body starts in the blob
    trashed         INTEGER NOT NULL,
    listed          INTEGER NOT NULL,  -- published, dates aside
    visible_from    REAL,
    visible_until   REAL,
    title           TEXT NOT NULL,
    data            TEXT NOT NULL,     -- JSON object: frontmatter minus mapped keys
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    published_at    REAL,
    published_since REAL,
    deleted_at      REAL,
    PRIMARY KEY (branch, path)
) WITHOUT ROWID;
CREATE INDEX entries_by_id ON entries (branch, entry_id);

CREATE TABLE entries_built (
    branch          TEXT PRIMARY KEY
);

-- migration: 9 who created and last saved each entry, for the API's author_id and updated_by
-- ([server] authors: the commit author's name, or "name <email>"; NULL when not asked)
ALTER TABLE entries ADD COLUMN author TEXT;
ALTER TABLE entries ADD COLUMN updated_by TEXT;

-- migration: 10 the headers each attempt sent
-- A delivery's page shows the request as it went out, not as the config would make it now.
-- A JSON array of [name, value] in the order sent; the signatures kept (HMACs of the body), the
-- value of a header that carries a credential (Authorization, Cookie, X-Api-Key, …) masked
-- before it is written, so no secret is at rest. '[]': no request was made (refused before
-- sending). NULL: an attempt from before this migration.
ALTER TABLE attempts ADD COLUMN headers TEXT;

-- migration: 11 the entries' dates by entry id, read from the index alone
-- A scan reads the stored dates of the entries its commit touched (`entry_dates`). Without
-- statistics SQLite's planner ranks a lookup through (branch, entry_id), which must then visit
-- the table, below walking the branch's primary key range: every row of the branch, 23 ms at
-- 100,000 entries for any commit. An index that holds the columns the query reads is chosen
-- instead, and costs a few index pages per row written.
DROP INDEX entries_by_id;
CREATE INDEX entries_dates_by_id ON entries (branch, entry_id, created_at, updated_at,
                                             published_since, deleted_at, author, updated_by);
