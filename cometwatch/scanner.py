"""One pass over the watched branch: derive what happened since the cursor, store it durably.

A scan reads the cursor, runs the engine from the cursor to the tip, fires the scheduled
transitions that fell due, and writes the events, their deliveries, what changed in the ledger
and the new cursor in one transaction: a crash before the commit derives the same events again
(same ids), a crash after it finds them stored. Nothing here sends anything. The ledger is read
as cometwatch.flow fetches it before each chunk of commits (the rows their changes touch, in one
query; the timers whole), within the snapshot the cursor was read in: a scan of one commit costs
the same in any repository.

The cursor also keeps a fingerprint of the content rules the ledger was built under. When the
config's rules differ, the branch is read again under them, silently, as of the cursor (see
`Scanner._reread`), and the commits after it are derived under the new rules.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields

from cometwatch import coalescing
from cometwatch.config import Config, ContentRules, Webhook
from cometwatch.engine import Engine
from cometwatch.errors import StateError
from cometwatch.flow import advance, history, whole
from cometwatch.identity import LEDGER_VERSION, DamagedLedger, Ledger
from cometwatch.payload import ContentEvent
from cometwatch.progress import noun
from cometwatch.projection import Projector
from cometwatch.source import Source
from cometwatch.store import CursorMoved, CursorState, Store
from cometwatch.utc import iso as utc_iso

log = logging.getLogger("cometwatch.scan")

FLUSH_EVENTS = 20_000  # a long backfill is stored in steps of this many events, each atomic
_ATTEMPTS = 3  # scans started again when another process moved the cursor meanwhile


@dataclass(frozen=True, slots=True)
class ScanResult:
    commits: int  # commits read
    events: int  # new events stored
    deliveries: int  # deliveries created (skipped ones included)
    cursor: str | None
    baseline: bool  # a first run: the tip became the cursor, nothing is sent


class Scanner:
    def __init__(self, config: Config, store: Store, source: Source) -> None:
        self._config = config
        self._store = store
        self._source = source
        # The engine after the last scan, and the cursor generation it matches: a daemon does
        # not read and parse its ledger again for every commit.
        self._engine: Engine | None = None
        self._generation: int | None = None
        self._rules = rules_fingerprint(config.repository.rules)
        self._projector = Projector(source.repo.read_blobs, source.repo.commit_time,
                                    source.repo.authors, config.server.authors)

    @property
    def branch(self) -> str:
        return self._source.branch

    def reload(self, config: Config) -> None:
        if config.repository.rules != self._config.repository.rules:
            self._forget()
        self._config = config
        self._rules = rules_fingerprint(config.repository.rules)
        self._projector.mode = config.server.authors

    def next_timer(self) -> float | None:
        """The nearest scheduled publish or expiry moment, as of the last scan."""
        if self._engine is not None:
            return self._engine.next_timer()
        state = self._store.cursor(self.branch)
        return state.next_timer if state else None

    def scan(self, now: float, backfill: str | None = None,
             progress: Callable[[int], None] | None = None) -> ScanResult:
        """Derive cursor → tip and the transitions due at `now`, and store them.

        `backfill`: None (from the cursor; a first run is a silent baseline), "all" (the whole
        history) or a revision (the history after it). Events already stored are kept once.
        Raises RepositoryError when the branch is missing; nothing is written then.
        """
        tip = self._source.tip_or_fail()
        for _ in range(_ATTEMPTS):
            try:
                with self._store.reading():
                    return self._scan(now, tip, backfill, progress)
            except DamagedLedger as exc:
                self._forget()
                raise StateError(f"{self._store.path}: the stored ledger of {self.branch!r} "
                                 f"cannot be read ({exc}); move the state file away and scan "
                                 "again") from exc
            except CursorMoved:
                log.info("another cometwatch process advanced the cursor of %s; deriving again",
                         self.branch)
                self._forget()
            except BaseException:
                self._forget()  # the cached engine may have run ahead of what is stored
                raise
        raise StateError(f"the cursor of {self.branch!r} keeps moving under this scan: is "
                         "another cometwatch scanning the same state file in a loop?")

    # -- the pass -------------------------------------------------------------------------

    def _scan(self, now: float, tip: str, backfill: str | None,
              progress: Callable[[int], None] | None) -> ScanResult:
        repo = self._source.repo
        state = self._store.cursor(self.branch)
        if backfill is None and state is None:
            return self._baseline(now, tip, progress)
        expected = state.generation if state else None
        base: str | None
        if backfill is None:
            assert state is not None
            engine, base = self._engine_at(state), state.commit
            reread = state.rules is not None and state.rules != self._rules
            if reread:
                engine, base = self._reread(engine, base, tip, now, progress)
            due = engine.next_timer()
            if base == tip and not reread and (due is None or due > now) and \
                    self._store.entries_built(self.branch):
                self._store.touch(self.branch, now)
                return ScanResult(0, 0, 0, tip, False)
        else:
            # A backfill starts from an empty ledger, built silently up to its base, so its
            # ids are exactly those of `cometwatch events --all`.
            base = None if backfill == "all" else repo.resolve_or_fail(backfill)
            engine, _ = self._silent(base, progress, now)
        commits = stored = created = 0
        first: int | None = None  # when the earliest event stored occurred
        batch: list[ContentEvent] = []
        rows = self._store.ledger_rows(self.branch)
        for save in history(repo, engine, base, tip, progress, now, rows):
            commits += 1
            batch.extend(save.events)
            if len(batch) >= FLUSH_EVENTS:
                events, deliveries, expected = self._save(expected, save.commit, engine, batch,
                                                          now)
                if events and first is None:
                    first = min(event.occurred_at for event in batch)
                stored, created, batch = stored + events, created + deliveries, []
        batch.extend(advance(engine, now, rows))
        events, deliveries, _ = self._save(expected, tip, engine, batch, now)
        if events and first is None:
            first = min(event.occurred_at for event in batch)
        if first is not None:
            self._tell_unsent(stored + events, first)
        return ScanResult(commits, stored + events, created + deliveries, tip, False)

    def _tell_unsent(self, stored: int, first: int) -> None:
        """Events stored while no webhook is enabled are never sent by a later scan (each is
        stored once): say so, and how to send them once one is."""
        if any(hook.enabled for hook in self._config.webhooks):
            return
        names = [hook.name for hook in self._config.webhooks]
        name = names[0] if len(names) == 1 else "NAME"
        log.warning("%d %s stored while no webhook is enabled: no deliveries made, and a later "
                    "scan will not make them; once a webhook has enabled = true, `cometwatch "
                    "recover --webhook %s --since %s` sends %s", stored,
                    noun(stored, "event"), name, utc_iso(first),
                    "it" if stored == 1 else "them")

    def _baseline(self, now: float, tip: str,
                  progress: Callable[[int], None] | None) -> ScanResult:
        # transitions already past belong to the baseline, not the news
        engine, commits = self._silent(tip, progress, now, now)
        self._save(None, tip, engine, [], now)
        return ScanResult(commits, 0, 0, tip, True)

    def _reread(self, old: Engine, base: str, tip: str, now: float,
                progress: Callable[[int], None] | None) -> tuple[Engine, str]:
        """The branch read again under the config's content rules, silently, as of `base`
        (the last commit scanned under the old ones), with the ids `old` gave entries at the
        same paths. Returns the engine and the commit it stands at.

        Nothing is sent for an entry whose only change is how the rules read it (no flood of
        created or deleted), and the commits after `base` are derived under the new rules, as
        `cometwatch events BASE..` shows them. When `base` is gone from the repository, the
        branch is read as of the tip instead and the commits in between give no events.
        """
        repo = self._source.repo
        at = base if repo.resolve(base) is not None else tip
        engine, _ = self._silent(at, progress, now, old.ledger.clock if at == base else now)
        whole(old, self._store.ledger_rows(self.branch))
        engine.ledger.keep_ids(old.ledger)
        if at == base:
            log.warning("the content rules of %r changed since its last scan: read it again "
                        "under the new rules as of %s, the last commit scanned, without events "
                        "for entries only the rules changed, ids kept; later commits are derived "
                        "under the new rules (`cometwatch scan --since REV` sends what they give "
                        "for earlier ones)", self.branch, base[:12])
        else:
            log.warning("the content rules of %r changed since its last scan, and %s, the last "
                        "commit scanned, is gone from the repository: read it again under the "
                        "new rules as of %s, without events for the commits in between "
                        "(`cometwatch scan --since REV` sends them)", self.branch, base[:12],
                        tip[:12])
        return engine, at

    def _silent(self, at: str | None, progress: Callable[[int], None] | None, now: float,
                moment: float | None = None) -> tuple[Engine, int]:
        """An engine built from the history up to `at` (None: none), evaluated no later than
        `now`, and, with `moment`, the transitions already past it, its warnings at debug level
        (old news: what is new is warned about again). Returns it and the commits read."""
        warnings = _Warnings(quiet=True)
        engine = Engine.for_repository(self._config.repository, warn=warnings)
        commits = 0
        for save in history(self._source.repo, engine, None, at, progress, now) if at else ():
            commits += 1
            self._projector.observe(save.events)  # the entries' dates, in a baseline too
        if moment is not None:
            self._projector.observe(engine.advance(moment))
        warnings.quiet = False
        return engine, commits

    def _save(self, expected: int | None, commit: str, engine: Engine,
              events: list[ContentEvent], now: float) -> tuple[int, int, int]:
        hooks = [hook for hook in self._config.webhooks if hook.enabled]
        changes = engine.ledger.delta()
        rebuild = not self._store.entries_built(self.branch)
        if rebuild:  # every entry's row is written: the ledger is read whole for it
            whole(engine, self._store.ledger_rows(self.branch))
        entries = self._projector.rows(
            engine, changes, events, commit,
            lambda ids: self._store.entry_dates(self.branch, ids), rebuild=rebuild)
        saved = self._store.save_scan(self.branch, expected, commit, changes,
                                      engine.next_timer(), events, _routes(events, hooks),
                                      coalescing.windows(hooks), now, self._rules, entries)
        engine.ledger.stored()
        self._engine, self._generation = engine, saved.generation
        return saved.events, saved.deliveries, saved.generation

    def _engine_at(self, state: CursorState) -> Engine:
        if self._engine is not None and self._generation == state.generation:
            return self._engine
        version, clock = self._store.ledger_head(self.branch) or (LEDGER_VERSION, 0.0)
        if version > LEDGER_VERSION:
            raise StateError(f"{self._store.path}: the ledger of {self.branch!r} was written by "
                             "a newer cometwatch; upgrade cometwatch")
        # the timers now, the rows each chunk of commits touches before it is derived
        # (DamagedLedger when one cannot be read)
        ledger = Ledger.from_store(clock, self._store.ledger_rows(self.branch).part("timers"))
        self._engine, self._generation = Engine.for_repository(self._config.repository, ledger), \
            state.generation
        return self._engine

    def _forget(self) -> None:
        self._engine, self._generation = None, None
        self._projector.forget()


def rules_fingerprint(rules: ContentRules) -> str:
    """A short hash of the content rules, over the values that differ from the defaults: a
    rule a later cometwatch adds, left at its default, changes nothing."""
    default = ContentRules()
    changed = {f.name: getattr(rules, f.name) for f in fields(rules)
               if getattr(rules, f.name) != getattr(default, f.name)}
    return hashlib.sha256(json.dumps(changed, sort_keys=True).encode()).hexdigest()[:16]


def _routes(events: list[ContentEvent], hooks: list[Webhook]) -> Iterator[tuple[str, str]]:
    """(event id, webhook name) for every webhook that wants the event, in derivation order."""
    for event in events:
        for hook in hooks:
            if hook.wants(event.name, event.collection):
                yield event.event_id, hook.name


class _Warnings:
    """The engine's warnings: quiet while it rebuilds the ledger over old history (its broken
    files were news long ago), logged again once it reaches what is new."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __call__(self, message: str) -> None:
        log.log(logging.DEBUG if self.quiet else logging.WARNING, "%s", message)
