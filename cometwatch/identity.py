"""Pure: the ledger of entries the branch holds, and the ids that follow them through history.

A derived id is 10 base62 characters of SHA-256 over the path at which the entry was first
added; renames carry it, and a deleted entry keeps it for a later re-add or revert. When a second,
different entry is later first added at a path that already minted an id (the first one was
renamed away), the path is hashed with a counter so two live entries never share an id.
The ledger is plain data: it serialises to JSON and back, so a daemon started at any point
continues with exactly the ids a whole-history run gives. It also tracks what changed since it
was last stored, so a scan writes only that, and a ledger read from the store (`Ledger.read`)
looks its rows up as the engine asks for them, so a scan reads only the rows its commits touch.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field, fields, replace
from operator import attrgetter
from typing import Any, Protocol, TypeVar, cast

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
    # a locale variant (SPEC §6): its locale, the key its entry's variants share, its rank
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


class LedgerRows(Protocol):
    """Where a ledger read from the store finds its rows (cometwatch.store gives one): the JSON
    row of `to_json` under a part and key, or a whole part."""

    def row(self, part: str, key: str) -> Any | None: ...

    def part(self, part: str) -> dict[str, Any]: ...


V = TypeVar("V")
_UNKNOWN: Any = object()  # not looked up yet
_ABSENT: Any = object()  # looked up, or removed here: not there (whatever the store holds)


class Lookup(MutableMapping[str, V]):
    """A part of a ledger read from the store a key at a time: a key not known yet is looked up
    once (found, or remembered as absent), and what the ledger sets or removes overrides the
    store. Iterating (or counting) reads the rest of the part first: whole-ledger work (a tree
    diff against the entries, `to_json`) says so with `Ledger.load_all`, and is never partial."""

    __slots__ = ("_fetch", "_known", "_load")

    def __init__(self, fetch: Callable[[str], V | None],
                 load: Callable[[], Iterable[tuple[str, V]]]) -> None:
        self._known: dict[str, Any] = {}
        self._fetch: Callable[[str], V | None] | None = fetch  # None: the whole part is known
        self._load = load

    def _look(self, key: str) -> Any:
        value = self._known.get(key, _UNKNOWN)
        if value is _UNKNOWN:
            if self._fetch is None:
                return _ABSENT
            found = self._fetch(key)
            value = self._known[key] = _ABSENT if found is None else found
        return value

    def __getitem__(self, key: str) -> V:
        value = self._look(key)
        if value is _ABSENT:
            raise KeyError(key)
        return cast(V, value)

    def get(self, key: str, default: Any = None) -> Any:
        value = self._look(key)
        return default if value is _ABSENT else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._look(key) is not _ABSENT

    def __setitem__(self, key: str, value: V) -> None:
        self._known[key] = value

    def __delitem__(self, key: str) -> None:
        if self._look(key) is _ABSENT:
            raise KeyError(key)
        self._gone(key)

    def pop(self, key: str, default: Any = _UNKNOWN) -> Any:
        value = self._look(key)
        if value is _ABSENT:
            if default is _UNKNOWN:
                raise KeyError(key)
            return default
        self._gone(key)
        return value

    def _gone(self, key: str) -> None:
        if self._fetch is None:
            del self._known[key]
        else:
            self._known[key] = _ABSENT

    def load(self) -> None:
        """Read what is not known yet of the part: from here on it is a plain mapping."""
        if self._fetch is None:
            return
        known = self._known
        for key, value in self._load():
            known.setdefault(key, value)
        self._known = {key: value for key, value in known.items() if value is not _ABSENT}
        self._fetch = None

    def __iter__(self) -> Iterator[str]:
        self.load()
        return iter(self._known)

    def __len__(self) -> int:
        self.load()
        return len(self._known)

    def __repr__(self) -> str:
        shown = {k: v for k, v in self._known.items() if v is not _ABSENT}
        return f"Lookup({shown!r}{'' if self._fetch is None else ', more stored'})"


@dataclass(slots=True)
class Ledger:
    # plain dicts, or (a ledger read from the store) Lookups of its rows
    entries: MutableMapping[str, Record] = field(default_factory=dict)
    minted: MutableMapping[str, int] = field(default_factory=dict)
    deleted_by_path: MutableMapping[str, Deleted] = field(default_factory=dict)
    deleted_by_explicit: MutableMapping[str, Deleted] = field(default_factory=dict)
    variants: MutableMapping[str, tuple[str, ...]] = field(default_factory=dict)  # key → paths
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

    def join(self, key: str, path: str) -> None:
        """`path` holds a locale variant of the entry of translation key `key`."""
        paths = self.variants.get(key, ())
        if path not in paths:
            self.variants[key] = tuple(sorted((*paths, path)))
            self._keys.add(key)

    def leave(self, key: str, path: str) -> None:
        paths = self.variants.get(key, ())
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
        return self.entries.pop(path, None)

    def unschedule(self, path: str) -> None:
        self.timers.pop(path, None)
        self._paths.add(path)

    def keep_ids(self, old: Ledger) -> None:
        """Give each entry the derived id `old` had at the same path, and never mint again an
        id `old` minted: a branch read again under new content rules keeps the ids its
        receivers know."""
        old.load_all()
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
        self.load_all()
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
                "variants": {k: list(self.variants[k]) if k in self.variants else None
                             for k in self._keys},
            },
        }

    def stored(self) -> None:
        """What the ledger holds now is what the store holds: changes start again from here."""
        self._stored = True
        for changed in (self._paths, self._minted, self._gone_paths, self._gone_ids,
                        self._keys):
            changed.clear()

    @classmethod
    def read(cls, rows: LedgerRows, clock: float) -> Ledger:
        """The ledger a store holds, as stored (`stored()` already): its timers read whole (the
        next due one is always asked for), every other row when the engine first asks for it."""

        def part(name: str, convert: Callable[[Any], V]) -> Lookup[V]:
            def fetch(key: str) -> V | None:
                row = rows.row(name, key)
                return None if row is None else _converted(convert, name, key, row)

            def load() -> Iterator[tuple[str, V]]:
                for key, row in rows.part(name).items():
                    yield key, _converted(convert, name, key, row)

            return Lookup(fetch, load)

        ledger = cls(clock=clock, timers={key: _converted(float, "timers", key, row)
                                          for key, row in rows.part("timers").items()})
        ledger.entries = part("entries", _record_in)
        ledger.minted = part("minted", int)
        ledger.deleted_by_path = part("deleted_by_path", _deleted_in)
        ledger.deleted_by_explicit = part("deleted_by_explicit", _deleted_in)
        ledger.variants = part("variants", tuple)
        ledger.stored()
        return ledger

    def load_all(self) -> None:
        """Read every row not looked up yet, for work over the whole ledger."""
        for part in (self.entries, self.minted, self.deleted_by_path, self.deleted_by_explicit,
                     self.variants):
            if isinstance(part, Lookup):
                part.load()

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


def _deleted_rows(part: dict[str, list[Any]] | list[list[Any]]) -> Iterable[list[Any]]:
    """A part of the deleted: a mapping since ledger version 2, a list before."""
    return part.values() if isinstance(part, dict) else part


def _deleted_out(gone: Deleted) -> list[Any]:
    return [gone.derived_id, gone.explicit_id, gone.path]


def _deleted_in(row: list[Any]) -> Deleted:
    derived, explicit, path = row
    return Deleted(derived, explicit, path)


def _converted(convert: Callable[[Any], V], part: str, key: str, row: Any) -> V:
    try:
        return convert(row)
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedLedger(f"{part} row {key!r}: {exc}") from exc


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


__all__ = ["DamagedLedger", "Deleted", "Ledger", "LedgerRows", "Lookup", "Record", "base62",
           "derived_id", "event_id", "replace"]
