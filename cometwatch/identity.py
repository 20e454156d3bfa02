"""Pure: the ledger of entries the branch holds, and the ids that follow them through history.

A derived id is 10 base62 characters of SHA-256 over the path at which the entry was first
added; renames carry it, and a deleted entry keeps it for a later re-add or revert. When a second,
different entry is later first added at a path that already minted an id (the first one was
renamed away), the path is hashed with a counter so two live entries never share an id.
The ledger is plain data, and this module alone knows the shape of its stored rows (one row
of JSON text per entry, timer, minted path and deleted entry; cometwatch.store keeps them as
opaque text under a part and a key), so a daemon started at any point continues with exactly
the ids a whole-history run gives. It tracks what changed since it was last stored, so a scan
writes only that. A ledger read from the store holds its timers and the rows asked for so
far: before a chunk of commits is derived, the rows it will touch (`Engine.wants`) are fetched
in one query and `absorb`ed, so deriving never reads anything behind a dict.
"""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from typing import Any, Protocol

from cometwatch.entry import Frontmatter
from cometwatch.errors import DamagedLedger

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
    # a locale variant (contract §6): its locale, the key its entry's variants share, its rank
    locale: str | None = None
    key: str = ""
    rank: int = 0

    @property
    def entry_id(self) -> str:
        return self.explicit_id or self.derived_id


@dataclass(frozen=True, slots=True)
class Deleted:
    derived_id: str
    explicit_id: str | None
    path: str  # where it last was (outside trash)


# read a key at a time (the timers are read whole)
PARTS = ("entries", "minted", "deleted_by_path", "deleted_by_explicit", "variants")
Wanted = Mapping[str, Collection[str]]  # part → keys


class StoredRows(Protocol):
    """A branch's stored ledger rows as text (cometwatch.store gives one): the rows of the
    keys wanted, in one query, or a whole part."""

    def rows(self, wanted: Wanted) -> dict[str, dict[str, str]]: ...

    def part(self, part: str) -> dict[str, str]: ...


@dataclass(frozen=True, slots=True)
class LedgerDelta:
    """What a scan writes of a ledger: rows (part, key, JSON text) to upsert, keys to delete;
    `whole`: these rows replace every row stored."""

    version: int
    clock: float
    whole: bool
    put: list[tuple[str, str, str]]
    drop: list[tuple[str, str]]


@dataclass(slots=True)
class Ledger:
    entries: dict[str, Record] = field(default_factory=dict)
    minted: dict[str, int] = field(default_factory=dict)
    deleted_by_path: dict[str, Deleted] = field(default_factory=dict)
    deleted_by_explicit: dict[str, Deleted] = field(default_factory=dict)
    variants: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key → paths
    timers: dict[str, float] = field(default_factory=dict)  # always whole: the next due is asked
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
    _keys: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    # A ledger read from the store: per part, the keys known here (fetched, found or not, or
    # set here); None: it holds every row (built from history, or read whole).
    _known: dict[str, set[str]] | None = field(default=None, init=False, repr=False,
                                               compare=False)

    def __post_init__(self) -> None:
        self._requeue()

    def _requeue(self) -> None:
        self._queue = sorted((when, path) for path, when in self.timers.items())  # a heap

    def _mark(self, part: str, key: str) -> None:
        if self._known is not None:
            self._known[part].add(key)

    def mint(self, path: str) -> str:
        generation = self.minted.get(path, 0)
        self.minted[path] = generation + 1
        self._minted.add(path)
        self._mark("minted", path)
        return derived_id(path, generation)

    def remember_deleted(self, record: Record, last_path: str) -> None:
        """Keep a removed entry's ids, so that a revert or re-add restores them."""
        gone = Deleted(record.derived_id, record.explicit_id, last_path)
        self.deleted_by_path[last_path] = gone
        self._gone_paths.add(last_path)
        self._mark("deleted_by_path", last_path)
        if record.explicit_id:
            self.deleted_by_explicit[record.explicit_id] = gone
            self._gone_ids.add(record.explicit_id)
            self._mark("deleted_by_explicit", record.explicit_id)

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
        self._mark("entries", path)
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

    def due_by(self, moment: float) -> list[str]:
        """The paths whose timers fall due at or before `moment`."""
        return [path for path, when in self.timers.items() if when <= moment]

    def join(self, key: str, path: str) -> None:
        """`path` holds a locale variant of the entry of translation key `key`."""
        paths = self.variants.get(key, ())
        self._mark("variants", key)
        if path not in paths:
            self.variants[key] = tuple(sorted((*paths, path)))
            self._keys.add(key)

    def leave(self, key: str, path: str) -> None:
        paths = self.variants.get(key, ())
        self._mark("variants", key)
        if path in paths:
            rest = tuple(p for p in paths if p != path)
            if rest:
                self.variants[key] = rest
            else:
                del self.variants[key]
            self._keys.add(key)

    def drop(self, path: str) -> Record | None:
        self.timers.pop(path, None)
        self._paths.add(path)
        self._mark("entries", path)
        return self.entries.pop(path, None)

    def unschedule(self, path: str) -> None:
        self.timers.pop(path, None)
        self._paths.add(path)

    def keep_ids(self, old: Ledger) -> None:
        """Give each entry the derived id `old` (read whole) had at the same path, and never
        mint again an id `old` minted: a branch read again under new content rules keeps the
        ids its receivers know."""
        assert old.whole, "keep_ids needs the old ledger whole"
        for path, record in self.entries.items():
            before = old.entries.get(path)
            if before is not None and before.derived_id != record.derived_id:
                self.entries[path] = replace(record, derived_id=before.derived_id)
                self._paths.add(path)
        for path, minted in old.minted.items():
            if minted > self.minted.get(path, 0):
                self.minted[path] = minted
                self._minted.add(path)

    # -- reading the stored rows --------------------------------------------------------------

    @classmethod
    def from_store(cls, clock: float, timers: Mapping[str, str]) -> Ledger:
        """The ledger a store holds, as stored (`stored()` already): its timers, whole (the
        next due one is always asked for); every other row once `absorb`ed."""
        ledger = cls(clock=clock, timers=_decoded("timers", timers, float))
        ledger._known = {part: set() for part in PARTS}
        ledger.stored()
        return ledger

    @property
    def whole(self) -> bool:
        """Every row is here (nothing stored is left to fetch)."""
        return self._known is None

    def missing(self, wanted: Wanted) -> dict[str, list[str]]:
        """Of the keys wanted, those neither fetched nor set here yet."""
        known = self._known
        if known is None:
            return {}
        out = {part: [key for key in dict.fromkeys(keys) if key not in known[part]]
               for part, keys in wanted.items()}
        return {part: keys for part, keys in out.items() if keys}

    def absorb(self, asked: Mapping[str, list[str]], rows: Mapping[str, Mapping[str, str]]
               ) -> dict[str, list[str]]:
        """Take in the stored rows of the keys `asked` (a key without a row is absent). What
        is set here already wins. Returns the keys these rows lead to that are missing: the
        path a deleted entry found by its explicit id was deleted at."""
        known = self._known
        if known is None:
            return {}
        for part, keys in asked.items():
            found = _decoded(part, rows.get(part, {}), _DECODE[part])
            target: dict[str, Any] = getattr(self, part)
            for key in keys:
                if key not in known[part]:
                    known[part].add(key)
                    if key in found:
                        target[key] = found[key]
        paths = [gone.path for key in asked.get("deleted_by_explicit", ())
                 if (gone := self.deleted_by_explicit.get(key)) is not None]
        keys = [record.key for path in asked.get("entries", ())
                if (record := self.entries.get(path)) is not None and record.key]
        variants = [path for key in asked.get("variants", ())
                    for path in self.variants.get(key, ())]
        return self.missing({"deleted_by_path": paths, "variants": keys, "entries": variants})

    def absorb_whole(self, parts: Mapping[str, Mapping[str, str]]) -> None:
        """Take in every stored row (`parts`: each of PARTS whole): from here on the ledger is
        whole."""
        if self._known is None:
            return
        self.absorb({part: list(parts.get(part, {})) for part in PARTS}, parts)
        self._known = None

    @classmethod
    def from_rows(cls, version: int, clock: float,
                  parts: Mapping[str, Mapping[str, str]]) -> Ledger:
        """A whole ledger from every stored row (version: LEDGER_VERSION or older)."""
        if version > LEDGER_VERSION:
            raise DamagedLedger(f"written by a newer cometwatch (ledger version {version})")
        ledger = cls.from_store(clock, parts.get("timers", {}))
        ledger.absorb_whole(parts)
        return ledger

    # -- persistence --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """All of it: {"version", "clock", "parts": {part: {key: row}}}."""
        assert self.whole, "to_json needs the ledger whole"
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
                "variants": {k: list(v) for k, v in self.variants.items()},
            },
        }

    def delta(self) -> LedgerDelta:
        """What changed since `stored()`, as rows: a removed key's row is dropped. A ledger
        never stored gives all of it, `whole` (it replaces what is stored)."""
        put: list[tuple[str, str, str]] = []
        drop: list[tuple[str, str]] = []
        if not self._stored:
            for part, rows in self.to_json()["parts"].items():
                put.extend((part, key, _text(row)) for key, row in rows.items())
            return LedgerDelta(LEDGER_VERSION, self.clock, True, put, drop)
        entries, timers, by_path, by_id = (self.entries, self.timers, self.deleted_by_path,
                                           self.deleted_by_explicit)
        for path in self._paths:
            record = entries.get(path)
            if record is None:
                drop.append(("entries", path))
            else:
                put.append(("entries", path, _text(_record_out(record))))
            when = timers.get(path)
            if when is None:
                drop.append(("timers", path))
            else:
                put.append(("timers", path, _text(when)))
        put.extend(("minted", path, _text(self.minted[path])) for path in self._minted)
        for key in self._keys:
            paths = self.variants.get(key)
            if paths is None:
                drop.append(("variants", key))
            else:
                put.append(("variants", key, _text(list(paths))))
        for part, keys, held in (("deleted_by_path", self._gone_paths, by_path),
                                 ("deleted_by_explicit", self._gone_ids, by_id)):
            for key in keys:
                gone = held.get(key)
                if gone is None:
                    drop.append((part, key))
                else:
                    put.append((part, key, _text(_deleted_out(gone))))
        return LedgerDelta(LEDGER_VERSION, self.clock, False, put, drop)

    def stored(self) -> None:
        """What the ledger holds now is what the store holds: changes start again from here."""
        self._stored = True
        for changed in (self._paths, self._minted, self._gone_paths, self._gone_ids,
                        self._keys):
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
        ledger.variants = {k: tuple(v) for k, v in parts.get("variants", {}).items()}
        return ledger


def _text(row: Any) -> str:
    return json.dumps(row, separators=(",", ":"))


def _decoded(part: str, rows: Mapping[str, str], convert: Callable[[Any], Any]
             ) -> dict[str, Any]:
    """A part's stored rows, parsed in one go (one parse for the part, not one per row: a
    daemon starts faster)."""
    if not rows:
        return {}
    keys = list(rows)
    try:
        values = json.loads(f"[{','.join(rows.values())}]")
    except ValueError as exc:
        raise DamagedLedger(f"{part} rows: {exc}") from exc
    out = {}
    for key, value in zip(keys, values, strict=True):
        try:
            out[key] = convert(value)
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedLedger(f"{part} row {key!r}: {exc}") from exc
    return out


def _deleted_rows(part: dict[str, list[Any]] | list[list[Any]]) -> Iterable[list[Any]]:
    """A part of the deleted: a mapping since ledger version 2, a list before."""
    return part.values() if isinstance(part, dict) else part


def _deleted_out(gone: Deleted) -> list[Any]:
    return [gone.derived_id, gone.explicit_id, gone.path]


def _deleted_in(row: list[Any]) -> Deleted:
    derived, explicit, path = row
    return Deleted(derived, explicit, path)


_FRONT = attrgetter(*(f.name for f in fields(Frontmatter)))  # its fields, in order


def _record_out(record: Record) -> list[Any]:
    row: list[Any] = [record.sha, record.derived_id, record.explicit_id, record.collection,
                      record.slug, record.published, record.trashed, list(_FRONT(record.front))]
    if record.key or record.locale:  # a variant: rows of the others stay as they were
        row += [record.locale, record.key, record.rank]
    return row


def _record_in(row: list[Any]) -> Record:
    sha, derived, explicit, collection, slug, published, trashed, front, *variant = row
    locale, key, rank = variant if variant else (None, "", 0)
    return Record(sha, derived, explicit, collection, slug, bool(published), bool(trashed),
                  Frontmatter(*front), locale, str(key), int(rank))


_DECODE: dict[str, Callable[[Any], Any]] = {"entries": _record_in, "minted": int,
                                            "deleted_by_path": _deleted_in,
                                            "deleted_by_explicit": _deleted_in,
                                            "variants": tuple}

__all__ = ["PARTS", "DamagedLedger", "Deleted", "Ledger", "LedgerDelta", "Record", "StoredRows",
           "Wanted", "base62", "derived_id", "event_id", "replace"]
