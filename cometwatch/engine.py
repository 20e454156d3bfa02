"""Pure: the event engine, a branch's history, save by save, into ContentEvents.

`Engine` holds the ledger and applies one save (a commit's raw changes) at a time; it reads
no git itself and is fed parsed blobs, so it runs the same over a live repository, a test
fixture or a replay. cometwatch.flow drives it over a repository.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NamedTuple

from cometwatch.commits import Change
from cometwatch.config import ContentRules
from cometwatch.derive import Side, event_names, transition
from cometwatch.entry import (
    Frontmatter,
    Location,
    locate,
    next_change,
    published_at,
    read_frontmatter,
)
from cometwatch.identity import Ledger, Record, event_id
from cometwatch.payload import ContentEvent

log = logging.getLogger("cometwatch.engine")

_FACTS_CACHE = 65536


class Save(NamedTuple):
    """The events of one commit (or of a force-push diff), and the commit they lead to."""

    commit: str
    time: int
    events: list[ContentEvent]


@dataclass(slots=True)
class _Op:
    old_path: str | None
    old: Record | None
    new_path: str | None
    new: Location | None
    new_sha: str | None

    @property
    def key(self) -> str:
        return self.new_path or self.old_path or ""


class Engine:
    def __init__(self, rules: ContentRules, ledger: Ledger | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        self.rules = rules
        self.ledger = ledger if ledger is not None else Ledger()
        self._facts: dict[str, Frontmatter] = {}
        self._needed: set[str] = set()  # parsed blobs the saves about to run will look up
        self._warn = warn or log.warning

    # -- blobs ----------------------------------------------------------------------------

    def wanted_blobs(self, changes: tuple[Change, ...]) -> list[str]:
        """The blobs this save will parse and has not parsed yet."""
        wanted = []
        for c in changes:
            if c.new_sha and c.new_path and locate(c.new_path, c.new_mode, self.rules):
                if c.new_sha in self._facts:
                    self._needed.add(c.new_sha)
                else:
                    wanted.append(c.new_sha)
        return wanted

    def learn(self, blobs: dict[str, bytes]) -> None:
        """Parse blobs for the saves about to run (in as many calls as suit the caller)."""
        if len(self._facts) - len(self._needed) > _FACTS_CACHE:
            # keep what the saves about to run still need (a bulk import needs them all: then
            # there is nothing to drop, and no copy is made at every call)
            self._facts = {sha: self._facts[sha] for sha in self._needed if sha in self._facts}
        for sha, data in blobs.items():
            self._facts[sha] = read_frontmatter(data, self.rules)
        self._needed.update(blobs)

    # -- time -----------------------------------------------------------------------------

    def next_timer(self) -> float | None:
        due = self.ledger.next_due()
        return None if due is None else due[0]

    def advance(self, moment: float) -> list[ContentEvent]:
        """Scheduled transitions up to `moment`, each at its own scheduled time."""
        events: list[ContentEvent] = []
        ledger = self.ledger
        while (due := ledger.next_due()) is not None and due[0] <= moment:
            when, path = due
            record = ledger.entries[path]
            where = locate(path, "100644", self.rules)
            if where is None:  # rules changed under a stored ledger
                ledger.unschedule(path)
                continue
            now = published_at(record.front, where, when, self.rules)
            ledger.put(path, replace(record, published=now), next_change(record.front, where,
                                                                        when))
            commit = f"at:{int(when)}"
            for name in transition(record.published, now):
                events.append(ContentEvent(event_id(commit, record.entry_id, name), name,
                                           int(when), record.collection, record.entry_id,
                                           record.slug, commit, path))
        ledger.clock = max(ledger.clock, moment)
        return events

    # -- saves ----------------------------------------------------------------------------

    def save(self, commit: str, time: int, changes: tuple[Change, ...],
             now: float | None = None) -> list[ContentEvent]:
        """Apply one save dated `time`; its blobs must have been learnt. Returns its events in
        order. States are evaluated at `time`, but never past `now` (the wall clock, when
        known): a committer date in the future is not the present, so a commit dated 2100
        does not publish every embargoed post; nor before a moment already evaluated."""
        self._needed.clear()  # every learn for the saves now running has happened
        events = self.advance(time if now is None else min(time, now))
        moment = self.ledger.clock
        ops = self._ops(changes)
        for op in ops:  # detach first: renames within one save may chain (a→b, b→c)
            if op.old_path is not None:
                self.ledger.drop(op.old_path)
        seen: set[tuple[str, str]] = set()
        for op in sorted(ops, key=lambda o: o.key):
            for name, record, path in self._apply(op, commit, moment):
                key = (record.entry_id, name)
                eid = event_id(commit, record.entry_id, name, path if key in seen else "")
                seen.add(key)
                events.append(ContentEvent(eid, name, time, record.collection, record.entry_id,
                                           record.slug, commit, path))
        return events

    def _ops(self, changes: tuple[Change, ...]) -> list[_Op]:
        ops: list[_Op] = []
        for change in changes:
            old_where = (locate(change.old_path, change.old_mode, self.rules)
                         if change.old_path else None)
            new_where = (locate(change.new_path, change.new_mode, self.rules)
                         if change.new_path else None)
            old = self.ledger.entries.get(change.old_path) if old_where and change.old_path \
                else None
            if old is None and new_where is None:
                continue
            ops.append(_Op(change.old_path if old else None, old,
                           change.new_path if new_where else None, new_where, change.new_sha))
        return self._pair(ops)

    def _pair(self, ops: list[_Op]) -> list[_Op]:
        """Join a removal and an addition git did not see as a rename when they are one entry:
        a move into or out of trash (mirrored path) that keeps the explicit id (or has none),
        or the same explicit id."""
        gone = {op.old_path: op for op in ops if op.new is None and op.old is not None}
        if not gone:
            return ops
        by_id = {op.old.explicit_id: op for op in gone.values()
                 if op.old is not None and op.old.explicit_id}
        out: list[_Op] = []
        for op in ops:
            if op.old is None and op.new is not None and op.new_sha:
                front = self._facts.get(op.new_sha)
                partner = gone.get(self._mirror(op.new))
                if partner is not None and not _keeps_id(front, partner.old):
                    partner = None  # another entry, where this one would come back
                if partner is None and front and front.explicit_id and not op.new.trashed:
                    partner = by_id.get(front.explicit_id)
                if partner is not None and partner.old_path in gone:
                    del gone[partner.old_path]
                    op = _Op(partner.old_path, partner.old, op.new_path, op.new, op.new_sha)
            out.append(op)
        return [op for op in out if op.new is not None or op.old_path in gone]

    def _mirror(self, where: Location) -> str:
        """The path an entry would have on the other side of the trash."""
        rules = self.rules
        if where.trashed:
            relative = where.path[len(rules.trash_dir) + 1:]
            return f"{rules.content_dir}/{relative}" if rules.content_dir else relative
        relative = where.path[len(rules.content_dir) + 1:] if rules.content_dir else where.path
        return f"{rules.trash_dir}/{relative}"

    def _apply(self, op: _Op, commit: str,
               moment: float) -> list[tuple[str, Record, str]]:
        ledger, old, where = self.ledger, op.old, op.new
        if where is None or op.new_path is None or op.new_sha is None:
            assert old is not None and op.old_path is not None
            last = op.old_path
            if old.trashed:
                location = locate(op.old_path, "100644", self.rules)
                last = self._mirror(location) if location else op.old_path
            ledger.forget(old, last)
            names = event_names(Side(old.trashed, old.published), None)
            return [(name, old, op.old_path) for name in names]

        front = self._facts[op.new_sha]
        if front.broken:
            self._warn(f"{op.new_path} at {commit[:12]}: broken frontmatter, state kept: "
                       f"{front.broken}")
        restored = False
        if old is None:
            explicit = front.explicit_id
            # a file that reappears in the trash (a reverted purge) is the entry deleted at
            # the mirrored path, so that restoring it later carries its id
            claimed = ledger.claim_deleted(self._mirror(where) if where.trashed
                                           else op.new_path, explicit)
            restored = claimed is not None
            derived = claimed.derived_id if claimed else ledger.mint(op.new_path)
            published = False if front.broken else published_at(front, where, moment, self.rules)
            slug = front.slug or where.slug
        else:
            derived = old.derived_id
            if front.broken:
                explicit = old.explicit_id
                published = old.published and not old.trashed
                slug = old.slug if op.old_path == op.new_path else where.slug
            else:
                explicit = front.explicit_id
                published = published_at(front, where, moment, self.rules)
                slug = front.slug or where.slug
            published = published and not (where.trashed or where.in_drafts)
        record = Record(op.new_sha, derived, explicit, where.collection, slug, published,
                        where.trashed, front)
        ledger.put(op.new_path, record, next_change(front, where, moment))
        names = event_names(
            None if old is None else Side(old.trashed, old.published),
            Side(where.trashed, published),
            restored=restored,
            changed=old is None or old.sha != op.new_sha or op.old_path != op.new_path,
        )
        if where.trashed:
            assert old is not None or not names
            return [(name, old, op.old_path or op.new_path) for name in names]  # type: ignore[misc]
        return [(name, record, op.new_path) for name in names]


def _keeps_id(front: Frontmatter | None, old: Record | None) -> bool:
    """Whether a file can be entry `old` moved across the trash: both have the same explicit
    id, or neither has one (broken frontmatter tells nothing)."""
    return front is None or old is None or bool(front.broken) or \
        front.explicit_id == old.explicit_id
