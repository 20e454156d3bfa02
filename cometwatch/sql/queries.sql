-- The store's statements, one under each `-- name:` line (cometwatch.store runs them).

-- name: cursor
SELECT branch, commit_sha, generation, next_timer, scanned_at, updated_at, rules
FROM cursors WHERE branch = ?;

-- name: cursors
SELECT branch, commit_sha, generation, next_timer, scanned_at, updated_at, rules
FROM cursors ORDER BY branch;

-- name: ledger_head
SELECT ledger_version, ledger_clock FROM cursors WHERE branch = ?;

-- name: ledger_rows
SELECT part, key, value FROM ledger WHERE branch = ? ORDER BY part;

-- name: ledger_keys
-- The rows of one part's keys a chunk of commits touches: the store joins one such select per
-- part with UNION ALL into one query (each a search of the primary key; a row-value IN over
-- (part, key) would scan every row of the branch).
SELECT part, key, value FROM ledger WHERE branch = ? AND part = ? AND key IN (/*keys*/)

-- name: ledger_part
SELECT key, value FROM ledger WHERE branch = ? AND part = ?;

-- name: put_ledger_row
INSERT INTO ledger (branch, part, key, value) VALUES (?, ?, ?, ?)
ON CONFLICT (branch, part, key) DO UPDATE SET value = excluded.value;

-- name: drop_ledger_row
DELETE FROM ledger WHERE branch = ? AND part = ? AND key = ?;

-- name: clear_ledger
DELETE FROM ledger WHERE branch = ?;

-- name: set_ledger_head
UPDATE cursors SET ledger_version = ?, ledger_clock = ? WHERE branch = ?;

-- name: ledger_blobs
-- The BLOB ledgers of schema 1, set aside by migration 2 to be written as rows.
SELECT branch, ledger FROM ledger_blobs;

-- name: drop_ledger_blobs
DROP TABLE ledger_blobs;

-- name: generation
SELECT generation FROM cursors WHERE branch = ?;

-- name: touch
UPDATE cursors SET scanned_at = ? WHERE branch = ?;

-- name: save_cursor
-- A ledger version, clock or rules fingerprint left NULL keeps the stored one.
INSERT INTO cursors (branch, commit_sha, generation, next_timer, scanned_at, updated_at,
                     ledger_version, ledger_clock, rules)
VALUES (:branch, :commit, :generation, :next_timer, :now, :now, coalesce(:version, 1),
        coalesce(:clock, 0), :rules)
ON CONFLICT (branch) DO UPDATE SET
    commit_sha = excluded.commit_sha, generation = excluded.generation,
    next_timer = excluded.next_timer, scanned_at = excluded.scanned_at,
    updated_at = excluded.updated_at,
    ledger_version = coalesce(:version, ledger_version),
    ledger_clock = coalesce(:clock, ledger_clock), rules = coalesce(:rules, rules);

-- name: insert_event
INSERT OR IGNORE INTO events
    (event_id, name, occurred_at, collection, entry_id, slug, commit_sha, path, stored_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: last_event
SELECT coalesce(max(id), 0) FROM events;

-- name: insert_delivery
-- Only events this scan stored (rows past the last one before it) get deliveries: an event a
-- backfill derives again was delivered (or purged) already.
INSERT OR IGNORE INTO deliveries
    (event, webhook, entry_id, status, next_at, last_error, created_at, updated_at)
SELECT id, ?, entry_id, ?, ?, ?, ?, ? FROM events WHERE event_id = ? AND id > ?;

-- name: oldest_fresh
-- When the oldest fresh delivery of a coalescing webhook (pending, not redelivered) was stored.
SELECT min(updated_at) FROM deliveries
WHERE webhook = ? AND status = 'pending' AND next_at IS NOT NULL AND NOT alone;

-- name: coalesce_window
-- A coalescing webhook's fresh deliveries fall due together (cometwatch.coalescing says when).
-- A redelivered one stays due now.
UPDATE deliveries SET next_at = :due
WHERE webhook = :hook AND status = 'pending' AND next_at IS NOT NULL AND NOT alone;

-- name: due
-- Due open deliveries heading their entry's queue: no earlier delivery of the same entry to
-- the same webhook is still open (pending or waiting for a retry).
SELECT d.id, d.webhook, d.status, d.next_at, d.attempts, d.retry_base, d.last_code,
       d.last_error, d.coalesced_into, d.created_at, d.updated_at, e.event_id, e.name,
       e.occurred_at, e.collection, e.entry_id, e.slug, e.commit_sha, e.path
FROM deliveries AS d JOIN events AS e ON e.id = d.event
WHERE d.webhook = ? AND d.next_at <= ?
  AND NOT EXISTS (SELECT 1 FROM deliveries AS p
                  WHERE p.webhook = d.webhook AND p.entry_id = d.entry_id
                    AND p.next_at IS NOT NULL AND p.id < d.id)
ORDER BY d.next_at, d.id
LIMIT ?;

-- name: latest_open
-- The open delivery a coalescing webhook's burst goes out as (a redelivered one goes alone).
SELECT d.id, d.webhook, d.status, d.next_at, d.attempts, d.retry_base, d.last_code,
       d.last_error, d.coalesced_into, d.created_at, d.updated_at, e.event_id, e.name,
       e.occurred_at, e.collection, e.entry_id, e.slug, e.commit_sha, e.path
FROM deliveries AS d JOIN events AS e ON e.id = d.event
WHERE d.webhook = ? AND d.next_at IS NOT NULL AND NOT d.alone
ORDER BY d.id DESC
LIMIT 1;

-- name: due_alone
-- A redelivered delivery of a coalescing webhook, due: sent by itself, before any burst.
SELECT d.id, d.webhook, d.status, d.next_at, d.attempts, d.retry_base, d.last_code,
       d.last_error, d.coalesced_into, d.created_at, d.updated_at, e.event_id, e.name,
       e.occurred_at, e.collection, e.entry_id, e.slug, e.commit_sha, e.path
FROM deliveries AS d JOIN events AS e ON e.id = d.event
WHERE d.webhook = ? AND d.next_at <= ? AND d.alone
ORDER BY d.next_at, d.id
LIMIT 1;

-- name: next_due
SELECT min(next_at) FROM deliveries WHERE next_at > ? AND webhook IN (/*names*/);

-- name: next_fresh
SELECT min(next_at) FROM deliveries
WHERE next_at > ? AND status = 'pending' AND webhook IN (/*names*/);

-- name: in_windows
-- Per webhook, deliveries not attempted yet that fall due later (a coalescing window), and when.
SELECT webhook, count(*), min(next_at) FROM deliveries
WHERE next_at > ? AND status = 'pending' AND webhook IN (/*names*/)
GROUP BY webhook ORDER BY webhook;

-- name: coalesce
UPDATE deliveries
SET status = 'coalesced', next_at = NULL, coalesced_into = ?, updated_at = ?
WHERE webhook = ? AND next_at IS NOT NULL AND id < ? AND NOT alone;

-- name: insert_attempt
INSERT INTO attempts (delivery, started_at, code, duration, error, answer, headers)
VALUES (?, ?, ?, ?, ?, ?, ?);

-- name: settle
-- A delivery settled while its attempt was in flight (skipped: its webhook was disabled)
-- stays settled unless the attempt succeeded.
UPDATE deliveries
SET status = CASE WHEN next_at IS NULL AND :status != 'ok' THEN status ELSE :status END,
    next_at = CASE WHEN next_at IS NULL AND :status != 'ok' THEN NULL ELSE :next_at END,
    attempts = attempts + 1, last_code = :code, last_error = :error, updated_at = :at
WHERE id = :id;

-- name: webhook_state
SELECT name, disabled_at, disabled_reason, failing_since, last_success
FROM webhooks WHERE name = ?;

-- name: save_webhook_health
INSERT INTO webhooks (name, failing_since, last_success) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    failing_since = excluded.failing_since, last_success = excluded.last_success;

-- name: webhook_states
SELECT name, disabled_at, disabled_reason, failing_since, last_success
FROM webhooks ORDER BY name;

-- name: disabled_names
SELECT name FROM webhooks WHERE disabled_at IS NOT NULL;

-- name: disable_webhook
INSERT INTO webhooks (name, disabled_at, disabled_reason) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET
    disabled_at = excluded.disabled_at, disabled_reason = excluded.disabled_reason;

-- name: skip_open
UPDATE deliveries SET status = 'skipped', next_at = NULL, last_error = ?, updated_at = ?
WHERE webhook = ? AND next_at IS NOT NULL;

-- name: enable_webhook
UPDATE webhooks SET disabled_at = NULL, disabled_reason = NULL, failing_since = NULL
WHERE name = ? AND disabled_at IS NOT NULL;

-- name: deliveries
SELECT d.id, d.webhook, d.status, d.next_at, d.attempts, d.retry_base, d.last_code,
       d.last_error, d.coalesced_into, d.created_at, d.updated_at, e.event_id, e.name,
       e.occurred_at, e.collection, e.entry_id, e.slug, e.commit_sha, e.path
FROM deliveries AS d JOIN events AS e ON e.id = d.event
WHERE (:hook IS NULL OR d.webhook = :hook) AND (:status IS NULL OR d.status = :status)
ORDER BY d.id DESC
LIMIT :limit;

-- name: delivery
SELECT d.id, d.webhook, d.status, d.next_at, d.attempts, d.retry_base, d.last_code,
       d.last_error, d.coalesced_into, d.created_at, d.updated_at, e.event_id, e.name,
       e.occurred_at, e.collection, e.entry_id, e.slug, e.commit_sha, e.path
FROM deliveries AS d JOIN events AS e ON e.id = d.event
WHERE d.id = ?;

-- name: attempts
SELECT started_at, code, duration, error, answer, headers FROM attempts WHERE delivery = ?
ORDER BY id;

-- name: counts
SELECT webhook, status, count(*) FROM deliveries GROUP BY webhook, status ORDER BY webhook;

-- name: replay
UPDATE deliveries
SET status = 'pending', next_at = ?, retry_base = attempts, coalesced_into = NULL, alone = 1,
    updated_at = ?
WHERE id = ?;

-- name: recover
UPDATE deliveries
SET status = 'pending', next_at = ?, retry_base = attempts, alone = 0, updated_at = ?
WHERE webhook = ? AND status IN ('dead', 'skipped') AND next_at IS NULL AND updated_at >= ?
RETURNING id;

-- name: undelivered_since
-- Events at or after a moment that have no delivery to a webhook (stored while it was off or
-- not configured), in derivation order.
SELECT e.id, e.name, e.collection, e.stored_at FROM events AS e
WHERE e.occurred_at >= :since
  AND NOT EXISTS (SELECT 1 FROM deliveries AS d WHERE d.event = e.id AND d.webhook = :hook)
ORDER BY e.id;

-- name: add_delivery
INSERT INTO deliveries (event, webhook, entry_id, status, next_at, created_at, updated_at)
SELECT id, :hook, entry_id, 'pending', :now, :now, :now FROM events WHERE id = :event
RETURNING id;

-- name: purge_horizon
SELECT coalesce(max(before), 0) FROM purge_horizon;

-- name: raise_purge_horizon
INSERT INTO purge_horizon (id, before) VALUES (1, ?)
ON CONFLICT (id) DO UPDATE SET before = max(before, excluded.before);

-- name: purge_attempts
DELETE FROM attempts
WHERE delivery IN (SELECT id FROM deliveries WHERE next_at IS NULL AND updated_at < ?);

-- name: purge_deliveries
DELETE FROM deliveries WHERE next_at IS NULL AND updated_at < ?;

-- (dispatch) Added for the dispatcher and `status`; not part of the ledger/cursor code.

-- name: open_counts
-- Open deliveries (pending, or failed and waiting for a retry) per webhook, through the
-- partial index: as cheap with a long history as with none.
SELECT webhook, count(*) FROM deliveries WHERE next_at IS NOT NULL GROUP BY webhook;

-- name: open_total
-- The daemon's STATUS= line, every few seconds: the open deliveries of every webhook, counted
-- in the partial index alone (no row is read, settled history is not in it).
SELECT count(*) FROM deliveries WHERE next_at IS NOT NULL;

-- (metrics) Read at each scrape of /metrics, through migration 5's covering indexes.

-- name: outbox_gauges
SELECT webhook, status, count(*), min(next_at) FROM deliveries WHERE next_at IS NOT NULL
GROUP BY webhook, status;

-- name: dead_counts
SELECT webhook, count(*) FROM deliveries WHERE status = 'dead' GROUP BY webhook;

-- name: event_names_after
SELECT name, count(*) FROM events WHERE id > ? GROUP BY name;

-- The Webhooks page (cometwatch.web.admin).

-- name: admin_token
SELECT sha256 FROM admin_token WHERE id = 1;

-- name: put_admin_token
INSERT OR IGNORE INTO admin_token (id, sha256, created_at) VALUES (1, ?, ?);

-- name: find_deliveries
SELECT d.id, d.webhook, d.status, d.next_at, d.attempts, d.retry_base, d.last_code,
       d.last_error, d.coalesced_into, d.created_at, d.updated_at, e.event_id, e.name,
       e.occurred_at, e.collection, e.entry_id, e.slug, e.commit_sha, e.path
FROM deliveries AS d JOIN events AS e ON e.id = d.event
WHERE (:hook IS NULL OR d.webhook = :hook) AND (:status IS NULL OR d.status = :status)
  AND (:event IS NULL OR e.name = :event)
  AND (:entry IS NULL OR e.entry_id = :entry OR e.slug = :entry
       OR e.path = CAST(:entry AS BLOB))  -- paths are stored as the bytes git gave
  AND (:before IS NULL OR d.id < :before)
ORDER BY d.id DESC
LIMIT :limit;

-- name: attempts_since
SELECT d.webhook, a.started_at, a.code, a.duration, a.error
FROM attempts AS a JOIN deliveries AS d ON d.id = a.delivery
WHERE a.started_at >= ?
ORDER BY a.started_at;

-- name: deliveries_since
SELECT webhook, created_at, status FROM deliveries WHERE created_at >= ? ORDER BY created_at;

-- name: entries_built
SELECT 1 FROM entries_built WHERE branch = ?;

-- name: mark_entries_built
INSERT OR IGNORE INTO entries_built (branch) VALUES (?);

-- name: clear_entries
DELETE FROM entries WHERE branch = ?;

-- name: drop_entry
DELETE FROM entries WHERE branch = ? AND path = ?;

-- name: put_entry
INSERT OR REPLACE INTO entries (branch, path, entry_id, collection, slug, locale, rank, blob,
                                body_at, trashed, listed, visible_from, visible_until, title,
                                data, created_at, updated_at, published_at, published_since,
                                deleted_at, author, updated_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?);

-- name: entry_dates
SELECT entry_id, created_at, updated_at, published_since, deleted_at, author, updated_by
FROM entries WHERE branch = ? AND entry_id IN (/*ids*/);

-- name: entries
SELECT path, entry_id, collection, slug, locale, rank, blob, body_at, trashed, listed,
       visible_from, visible_until, title, data, created_at, updated_at, published_at,
       published_since, deleted_at, author, updated_by
FROM entries WHERE branch = ?;

-- name: cursor_mark
SELECT commit_sha, generation FROM cursors WHERE branch = ?;
