"""The entries at the cursor as the Public API serves them: a row per file the ledger holds.

A scan computes the rows of the entries it changed (`Projector.rows`) and `Store.save_scan`
writes them in the transaction that stores its events and moves the cursor, so a receiver that
fetches an entry when its webhook arrives finds the state of that commit, never an older one.

Dates come from the events as they are derived: `created_at` is the time of the commit that
created the entry, `updated_at` of the last commit that saved it (a scheduled publish is not a
save), `published_at` the publish date the file states, else the moment the entry last became
published. Visibility is stored as dates (`visible_from`, `visible_until`), not as a state, so
the API decides at each request whether an anonymous reader sees an entry: a scheduled publish
or expiry shows at its moment exactly, with no scan in between.

The Markdown body is not stored: the row keeps the blob and the offset its body starts at, and
the API reads it from git (a blob never changes under its sha).
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Any

from cometwatch.config import ContentRules
from cometwatch.derive import CREATED, DELETED, PUBLISHED, RESTORED
from cometwatch.entry import Frontmatter, Location, published_at
from cometwatch.identity import LedgerDelta, Record
from cometwatch.metadata import MAX_FRONTMATTER, read_block
from cometwatch.payload import ContentEvent

if TYPE_CHECKING:
    from cometwatch.engine import Engine

BODY_KEY = "body"  # where `data` carries the Markdown body (a frontmatter `body` is shadowed)
HEAD_BYTES = 1 << 20  # of a blob, what is read for its frontmatter (it sits at the top)
_TIMER = "at:"  # the commit of an event a scheduled date gave: not a save
_YAML_END = re.compile(rb"^-{3,}[ \t]*\r?$", re.MULTILINE)  # as cometwatch.metadata ends blocks
_TOML_END = re.compile(rb"^\+{3,}[ \t]*\r?$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class EntryDates:
    created_at: float | None = None
    updated_at: float | None = None
    published_since: float | None = None  # the moment it last became published
    deleted_at: float | None = None  # moved to the trash (None: not in it)
    author: str | None = None  # who created it ([server] authors: the commit author)
    updated_by: str | None = None  # who saved it last


@dataclass(frozen=True, slots=True)
class EntryRow:
    path: str
    entry_id: str
    collection: str
    slug: str
    locale: str | None  # a locale variant's code; None on a site without languages
    rank: int  # language order: the lowest of an entry's variants is its default
    blob: str
    body_at: int  # byte offset of the body in the blob
    trashed: bool
    listed: bool  # published as far as status, draft flags and folders go, dates aside
    visible_from: float | None  # a publish date: hidden before it
    visible_until: float | None  # an expiry date: hidden from it on
    title: str
    data: str  # JSON object: the frontmatter minus the keys mapped to top-level fields
    created_at: float
    updated_at: float
    published_at: float | None  # as served: the stated publish date, else published_since
    published_since: float | None
    deleted_at: float | None
    author: str | None = None
    updated_by: str | None = None

    def visible(self, now: float) -> bool:
        """Published at `now`: what an anonymous reader may see."""
        return self.listed and not self.trashed and \
            (self.visible_from is None or self.visible_from <= now) and \
            (self.visible_until is None or now < self.visible_until)

    @property
    def dates(self) -> EntryDates:
        return EntryDates(self.created_at, self.updated_at, self.published_since,
                          self.deleted_at, self.author, self.updated_by)


@dataclass(frozen=True, slots=True)
class EntryRows:
    """What a save changes in the projection of a branch."""

    whole: bool  # `put` replaces every row of the branch
    put: list[EntryRow]
    drop: list[str]  # paths no longer holding an entry


def dated(dates: EntryDates, event: ContentEvent, who: str | None = None) -> EntryDates:
    """The dates of an entry after one of its events (`who`: its commit's author)."""
    at = float(event.occurred_at)
    if event.commit.startswith(_TIMER):  # a scheduled date passed: no save
        return replace(dates, published_since=at) if event.name == PUBLISHED else dates
    if event.name == CREATED:
        return EntryDates(at, at, None, None, who, who)
    if event.name == PUBLISHED:
        return replace(dates, published_since=at, updated_at=at, updated_by=who)
    if event.name == DELETED:
        return replace(dates, deleted_at=at, updated_at=at, updated_by=who)
    if event.name == RESTORED:
        return replace(dates, deleted_at=None, updated_at=at, updated_by=who,
                       created_at=at if dates.created_at is None else dates.created_at,
                       author=who if dates.author is None else dates.author)
    return replace(dates, updated_at=at, updated_by=who)


class Projector:
    """Turns a scan's ledger changes and events into EntryRows. It sees every event the scan
    derives, the silent ones of a baseline included (`observe`), until `rows` uses them."""

    def __init__(self, read_blobs: Callable[[list[str], int], Mapping[str, bytes]],
                 commit_time: Callable[[str], int],
                 authors: Callable[[list[str]], Mapping[str, tuple[str, str]]] | None = None,
                 mode: str = "none") -> None:
        self.rules = ContentRules()
        self.mode = mode  # [server] authors: "none", "name" or "email"
        self._read_blobs = read_blobs
        self._commit_time = commit_time
        self._authors = authors
        self._seen: dict[str, list[ContentEvent]] = {}

    def observe(self, events: Iterable[ContentEvent]) -> None:
        for event in events:
            self._seen.setdefault(event.entry_id, []).append(event)

    def forget(self) -> None:
        """Drop the events observed: the scan that derived them was not stored."""
        self._seen.clear()

    def rows(self, engine: Engine, changes: LedgerDelta,
             events: Iterable[ContentEvent], commit: str,
             prior: Callable[[list[str]], Mapping[str, EntryDates]],
             rebuild: bool = False) -> EntryRows:
        """The rows of the entries `changes` (Ledger.delta()) touched, as the site the
        engine stands at reads them; every entry's with `rebuild` (the ledger read whole) or
        a whole ledger. `prior` gives the stored dates of entry ids."""
        self.observe(events)
        self.rules = engine.rules
        ledger = engine.ledger
        whole = rebuild or changes.whole
        if whole:
            assert ledger.whole, "every entry's row needs the ledger whole"
            paths = list(ledger.entries)
        else:
            paths = list(dict.fromkeys(row[1] for row in (*changes.put, *changes.drop)
                                       if row[0] == "entries"))
        records = {path: ledger.entries[path] for path in paths if path in ledger.entries}
        drop = [] if whole else [path for path in paths if path not in records]
        ids = list(dict.fromkeys(r.entry_id for r in records.values()))
        known = dict(prior(ids)) if ids else {}
        seen, self._seen = self._seen, {}
        shas = list(dict.fromkeys(r.sha for r in records.values()))
        blobs = self._read_blobs(shas, HEAD_BYTES) if shas else {}
        fallback: list[float] = []  # the save's commit time, read only when a row lacks dates

        def when() -> float:
            if not fallback:
                fallback.append(float(self._commit_time(commit)))
            return fallback[0]

        who = self._who(seen)
        put = []
        for path, record in sorted(records.items()):
            where = engine.locate(path, "100644")
            if where is None:  # not an entry under these rules (a ledger of older rules)
                drop.append(path)
                continue
            dates = known.get(record.entry_id, EntryDates())
            for event in seen.get(record.entry_id, ()):
                dates = dated(dates, event, who.get(event.commit))
            put.append(self._row(path, record, where, blobs.get(record.sha, b""), dates, when))
        return EntryRows(whole, put, sorted(set(drop)))

    def _who(self, seen: Mapping[str, list[ContentEvent]]) -> dict[str, str]:
        """commit → its author as [server] authors shows it (an email only when asked)."""
        if self.mode == "none" or self._authors is None:
            return {}
        shas = sorted({event.commit for events in seen.values() for event in events
                       if not event.commit.startswith(_TIMER)})
        found = self._authors(shas) if shas else {}
        if self.mode == "email":
            return {sha: f"{name} <{email}>" for sha, (name, email) in found.items()}
        return {sha: name for sha, (name, _) in found.items()}

    def _row(self, path: str, record: Record, where: Location, blob: bytes,
             dates: EntryDates, when: Callable[[], float]) -> EntryRow:
        front = record.front
        meta, body_at = split_frontmatter(blob)
        meta = meta or {}
        if front.broken:
            listed, starts, until = record.published, None, None
        else:
            listed = published_at(
                replace(front, publish_at=None, expire_at=None, future_at=None),
                replace(where, trashed=False, name_date=None), 0.0, self.rules)
            future = front.future_at if front.future_at is not None else where.name_date
            dates_set = [t for t in (front.publish_at, future) if t is not None]
            # a site that builds future or expired entries is not hidden by those dates
            starts = max(dates_set) if dates_set and not where.policy.future else None
            until = None if where.policy.expired else front.expire_at
        stated = front.publish_at if front.publish_at is not None else (
            front.future_at if front.future_at is not None else where.name_date)
        created = dates.created_at if dates.created_at is not None else when()
        updated = dates.updated_at if dates.updated_at is not None else created
        deleted = (dates.deleted_at if dates.deleted_at is not None else updated) \
            if record.trashed else None
        return EntryRow(
            path=path, entry_id=_clean(record.entry_id), collection=_clean(record.collection),
            slug=_clean(record.slug), locale=where.locale, rank=where.rank, blob=record.sha,
            body_at=body_at,
            trashed=record.trashed, listed=listed, visible_from=starts, visible_until=until,
            title=_clean(_text(meta.get("title"))),
            data=json.dumps(self._data(meta, front), ensure_ascii=False,
                            separators=(",", ":"), allow_nan=False),
            created_at=created, updated_at=updated,
            published_at=stated if stated is not None else dates.published_since,
            published_since=dates.published_since, deleted_at=deleted,
            author=dates.author, updated_by=dates.updated_by)

    def _data(self, meta: dict[Any, Any], front: Frontmatter) -> dict[str, Any]:
        """The frontmatter without the keys the entry's top-level fields came from."""
        rules = self.rules
        mapped = {"title", rules.slug_field, rules.status_field, rules.draft_field,
                  rules.published_field}
        if front.explicit_id is not None:
            mapped.update(name for name in rules.id_fields if name in meta)
        for name in rules.publish_date_fields:
            if meta.get(name) not in (None, ""):
                mapped.add(name)
                break
        return {str(key): jsonable(value) for key, value in meta.items()
                if str(key) not in mapped}


def _clean(text: str) -> str:
    """Text from a path git gave as bytes that are not UTF-8 (held with surrogateescape), as
    JSON and SQLite can carry it: each such byte becomes U+FFFD."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _text(value: object) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (datetime, date)):
        return str(jsonable(value))
    return str(value)


def jsonable(value: Any) -> Any:
    """A YAML or TOML value as JSON can carry it: dates as ISO 8601 text (UTC when zoned),
    keys as text, NaN and infinities as null, bytes as base64."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return value.isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def split_frontmatter(data: bytes) -> tuple[dict[str, Any] | None, int]:
    """A blob's frontmatter mapping (None: no block, or a broken one) and the byte offset at
    which its body starts (0 without a block), the block found as cometwatch.metadata finds
    it."""
    try:
        meta = read_block(data)
    except Exception:  # broken, by any parser's error: the body is the whole file
        return None, 0
    if meta is None:
        return None, 0
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    head = data[start:]
    if head[:1] in (b"\r", b"\n"):
        start += len(head) - len(head.lstrip(b" \t\r\n"))
        head = data[start:]
    if head.startswith(b"{"):
        text = head[:MAX_FRONTMATTER].decode("utf-8", "surrogateescape")
        _, end = json.JSONDecoder().raw_decode(text)
        offset = start + len(text[:end].encode("utf-8", "surrogateescape"))
    else:
        first = head.find(b"\n")
        pattern = _TOML_END if head.startswith(b"+++") else _YAML_END
        closing = pattern.search(head, first + 1, first + 1 + MAX_FRONTMATTER)
        offset = start + (closing.end() if closing else len(head))
    if data[offset:offset + 2] == b"\r\n":
        return meta, offset + 2
    return meta, offset + 1 if data[offset:offset + 1] == b"\n" else offset
