"""Pure: the ledger of entries the branch holds, and the ids that follow them through history.

A derived id is 10 base62 characters of SHA-256 over the path at which the entry was first
added; renames carry it, and a deleted entry keeps it for a later re-add or revert. When a second,
different entry is later first added at a path that already minted an id (the first one was
renamed away), the path is hashed with a counter so two live entries never share an id.
The ledger is plain data: it serialises to JSON and back, so a daemon started at any point
continues with exactly the ids a whole-history run gives. It also tracks what changed since it
was last stored, so a scan writes only that.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from typing import Any

from cometwatch.entry import Frontmatter

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_PAIRS = tuple(_BASE62[n % 62] + _BASE62[n // 62] for n in range(62 * 62))
LEDGER_VERSION = 2  # 2: every part a mapping (key → row), as the store keeps them


def base62(digest: bytes, length: int) -> str:
    """`length` base62 digits of the big-endian number, lowest digit first (two at a time:
    this runs for every event and every new entry)."""
    number = int.from_bytes(digest, "big") % 62 ** length
    out = []
    for _ in range(length >> 1):
        number, pair = divmod(number, 62 * 62)
        out.append(_PAIRS[pair])
    if length & 1:
        out.append(_BASE62[number])
    return "".join(out)


def derived_id(origin: str, generation: int = 0) -> str:
    key = origin if generation == 0 else f"{origin}\n{generation}"
    return base62(hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest(), 10)


def event_id(commit: str, entry_id: str, name: str, path: str = "") -> str:
    key = f"{commit}\n{entry_id}\n{name}" + (f"\n{path}" if path else "")
    return "evt_" + base62(hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest(), 22)


@dataclass(frozen=True, slots=True)
class Record:
    """One entry the branch holds now (in content or in trash)."""

    sha: str
    derived_id: str
    explicit_id: str | None
    collection: str
    slug: str
    published: bool
    trashed: bool
    front: Frontmatter

    @property
    def entry_id(self) -> str:
        return self.explicit_id or self.derived_id


@dataclass(frozen=True, slots=True)
class Deleted:
    derived_id: str
    explicit_id: str | None
    path: str  # where it last was (outside trash)


@dataclass(slots=True)
class Ledger:
    entries: dict[str, Record] = field(default_factory=dict)
    minted: dict[str, int] = field(default_factory=dict)
    deleted_by_path: dict[str, Deleted] = field(default_factory=dict)
    deleted_by_explicit: dict[str, Deleted] = field(default_factory=dict)
    timers: dict[str, float] = field(default_factory=dict)
    clock: float = 0.0  # the moment states were last evaluated at
    # `timers` as a heap of (moment, path), so the next one is found without a scan of all;
    # an item whose moment is no longer the path's timer is stale and skipped
    _queue: list[tuple[float, str]] = field(init=False, repr=False, compare=False)
    # What changed since `stored()`: paths (of entries and timers), minted paths, keys of the
    # deleted. Until the first `stored()` all of it counts as changed.
    _stored: bool = field(default=False, init=False, repr=False, compare=False)
    _paths: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    _minted: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    _gone_paths: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    _gone_ids: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._requeue()

    def _requeue(self) -> None:
        self._queue = sorted((when, path) for path, when in self.timers.items())  # a heap

    def mint(self, path: str) -> str:
        generation = self.minted.get(path, 0)
        self.minted[path] = generation + 1
        self._minted.add(path)
        return derived_id(path, generation)

    def forget(self, record: Record, last_path: str) -> None:
        """Remember a removed entry so that a revert or re-add restores its id."""
        gone = Deleted(record.derived_id, record.explicit_id, last_path)
        self.deleted_by_path[last_path] = gone
        self._gone_paths.add(last_path)
        if record.explicit_id:
            self.deleted_by_explicit[record.explicit_id] = gone
            self._gone_ids.add(record.explicit_id)

    def claim_deleted(self, path: str, explicit_id: str | None) -> Deleted | None:
        """The deleted entry a new file brings back: same explicit id, or (neither having one)
        the same path."""
        if explicit_id:
            gone = self.deleted_by_explicit.pop(explicit_id, None)
            if gone is not None:
                self._gone_ids.add(explicit_id)
        else:
            gone = self.deleted_by_path.get(path)
            if gone is not None and gone.explicit_id:
                gone = None
        if gone is not None and self.deleted_by_path.get(gone.path) == gone:
            del self.deleted_by_path[gone.path]
            self._gone_paths.add(gone.path)
        return gone

    def put(self, path: str, record: Record, timer: float | None) -> None:
        self.entries[path] = record
        self._paths.add(path)
        if timer is None:
            self.timers.pop(path, None)
        elif self.timers.get(path) != timer:
            self.timers[path] = timer
            heapq.heappush(self._queue, (timer, path))
            if len(self._queue) > 2 * len(self.timers) + 64:
                self._requeue()

    def next_due(self) -> tuple[float, str] | None:
        """The earliest (moment, path) of the timers; the same path first on a tie."""
        queue, timers = self._queue, self.timers
        while queue:
            when, path = queue[0]
            if timers.get(path) == when:
                return when, path
            heapq.heappop(queue)
        return None

    def drop(self, path: str) -> Record | None:
        self.timers.pop(path, None)
        self._paths.add(path)
        return self.entries.pop(path, None)

    def unschedule(self, path: str) -> None:
        self.timers.pop(path, None)
        self._paths.add(path)

    def keep_ids(self, old: Ledger) -> None:
        """Give each entry the derived id `old` had at the same path, and never mint again an
        id `old` minted: a branch read again under new content rules keeps the ids its
        receivers know."""
        for path, record in self.entries.items():
            before = old.entries.get(path)
            if before is not None and before.derived_id != record.derived_id:
                self.entries[path] = replace(record, derived_id=before.derived_id)
                self._paths.add(path)
        for path, minted in old.minted.items():
            if minted > self.minted.get(path, 0):
                self.minted[path] = minted
                self._minted.add(path)

    # -- persistence --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """All of it: {"version", "clock", "parts": {part: {key: row}}}."""
        return {
            "version": LEDGER_VERSION,
            "clock": self.clock,
            "parts": {
                "entries": {p: _record_out(r) for p, r in self.entries.items()},
                "timers": dict(self.timers),
                "minted": dict(self.minted),
                "deleted_by_path": {k: _deleted_out(d) for k, d in self.deleted_by_path.items()},
                "deleted_by_explicit": {k: _deleted_out(d)
                                        for k, d in self.deleted_by_explicit.items()},
            },
        }

    def changes(self) -> dict[str, Any]:
        """What changed since `stored()`, shaped as `to_json` but a removed key's row is None.
        A ledger never stored gives all of it, with "whole": true (it replaces what is stored)."""
        if not self._stored:
            return {**self.to_json(), "whole": True}
        entries, timers, by_path, by_id = (self.entries, self.timers, self.deleted_by_path,
                                           self.deleted_by_explicit)
        return {
            "version": LEDGER_VERSION,
            "clock": self.clock,
            "parts": {
                "entries": {p: _record_out(entries[p]) if p in entries else None
                            for p in self._paths},
                "timers": {p: timers.get(p) for p in self._paths},
                "minted": {p: self.minted[p] for p in self._minted},
                "deleted_by_path": {k: _deleted_out(by_path[k]) if k in by_path else None
                                    for k in self._gone_paths},
                "deleted_by_explicit": {k: _deleted_out(by_id[k]) if k in by_id else None
                                        for k in self._gone_ids},
            },
        }

    def stored(self) -> None:
        """What the ledger holds now is what the store holds: changes start again from here."""
        self._stored = True
        for changed in (self._paths, self._minted, self._gone_paths, self._gone_ids):
            changed.clear()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ledger:
        """A ledger from `to_json` data (version 1: the deleted as lists, no "parts")."""
        parts = data.get("parts", data)
        ledger = cls(clock=float(data.get("clock", 0.0)), minted=dict(parts.get("minted", {})),
                     timers={k: float(v) for k, v in parts.get("timers", {}).items()})
        ledger.entries = {p: _record_in(r) for p, r in parts.get("entries", {}).items()}
        for derived, explicit, path in _deleted_rows(parts.get("deleted_by_path", {})):
            ledger.deleted_by_path[path] = Deleted(derived, explicit, path)
        for derived, explicit, path in _deleted_rows(parts.get("deleted_by_explicit", {})):
            ledger.deleted_by_explicit[explicit] = Deleted(derived, explicit, path)
        return ledger


def _deleted_rows(part: dict[str, list[Any]] | list[list[Any]]) -> Iterable[list[Any]]:
    """A part of the deleted: a mapping since ledger version 2, a list before."""
    return part.values() if isinstance(part, dict) else part


def _deleted_out(gone: Deleted) -> list[Any]:
    return [gone.derived_id, gone.explicit_id, gone.path]


_FRONT = attrgetter(*(f.name for f in fields(Frontmatter)))  # its fields, in order


def _record_out(record: Record) -> list[Any]:
    return [record.sha, record.derived_id, record.explicit_id, record.collection, record.slug,
            record.published, record.trashed, list(_FRONT(record.front))]


def _record_in(row: list[Any]) -> Record:
    sha, derived, explicit, collection, slug, published, trashed, front = row
    return Record(sha, derived, explicit, collection, slug, bool(published), bool(trashed),
                  Frontmatter(*front))


__all__ = ["Deleted", "Ledger", "Record", "base62", "derived_id", "event_id", "replace"]
