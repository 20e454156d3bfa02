"""The state store: the only module that imports sqlite3.

One SQLite file in WAL mode holds, per branch, the cursor and the engine's ledger (a row per
entry, timer, minted path and deleted entry, so a scan writes only the rows it changed), and
the outbox: events, one delivery per (event, webhook), every attempt, and the webhooks' own
state (disabled by a 410). A scan writes its events, deliveries, ledger changes and cursor in
one transaction, so a crash at any moment loses nothing and derives nothing twice. It reads the
ledger rows a chunk of commits touches before it derives them (`ledger_rows`: one query),
within one snapshot (`reading`). The ledger's rows are text to this module: only
cometwatch.identity knows their shape.

A delivery is open while `next_at` is set (pending, or failed and waiting for its retry);
settling it (ok, dead, skipped, coalesced) clears `next_at`, so the dispatcher's queries only
touch the open rows through partial indexes, however long the history grows.

One Store is one connection: use it from one thread at a time (the dispatcher's threads each
open their own). The schema is versioned with PRAGMA user_version; a database written by a
newer cometwatch is refused, never downgraded.
"""

from __future__ import annotations

import json
import os
import sqlite3
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cometwatch.coalescing import Window, burst_due
from cometwatch.errors import CursorMoved, NoState, StateError
from cometwatch.identity import LedgerDelta
from cometwatch.outbox import Attempt, Delivery, DeliveryStatus, Verdict, WebhookState
from cometwatch.payload import ContentEvent
from cometwatch.redaction import masked_headers
from cometwatch.retry import health_after
from cometwatch.sql import MIGRATIONS, QUERIES

if TYPE_CHECKING:
    from cometwatch.config import Config
    from cometwatch.projection import EntryDates, EntryRow, EntryRows


class GitDirs(Protocol):
    """What the store needs of a repository (cometwatch.gitrepo.Repository has it): where its
    common git dir is. The store never opens one itself."""

    @property
    def common_dir(self) -> Path: ...

__all__ = ["Attempt", "CursorMoved", "CursorState", "Delivery", "DeliveryStatus", "LedgerRows",
           "Recovered", "SavedScan", "Store", "Verdict", "WebhookState"]

SCHEMA_VERSION = len(MIGRATIONS)
ANSWER_BYTES = 4096  # of each answer body, what an attempt keeps


@dataclass(frozen=True, slots=True)
class CursorState:
    branch: str
    commit: str
    generation: int  # +1 per write: a scan derived from an older one must start again
    next_timer: float | None
    scanned_at: float
    updated_at: float
    rules: str | None = None  # fingerprint of the content rules the ledger was built under


@dataclass(frozen=True, slots=True)
class SavedScan:
    events: int  # new event rows (the others were already stored)
    deliveries: int
    generation: int


@dataclass(frozen=True, slots=True)
class Recovered:
    reopened: list[int]  # deliveries that died or were skipped, open again
    created: list[int]  # deliveries the webhook never had, for events stored meanwhile
    forgotten: int  # events it wants that were stored before the purge's horizon: left out


class Store:
    def __init__(self, connection: sqlite3.Connection, path: Path,
                 writer: AbstractContextManager[Any] | None = None) -> None:
        self._db = connection
        self.path = path
        self._writer = writer if writer is not None else nullcontext()
        self._reading = False
        self.ledger_rows_read = 0  # rows of the ledger this Store has read: a scan's cost

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, create: bool = True,
             writer: AbstractContextManager[Any] | None = None) -> Store:
        """Open (and create or migrate) the database at `path`. Stores of one process that
        share a `writer` lock take turns to write in Python: SQLite's own busy wait sleeps
        whole milliseconds, which threads writing a few rows each cannot afford."""
        if not create and not path.exists():
            raise NoState(f"{path}: no state yet (run `cometwatch scan` first)")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, timeout=30.0, isolation_level=None,
                                         check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"{path}: cannot open the state database: {exc}") from exc
        store = cls(connection, path, writer)
        try:
            with store._guard("open"):
                connection.execute("PRAGMA journal_mode = WAL")
                # NORMAL in WAL mode: a crash of the process loses nothing; a power loss may
                # undo the last transactions, cursor and events together.
                connection.execute("PRAGMA synchronous = NORMAL")
                connection.execute("PRAGMA foreign_keys = ON")
                store._migrate()
        except BaseException:
            connection.close()
            raise
        return store

    @classmethod
    def open_reader(cls, path: Path) -> Store:
        """A read-only connection (the web API's): it never migrates nor writes. A database
        of another schema version is refused: the process that writes it migrates it."""
        try:
            connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                         timeout=30.0, isolation_level=None,
                                         check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StateError(f"{path}: cannot open the state database: {exc}") from exc
        store = cls(connection, path)
        try:
            with store._guard("open"):
                version = store.schema_version
            if version != SCHEMA_VERSION:
                raise StateError(f"{path}: schema {version}, this cometwatch reads "
                                 f"{SCHEMA_VERSION}: run `cometwatch scan` to migrate it")
        except BaseException:
            connection.close()
            raise
        return store

    @staticmethod
    def default_path(config: Config, repo: GitDirs,
                     environ: Mapping[str, str] | None = None) -> Path:
        """`[state] path`, else $STATE_DIRECTORY/state.db under systemd, else
        <git dir>/cometwatch/state.db (the common git dir: worktrees share one state)."""
        chosen = _chosen_path(config, os.environ if environ is None else environ)
        return chosen or repo.common_dir / "cometwatch" / "state.db"

    @classmethod
    def for_config(cls, config: Config, common_dir: Callable[[], Path], create: bool = True
                   ) -> Store:
        """The store a config points at, for commands that need no branch; `common_dir` finds
        the repository's common git dir, asked only when the state lives there."""
        path = _chosen_path(config, os.environ)
        return cls.open(path or common_dir() / "cometwatch" / "state.db", create)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StateError(f"{self.path}: written by a newer cometwatch (schema {version}; "
                             f"this one knows up to {SCHEMA_VERSION}): upgrade cometwatch, or "
                             "set [state] path to another file")
        if version == SCHEMA_VERSION:
            return
        with self._write():
            version = self.schema_version  # another process may have migrated meanwhile
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in _statements(script):
                    self._db.execute(statement)
                if number == _LEDGER_ROWS:
                    self._ledger_blobs_to_rows()
                self._db.execute(f"PRAGMA user_version = {number}")

    def _ledger_blobs_to_rows(self) -> None:
        """Migration 2: each ledger stored as one BLOB becomes rows, then the BLOBs go."""
        from cometwatch.identity import Ledger

        for branch, blob in self._db.execute(QUERIES["ledger_blobs"]).fetchall():
            try:
                delta = Ledger.from_json(json.loads(zlib.decompress(blob))).delta()
            except (zlib.error, KeyError, TypeError, ValueError) as exc:
                raise StateError(f"{self.path}: the stored ledger of {branch!r} cannot be "
                                 f"converted ({exc}); move the state file away and run "
                                 "`cometwatch scan` again") from exc
            _write_ledger(self._db, branch, delta)
            self._db.execute(QUERIES["set_ledger_head"], (delta.version, delta.clock,
                                                          branch))
        self._db.execute(QUERIES["drop_ledger_blobs"])

    # -- transactions ---------------------------------------------------------------------

    @contextmanager
    def _guard(self, doing: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StateError(f"{self.path}: {doing} failed: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken up front so it never fails half-way on a lock. Within
        `reading`, it ends the snapshot and starts another after it."""
        with self._writer:
            if self._reading and self._db.in_transaction:
                self._db.execute("COMMIT")  # of a read: nothing to write
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            finally:
                if self._reading and not self._db.in_transaction:
                    self._db.execute("BEGIN")  # the next snapshot starts at the next read

    def _rows(self, name: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Any]:
        with self._guard(name.replace("_", " ")):
            return self._db.execute(QUERIES[name], params).fetchall()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """One snapshot for every read within (a scan's cursor and the ledger rows it looks up
        as it derives), so they all belong to one stored scan. A write within ends it and the
        next read takes a new one: a scan that wrote reads on after what it wrote."""
        if self._reading:
            yield
            return
        with self._guard("reading the state"):
            self._db.execute("BEGIN")
        self._reading = True
        try:
            yield
        finally:
            self._reading = False
            if self._db.in_transaction:
                with self._guard("reading the state"):
                    self._db.execute("COMMIT")

    # -- cursor and ledger ----------------------------------------------------------------

    def cursor(self, branch: str) -> CursorState | None:
        rows = self._rows("cursor", (branch,))
        return _cursor(rows[0]) if rows else None

    def cursors(self) -> list[CursorState]:
        return [_cursor(row) for row in self._rows("cursors")]

    def ledger(self, branch: str) -> tuple[int, float, dict[str, dict[str, str]]] | None:
        """The engine's ledger as stored with the cursor, read whole: (version, clock, part →
        key → row text), for identity.Ledger.from_rows."""
        head = self.ledger_head(branch)
        if head is None:
            return None
        parts: dict[str, dict[str, str]] = {}
        for part, rows in groupby(self._rows("ledger_rows", (branch,)), itemgetter(0)):
            parts[part] = {path_text(key): value for _, key, value in rows}
        return head[0], head[1], parts

    def ledger_head(self, branch: str) -> tuple[int, float] | None:
        """The stored ledger's (version, clock), or None without a cursor."""
        head = self._rows("ledger_head", (branch,))
        return (int(head[0][0]), float(head[0][1])) if head else None

    def ledger_rows(self, branch: str) -> LedgerRows:
        """The stored ledger rows of `branch`, as identity.StoredRows asks for them."""
        return LedgerRows(self, branch)

    def _ledger_keys(self, branch: str, wanted: Mapping[str, Collection[str]]
                     ) -> dict[str, dict[str, str]]:
        pairs = [(part, path_bytes(key)) for part, keys in wanted.items() for key in keys]
        found: dict[str, dict[str, str]] = {}
        for start in range(0, len(pairs), _KEYS):  # one query, unless it is huge (a bulk import)
            parts = [(part, [key for _, key in group]) for part, group
                     in groupby(pairs[start:start + _KEYS], itemgetter(0))]
            query = " UNION ALL ".join(
                QUERIES["ledger_keys"].replace("/*keys*/", ",".join("?" * len(keys)))
                for _, keys in parts)
            params = [value for part, keys in parts for value in (branch, part, *keys)]
            with self._guard("reading the ledger"):
                rows = self._db.execute(query, params).fetchall()
            self.ledger_rows_read += len(rows)
            for part, key, value in rows:
                found.setdefault(part, {})[path_text(key)] = value
        return found

    def _ledger_part(self, branch: str, part: str) -> dict[str, str]:
        rows = self._rows("ledger_part", (branch, part))
        self.ledger_rows_read += len(rows)
        return {path_text(key): value for key, value in rows}

    def touch(self, branch: str, now: float) -> None:
        """A scan found nothing new: only the time of the last scan changes."""
        with self._guard("recording the scan time"), self._write() as db:
            db.execute(QUERIES["touch"], (now, branch))

    def save_scan(self, branch: str, expected: int | None, commit: str,
                  ledger: LedgerDelta | None, next_timer: float | None,
                  events: Sequence[ContentEvent], routes: Iterable[tuple[str, str]],
                  windows: Mapping[str, tuple[float, float]], now: float,
                  rules: str | None = None, entries: EntryRows | None = None) -> SavedScan:
        """Store a scan in one transaction: the events, a delivery per (event id, webhook
        name) route, the ledger's changes (Ledger.delta(); None when none) and the cursor,
        with the fingerprint of the content rules (None keeps the stored one), and the
        projection's `entries` (cometwatch.projection; None: not kept). An event id
        already stored is kept as it was and gets no deliveries: nothing is delivered twice.

        `expected` is the cursor generation the scan started from (None: no cursor); if the
        stored one differs, nothing is written and CursorMoved is raised. `windows` holds the
        coalescing webhooks' (window, max_wait) (cometwatch.coalescing.windows): their fresh
        deliveries all become due together, when coalescing.burst_due says.
        """
        with self._guard("storing the scan"), self._write() as db:
            row = db.execute(QUERIES["generation"], (branch,)).fetchone()
            found = None if row is None else int(row[0])
            if found != expected:
                raise CursorMoved(f"the cursor of {branch!r} moved during the scan")
            floor = int(db.execute(QUERIES["last_event"]).fetchone()[0])
            added = db.executemany(QUERIES["insert_event"], (
                (e.event_id, e.name, e.occurred_at, e.collection, e.entry_id, e.slug, e.commit,
                 path_bytes(e.path), now) for e in events)).rowcount
            disabled = {name for (name,) in db.execute(QUERIES["disabled_names"])}
            touched: set[str] = set()

            def rows() -> Iterator[tuple[Any, ...]]:
                for event_id, hook in routes:
                    touched.add(hook)
                    if hook in disabled:
                        yield (hook, DeliveryStatus.SKIPPED.value, None, "webhook disabled",
                               now, now, event_id, floor)
                    else:
                        due = now + windows[hook][0] if hook in windows else now
                        yield (hook, DeliveryStatus.PENDING.value, due, None, now, now, event_id,
                               floor)

            created = db.executemany(QUERIES["insert_delivery"], rows()).rowcount
            for hook in sorted(touched & windows.keys()):
                oldest = db.execute(QUERIES["oldest_fresh"], (hook,)).fetchone()[0]
                due = burst_due(now if oldest is None else oldest, now, Window(*windows[hook]))
                db.execute(QUERIES["coalesce_window"], {"hook": hook, "due": due})
            generation = (found or 0) + 1
            if ledger is not None:
                _write_ledger(db, branch, ledger)
            if entries is not None:
                _write_entries(db, branch, entries)
            db.execute(QUERIES["save_cursor"], {
                "branch": branch, "commit": commit, "generation": generation,
                "next_timer": next_timer, "now": now, "version": ledger and ledger.version,
                "clock": ledger and ledger.clock, "rules": rules})
        return SavedScan(max(added, 0), max(created, 0), generation)

    # -- the entries at the cursor (cometwatch.projection; the Public API reads them) ------

    def entries_built(self, branch: str) -> bool:
        """Whether the branch's entry rows are complete (a state migrated from before they
        were kept has none until its next scan writes them all)."""
        return bool(self._rows("entries_built", (branch,)))

    def entry_dates(self, branch: str, entry_ids: Sequence[str]) -> dict[str, EntryDates]:
        from cometwatch.projection import EntryDates

        out: dict[str, EntryDates] = {}
        for start in range(0, len(entry_ids), 500):
            chunk = list(entry_ids[start:start + 500])
            query = QUERIES["entry_dates"].replace("/*ids*/", ",".join("?" * len(chunk)))
            with self._guard("reading entry dates"):
                for row in self._db.execute(query, (branch, *chunk)).fetchall():
                    out[row[0]] = EntryDates(*row[1:])
        return out

    def cursor_mark(self, branch: str) -> tuple[str, int] | None:
        """(commit, generation) of the branch's cursor: what the API's snapshot is keyed by."""
        rows = self._rows("cursor_mark", (branch,))
        return (str(rows[0][0]), int(rows[0][1])) if rows else None

    def entries_at(self, branch: str) -> tuple[str, int, list[EntryRow]] | None:
        """The cursor's (commit, generation) and every entry row, from one snapshot."""
        from cometwatch.projection import EntryRow

        with self._guard("reading the entries"):
            self._db.execute("BEGIN")
            try:
                mark = self._db.execute(QUERIES["cursor_mark"], (branch,)).fetchone()
                rows = self._db.execute(QUERIES["entries"], (branch,)).fetchall()
            finally:
                self._db.execute("COMMIT")
        if mark is None:
            return None
        return str(mark[0]), int(mark[1]), [
            EntryRow(path_text(r[0]), r[1], r[2], r[3], r[4], int(r[5]), r[6], int(r[7]),
                     bool(r[8]), bool(r[9]), r[10], r[11], r[12], r[13], float(r[14]),
                     float(r[15]), r[16], r[17], r[18], r[19], r[20]) for r in rows]

    # -- dispatching ----------------------------------------------------------------------

    def due(self, webhook: str, now: float, limit: int) -> list[Delivery]:
        """Open deliveries of `webhook` due at `now` that head their entry's queue (no earlier
        open delivery of the same entry to this webhook), earliest first."""
        return [_delivery(row) for row in self._rows("due", (webhook, now, limit))]

    def latest_open(self, webhook: str) -> Delivery | None:
        """The newest open delivery of `webhook`, redelivered ones left out: what a coalescing
        webhook's burst goes out as."""
        rows = self._rows("latest_open", (webhook,))
        return _delivery(rows[0]) if rows else None

    def due_alone(self, webhook: str, now: float) -> Delivery | None:
        """A redelivered delivery of `webhook` due at `now`: a coalescing webhook sends it by
        itself, never coalesced."""
        rows = self._rows("due_alone", (webhook, now))
        return _delivery(rows[0]) if rows else None

    def next_due(self, webhooks: Sequence[str], after: float,
                 fresh_only: bool = False) -> float | None:
        """The earliest moment after `after` at which an open delivery of these webhooks falls
        due; with `fresh_only`, only deliveries not attempted yet (a coalescing window)."""
        if not webhooks:
            return None
        marks = ",".join("?" * len(webhooks))
        query = QUERIES["next_fresh" if fresh_only else "next_due"].replace("/*names*/", marks)
        with self._guard("finding the next due delivery"):
            row = self._db.execute(query, (after, *webhooks)).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def in_windows(self, webhooks: Sequence[str], after: float) -> dict[str, tuple[int, float]]:
        """Per webhook, (deliveries not attempted yet that fall due after `after`, the first
        moment one does): those waiting for a coalescing window to close."""
        if not webhooks:
            return {}
        query = QUERIES["in_windows"].replace("/*names*/", ",".join("?" * len(webhooks)))
        with self._guard("finding coalescing windows"):
            rows = self._db.execute(query, (after, *webhooks)).fetchall()
        return {row[0]: (int(row[1]), float(row[2])) for row in rows}

    def coalesce(self, webhook: str, into: int, now: float) -> int:
        """Settle the open deliveries of `webhook` older than `into` as coalesced into it,
        redelivered ones left out."""
        with self._guard("coalescing deliveries"), self._write() as db:
            return int(db.execute(QUERIES["coalesce"], (into, now, webhook, into)).rowcount)

    def record(self, delivery: Delivery, attempt: Attempt, status: DeliveryStatus,
               next_at: float | None) -> WebhookState:
        """Record one attempt and the delivery's new state; returns its webhook's state."""
        verdict = Verdict(status, next_at, None)
        return self.record_many([(delivery, attempt, verdict)])[delivery.webhook]

    def record_many(self, results: Sequence[tuple[Delivery, Attempt, Verdict]]
                    ) -> dict[str, WebhookState]:
        """Record attempts and their deliveries' new states in one transaction (a group
        commit for the dispatcher's threads); returns the state of each webhook concerned."""
        with self._guard("recording attempts"), self._write() as db:
            db.executemany(QUERIES["insert_attempt"], (
                (delivery.id, attempt.started_at, attempt.code, attempt.duration, attempt.error,
                 attempt.answer[:ANSWER_BYTES], _headers_json(attempt.headers))
                for delivery, attempt, _ in results))
            db.executemany(QUERIES["settle"], (
                {"status": verdict.status.value, "next_at": verdict.next_at,
                 "code": attempt.code,
                 "error": None if verdict.status is DeliveryStatus.OK else attempt.error,
                 "at": attempt.started_at + attempt.duration, "id": delivery.id}
                for delivery, attempt, verdict in results))
            states: dict[str, WebhookState] = {}
            for name in dict.fromkeys(delivery.webhook for delivery, _, _ in results):
                row = db.execute(QUERIES["webhook_state"], (name,)).fetchone()
                state = _webhook_state(row) if row else WebhookState(name, None, None, None,
                                                                     None)
                failing, success = health_after(
                    state.failing_since, state.last_success,
                    ((attempt.started_at, verdict.status is DeliveryStatus.OK)
                     for delivery, attempt, verdict in results if delivery.webhook == name))
                db.execute(QUERIES["save_webhook_health"], (name, failing, success))
                states[name] = WebhookState(name, state.disabled_at, state.disabled_reason,
                                            failing, success)
        return states

    # -- webhooks -------------------------------------------------------------------------

    def webhook_states(self) -> dict[str, WebhookState]:
        return {row[0]: _webhook_state(row) for row in self._rows("webhook_states")}

    def disabled_webhooks(self) -> set[str]:
        return {row[0] for row in self._rows("disabled_names")}

    def disable_webhook(self, name: str, reason: str, now: float) -> int:
        """Disable a webhook; its open deliveries become skipped. Returns how many."""
        with self._guard("disabling a webhook"), self._write() as db:
            db.execute(QUERIES["disable_webhook"], (name, now, reason))
            return int(db.execute(QUERIES["skip_open"], (f"webhook disabled: {reason}", now,
                                                         name)).rowcount)

    def enable_webhook(self, name: str) -> bool:
        """Enable a webhook again; False when it was not disabled."""
        with self._guard("enabling a webhook"), self._write() as db:
            return int(db.execute(QUERIES["enable_webhook"], (name,)).rowcount) > 0

    # -- inspecting and replaying ---------------------------------------------------------

    def deliveries(self, webhook: str | None = None, status: DeliveryStatus | None = None,
                   limit: int = 50) -> list[Delivery]:
        """The newest deliveries first, optionally of one webhook and in one state."""
        rows = self._rows("deliveries", {"hook": webhook, "status": status and status.value,
                                         "limit": limit})
        return [_delivery(row) for row in rows]

    def delivery(self, delivery_id: int) -> Delivery | None:
        rows = self._rows("delivery", (delivery_id,))
        return _delivery(rows[0]) if rows else None

    def attempts(self, delivery_id: int) -> list[Attempt]:
        return [Attempt(row[0], row[1], row[2], row[3], bytes(row[4]),
                        headers=_headers_read(row[5]))
                for row in self._rows("attempts", (delivery_id,))]

    def counts(self) -> dict[str, dict[DeliveryStatus, int]]:
        """Deliveries per webhook and state."""
        out: dict[str, dict[DeliveryStatus, int]] = {}
        for hook, status, count in self._rows("counts"):
            out.setdefault(hook, {})[DeliveryStatus(status)] = int(count)
        return out

    def replay(self, delivery_ids: Iterable[int], now: float) -> list[int]:
        """Open these deliveries again, due now, with a fresh retry schedule, each to be sent
        by itself (a coalescing webhook never merges it into a burst); returns the ids found
        (the others do not exist, or were purged)."""
        ids = list(dict.fromkeys(delivery_ids))
        with self._guard("replaying deliveries"), self._write() as db:
            found = [i for i in ids if db.execute(QUERIES["replay"], (now, now, i)).rowcount]
        return found

    def recover(self, webhook: str, since: float, now: float,
                wants: Callable[[str, str], bool] | None = None) -> Recovered:
        """Open again every delivery of `webhook` that died or was skipped at or after
        `since`, due now with a fresh schedule; and with `wants` (event name, collection →
        bool), create the deliveries it never had for the events that occurred at or after
        `since` (stored while it was off or not configured), due now, in derivation order.

        Events stored before the purge's horizon are left out (`Recovered.forgotten`): their
        delivery may have been sent and purged since, and would go out twice."""
        with self._guard("recovering deliveries"), self._write() as db:
            rows = db.execute(QUERIES["recover"], (now, now, webhook, since)).fetchall()
            created: list[int] = []
            forgotten = 0
            if wants is not None:
                horizon = float(db.execute(QUERIES["purge_horizon"]).fetchone()[0])
                for event, name, collection, stored_at in db.execute(
                        QUERIES["undelivered_since"], {"since": since, "hook": webhook}
                        ).fetchall():
                    if not wants(name, collection):
                        continue
                    if stored_at < horizon:
                        forgotten += 1
                        continue
                    created.append(int(db.execute(QUERIES["add_delivery"], {
                        "hook": webhook, "now": now, "event": event}).fetchone()[0]))
        return Recovered(sorted(int(row[0]) for row in rows), created, forgotten)

    def purge(self, before: float) -> int:
        """Forget settled deliveries (and their attempts) last changed before `before`. Events
        stay: their ids keep a later backfill from deriving them twice. The horizon is kept, so
        `recover` never takes a purged delivery for one never made."""
        with self._guard("purging old deliveries"), self._write() as db:
            db.execute(QUERIES["raise_purge_horizon"], (before,))
            db.execute(QUERIES["purge_attempts"], (before,))
            return int(db.execute(QUERIES["purge_deliveries"], (before,)).rowcount)

    # -- (dispatch) added for the dispatcher and `status` ----------------------------------

    def open_counts(self) -> dict[str, int]:
        """Open deliveries (pending, or waiting for a retry) per webhook name."""
        return {row[0]: int(row[1]) for row in self._rows("open_counts")}

    # -- (metrics) read at each scrape of /metrics -----------------------------------------

    def open_total(self) -> int:
        """Open deliveries (pending, or failed and waiting for a retry) of every webhook, by
        the partial index: milliseconds at 100,000 open, however long the settled history."""
        return int(self._rows("open_total")[0][0])

    def outbox_gauges(self) -> list[tuple[str, str, int, float]]:
        """(webhook, status, open deliveries, the earliest next_at) per webhook and open
        state, through a covering index."""
        return [(row[0], row[1], int(row[2]), float(row[3]))
                for row in self._rows("outbox_gauges")]

    def dead_counts(self) -> dict[str, int]:
        """Dead deliveries (kept for `redeliver` until purged) per webhook."""
        return {row[0]: int(row[1]) for row in self._rows("dead_counts")}

    def last_event_id(self) -> int:
        return int(self._rows("last_event")[0][0])

    def event_names_after(self, event_id: int) -> dict[str, int]:
        """How many events of each name were stored after the one numbered `event_id`."""
        return {row[0]: int(row[1]) for row in self._rows("event_names_after", (event_id,))}


    # -- the Webhooks page (cometwatch.web.admin) ------------------------------------------

    def admin_token_hash(self) -> str | None:
        """The SHA-256 (hex) of the generated admin token; None before the first start."""
        rows = self._rows("admin_token")
        return str(rows[0][0]) if rows else None

    def put_admin_token_hash(self, sha256: str, now: float) -> bool:
        """Keep the hash of a generated admin token; False when one was kept already (by
        another process starting at the same moment): that one stands."""
        with self._guard("keeping the admin token"), self._write() as db:
            return int(db.execute(QUERIES["put_admin_token"], (sha256, now)).rowcount) > 0

    def find_deliveries(self, webhook: str | None = None, status: DeliveryStatus | None = None,
                        event: str | None = None, entry: str | None = None,
                        before: int | None = None, limit: int = 50) -> list[Delivery]:
        """The newest deliveries first, filtered; `entry` matches an entry's id, slug or path,
        `before` pages on (ids below it)."""
        rows = self._rows("find_deliveries", {
            "hook": webhook, "status": status and status.value, "event": event,
            "entry": entry, "before": before, "limit": limit})
        return [_delivery(row) for row in rows]

    def activity_since(self, since: float) -> tuple[list[tuple[str, float, str]],
                                                    list[tuple[str, float, int | None, float,
                                                               str | None]]]:
        """Since `since`: every delivery (webhook, created_at, status) and every attempt
        (webhook, started_at, code, duration, error), oldest first."""
        deliveries = [(str(r[0]), float(r[1]), str(r[2]))
                      for r in self._rows("deliveries_since", (since,))]
        attempts = [(str(r[0]), float(r[1]), r[2], float(r[3]), r[4])
                    for r in self._rows("attempts_since", (since,))]
        return deliveries, attempts


def _chosen_path(config: Config, environ: Mapping[str, str]) -> Path | None:
    if config.state_path is not None:
        return config.state_path
    state_dir = environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(state_dir) / "state.db" if state_dir else None


_LEDGER_ROWS = 2  # the migration after which the BLOB ledgers are written as rows


_KEYS = 20_000  # keys a query asks for: with a branch and a part per part, within SQLite's
# 32,766 variables, and one select per part joined (at most 500: SQLite's compound limit)


@dataclass(frozen=True, slots=True)
class LedgerRows:
    """A branch's stored ledger rows as identity.StoredRows: the rows of the keys wanted (one
    query), or a whole part; row text, as identity wrote it."""

    store: Store
    branch: str

    def rows(self, wanted: Mapping[str, Collection[str]]) -> dict[str, dict[str, str]]:
        return self.store._ledger_keys(self.branch, wanted)

    def part(self, part: str) -> dict[str, str]:
        return self.store._ledger_part(self.branch, part)


def _write_ledger(db: sqlite3.Connection, branch: str, delta: LedgerDelta) -> None:
    if delta.whole:
        db.execute(QUERIES["clear_ledger"], (branch,))
    db.executemany(QUERIES["drop_ledger_row"], ((branch, part, path_bytes(key))
                                                for part, key in delta.drop))
    db.executemany(QUERIES["put_ledger_row"], ((branch, part, path_bytes(key), value)
                                               for part, key, value in delta.put))


def path_bytes(path: str) -> bytes:
    """A path as stored: the bytes git gave (paths are decoded with surrogateescape, so any
    byte, valid UTF-8 or not, comes back). SQLite TEXT must be UTF-8; a BLOB holds anything."""
    return path.encode("utf-8", "surrogateescape")


def path_text(stored: bytes | str) -> str:
    """A stored path back as the engine holds it (TEXT from a state before migration 5)."""
    return stored if isinstance(stored, str) else bytes(stored).decode("utf-8", "surrogateescape")


def _write_entries(db: sqlite3.Connection, branch: str, entries: EntryRows) -> None:
    if entries.whole:
        db.execute(QUERIES["clear_entries"], (branch,))
        db.execute(QUERIES["mark_entries_built"], (branch,))
    db.executemany(QUERIES["drop_entry"], ((branch, path_bytes(path)) for path in entries.drop))
    db.executemany(QUERIES["put_entry"], (
        (branch, path_bytes(r.path), r.entry_id, r.collection, r.slug, r.locale, r.rank, r.blob,
         r.body_at, int(r.trashed), int(r.listed), r.visible_from, r.visible_until, r.title, r.data,
         r.created_at, r.updated_at, r.published_at, r.published_since, r.deleted_at,
         r.author, r.updated_by)
        for r in entries.put))


def _statements(script: str) -> Iterator[str]:
    """A migration's statements, one by one: executescript would commit the transaction
    the migration runs in."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""
    if any(line.strip() and not line.strip().startswith("--")
           for line in pending.splitlines()):
        raise StateError(f"unterminated statement in a migration: {pending.strip()[:60]}")


# -- rows into models (here only) ---------------------------------------------------------

def _cursor(row: Any) -> CursorState:
    return CursorState(row[0], row[1], int(row[2]), row[3], float(row[4]), float(row[5]),
                       row[6])


def _webhook_state(row: Any) -> WebhookState:
    return WebhookState(row[0], row[1], row[2], row[3], row[4])


def _delivery(row: Any) -> Delivery:
    event = ContentEvent(row[11], row[12], int(row[13]), row[14], row[15], row[16], row[17],
                         path_text(row[18]))
    return Delivery(int(row[0]), row[1], DeliveryStatus(row[2]), row[3], int(row[4]),
                    int(row[5]), row[6], row[7], row[8], float(row[9]), float(row[10]), event)


def _headers_json(headers: tuple[tuple[str, str], ...] | None) -> str | None:
    # Masked by the HTTP edge already, and again here whoever made the Attempt: no credential
    # a webhook's own headers carry is ever written to the state.
    if headers is None:
        return None
    return json.dumps(masked_headers(headers), separators=(",", ":"))


def _headers_read(stored: str | None) -> tuple[tuple[str, str], ...] | None:
    if stored is None:
        return None
    try:
        pairs = json.loads(stored)
        return tuple((str(name), str(value)) for name, value in pairs)
    except (ValueError, TypeError):  # a hand-edited state: shown as not recorded
        return None
