"""The entries of one cursor, held in memory for the API: loaded once per stored scan.

Each request asks the state for the cursor's (commit, generation), a one-row read; when a scan
has stored a new one since, the rows are read again (one snapshot) before the request is
answered, so a webhook's receiver always finds at least the state of the commit it was told
about. What an anonymous reader sees is decided per request from the stored dates.
"""

from __future__ import annotations

import bisect
import gc
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from cometwatch.errors import CometwatchError
from cometwatch.projection import BODY_KEY, EntryRow
from cometwatch.utc import iso as _utc_iso
from cometwatch.web.context import SiteContext

# The fields of CometCMS's stored entry that filters know without a schema.
CORE_FIELDS = ("id", "uid", "collection", "status", "published_at", "created_at",
               "updated_at", "author_id", "updated_by", "title", "slug")
ANSWER_BYTES = 16 * 1024 * 1024  # of list answers kept per catalog
# From this many files a loaded catalog is frozen out of the cyclic collector's scans (see
# Catalogs.get); a smaller one costs the collector little, less than the full collection
# freezing takes (tens of milliseconds in a process holding much else, at every commit).
FREEZE_FROM = 2_000

log = logging.getLogger("cometwatch.web")


# Entries of one commit share their dates: formatting each moment once saves most of the
# time a catalog of 10,000 entries takes to build.
utc_iso = lru_cache(maxsize=1 << 16)(_utc_iso)


class Unavailable(Exception):
    """No scan is stored for the branch yet (or the state cannot be read)."""


@dataclass(slots=True, eq=False)
class Item:
    """One file of an entry (its default file, or a locale variant)."""

    row: EntryRow
    data: dict[str, Any]
    flat: dict[str, Any]  # the entry as CometCMS stores it: what filters and sorting read
    variants: dict[str, Item] = field(default_factory=dict)  # locale → file (the default's)


class Answers:
    """Whole answers of one catalog, bounded by their size: the oldest go first."""

    def __init__(self, budget: int = ANSWER_BYTES) -> None:
        self._kept: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._budget = budget
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
            return found

    def put(self, key: Hashable, data: bytes) -> None:
        if len(data) > self._budget // 4:
            return
        with self._lock:
            if key in self._kept:
                return
            self._kept[key] = data
            self._bytes += len(data)
            while self._bytes > self._budget:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= len(dropped)


def status(row: EntryRow, now: float) -> str:
    """draft, published (scheduled ones too, with a future published_at), or archived once
    an expiry date has passed."""
    if not row.listed:
        return "draft"
    if row.visible_until is not None and now >= row.visible_until:
        return "archived"
    return "published"


class Catalog:
    def __init__(self, commit: str, generation: int, rows: Iterable[EntryRow]) -> None:
        self.commit = commit
        self.generation = generation
        self.files = 0  # rows: each entry's files (its default one and its variants)
        grouped: dict[tuple[str, str], list[Item]] = {}
        moments: set[float] = set()
        for row in rows:
            self.files += 1
            data = json.loads(row.data)
            item = Item(row, data, _flat(row, data))
            grouped.setdefault((row.collection, row.entry_id), []).append(item)
            for moment in (row.visible_from, row.visible_until):
                if moment is not None:
                    moments.add(moment)
        self.collections: dict[str, list[Item]] = {}
        # (collection, slug or id) → the entries (their default files) that answer to it
        self._by_slug: dict[tuple[str, str], list[Item]] = {}
        self._by_id: dict[tuple[str, str], list[Item]] = {}
        for (collection, entry_id), files in sorted(grouped.items()):
            # the file that speaks for the entry, as the engine's lead: the default language,
            # else the first present; a trashed one only when all are
            files.sort(key=lambda i: (i.row.trashed, i.row.rank, i.row.path))
            main = files[0]
            # the others only: a default file among its own variants would be a reference
            # cycle, which frozen catalogs (see Catalogs) must not hold
            main.variants = {i.row.locale: i for i in files[1:] if i.row.locale is not None}
            self.collections.setdefault(collection, []).append(main)
            self._by_id.setdefault((collection, entry_id), []).append(main)
            for slug in dict.fromkeys(i.row.slug for i in files):
                self._by_slug.setdefault((collection, slug), []).append(main)
        self._known: dict[tuple[str, int], bool] = {}
        self._seen: dict[tuple[str, bool, bool, str | None, int], list[Item]] = {}
        self._moments = sorted(moments)
        self.rendered: dict[tuple[str, str, bool], str] = {}  # (path, status, admin) → JSON
        self.answers = Answers()  # whole list answers, by reader, moment and request
        self.types: dict[tuple[bool, int], dict[str, dict[str, Any]]] = {}

    def epoch(self, now: float) -> int:
        """How many scheduled moments have passed: what anonymous answers change with."""
        return bisect.bisect_right(self._moments, now)

    def entries(self, collection: str, admin: bool, trash: bool, now: float,
                locale: str | None) -> list[Item]:
        """The files a reader sees in a collection, one per entry (in `locale` when the entry
        has that variant). Anonymous: published now. A token: all, the trash only if asked."""
        key = (collection, admin, trash, locale, -1 if admin else self.epoch(now))
        found = self._seen.get(key)
        if found is None:
            # what a reader sees changes only with the epoch: computed once per moment passed
            found = [chosen for main in self.collections.get(collection, ())
                     if (chosen := _pick(main, admin, trash, now, locale)) is not None]
            if len(self._seen) > 256:
                self._seen.clear()
            self._seen[key] = found
        return found

    def known(self, collection: str, admin: bool, now: float) -> bool:
        """A collection a reader may know of: one with an entry it can see (with a token,
        any entry, the trash included)."""
        if admin:
            return collection in self.collections
        key = (collection, self.epoch(now))
        found = self._known.get(key)
        if found is None:
            found = self._known[key] = any(
                _pick(main, False, False, now, None) is not None
                for main in self.collections.get(collection, ()))
        return found

    def find(self, collection: str, identifier: str, admin: bool, now: float,
             locale: str | None) -> Item | None:
        """An entry by slug, else by id. With a token the trash is searched too."""
        for index in (self._by_slug, self._by_id):
            found = [chosen for main in index.get((collection, identifier), ())
                     if (chosen := _pick(main, admin, admin, now, locale)) is not None]
            # a slug several entries share (a docs site's versions): the one in the locale
            # asked for, if any is
            for chosen in found:
                if locale is None or chosen.row.locale == locale:
                    return chosen
            if found:
                return found[0]
        return None


def load(site: SiteContext, cached: Catalog | None) -> Catalog:
    """The catalog of the cursor now: `cached` when no scan was stored since."""
    from cometwatch.errors import StateError

    try:
        store = site.reader()
        mark = store.cursor_mark(site.branch)
        if mark is None:
            raise Unavailable("no scan is stored yet")
        if cached is not None and (cached.commit, cached.generation) == mark:
            return cached
        if not store.entries_built(site.branch):  # a state from before the projection
            raise Unavailable("the entries are written at the next scan")
        found = store.entries_at(site.branch)
    except StateError as exc:
        raise Unavailable(str(exc)) from exc
    if found is None:
        raise Unavailable("no scan is stored yet")
    return Catalog(*found)


class Catalogs:
    """The newest catalog, reloaded by one thread at a time."""

    def __init__(self, site: SiteContext) -> None:
        self._site = site
        self._current: Catalog | None = None
        self._lock = threading.Lock()
        self._frozen = False  # this loaded a catalog large enough to freeze, and froze it

    def get(self) -> Catalog:
        current = self._current
        try:
            mark = self._site.reader().cursor_mark(self._site.branch)
        except Exception as exc:  # a StateError: the state cannot be read
            raise Unavailable(str(exc)) from exc
        if current is not None and mark == (current.commit, current.generation):
            return current
        with self._lock:
            loaded = load(self._site, self._current)
            if loaded is not self._current:
                self._current = loaded
                self._warm(loaded)
                # A catalog is read-only and can be large: keep the cyclic collector from
                # scanning its objects again and again (a full pass over 10,000 entries takes
                # tens of milliseconds, paid by whichever request triggers it). What was frozen
                # at the last load is thawed and collected first, so garbage from then is not
                # kept. A small catalog is not worth the full collection that freezing takes.
                large = loaded.files >= FREEZE_FROM
                if large or self._frozen:
                    gc.unfreeze()
                    gc.collect()
                    if large:
                        gc.freeze()
                    self._frozen = large
            return self._current


    def _warm(self, catalog: Catalog) -> None:
        """Read the catalog's bodies ahead in batches: a first GET of an entry otherwise
        waits for a round trip through git cat-file of its own (most of its cost)."""
        shas = [item.row.blob for items in catalog.collections.values() for main in items
                for item in (main, *main.variants.values())]
        try:
            self._site.blobs.warm(shas)
        except CometwatchError as exc:  # each request reads its own body, and says so
            log.warning("API: reading the bodies ahead failed: %s", exc)


def render(item: Item, catalog: Catalog, admin: bool, now: float, body: str,
           authors: bool = False) -> str:
    """The entry as CometCMS's payload, JSON text; null fields left out."""
    row = item.row
    state = status(row, now)
    key = (row.path, state, admin)
    text = catalog.rendered.get(key)
    if text is None:
        data = dict(item.data)
        data[BODY_KEY] = body
        out: dict[str, Any] = {
            "id": row.entry_id, "slug": row.slug, "type": row.collection, "status": state,
            "title": row.title,
            "published_at": None if row.published_at is None else utc_iso(row.published_at),
            "created_at": utc_iso(row.created_at), "updated_at": utc_iso(row.updated_at),
            "author_id": row.author if authors else None,
            "updated_by": row.updated_by if authors else None,
            "locale": row.locale, "data": data,
        }
        if admin and row.deleted_at is not None:
            out["deleted_at"] = utc_iso(row.deleted_at)
        text = json.dumps({k: v for k, v in out.items() if v is not None}, ensure_ascii=False,
                          separators=(",", ":"))
        catalog.rendered[key] = text
    return text


def content_types(catalog: Catalog, admin: bool, now: float,
                  slug_field: str) -> dict[str, dict[str, Any]]:
    """A content type per collection a reader can see, from the fields its entries carry."""
    key = (admin, -1 if admin else catalog.epoch(now))
    cached = catalog.types.get(key)
    if cached is not None:
        return cached
    out: dict[str, dict[str, Any]] = {}
    for collection in sorted(catalog.collections):
        items = catalog.entries(collection, admin, False, now, None)
        if not items:
            continue
        seen: dict[str, set[str]] = {}
        locales: set[str] = set()
        for main in items:
            for item in (main, *main.variants.values()):
                if not admin and not item.row.visible(now):
                    continue
                if item.row.locale:
                    locales.add(item.row.locale)
                for name, value in item.data.items():
                    kind = _kind(value)
                    if kind:
                        seen.setdefault(name, set()).add(kind)
        fields = {name: {"type": next(iter(kinds)) if len(kinds) == 1 else "json",
                         "label": _label(name)} for name, kinds in sorted(seen.items())
                  if name != BODY_KEY}
        fields[BODY_KEY] = {"type": "markdown", "label": "Body"}
        out[collection] = {
            "name": collection, "label": _label(collection), "icon": "file-text",
            "singleton": False, "slug_field": slug_field, "slug_source": "path",
            "locales": sorted(locales), "default_locale": "", "fields": fields,
        }
    catalog.types[key] = out
    return out


def _pick(main: Item, admin: bool, trash: bool, now: float, locale: str | None) -> Item | None:
    """The file of an entry a reader gets: its `locale` variant if it has one the reader may
    see, else its default file if that one may be seen, else None."""
    chosen = main.variants.get(locale, main) if locale else main
    if admin:
        return chosen if trash or not chosen.row.trashed else None
    if chosen.row.visible(now):
        return chosen
    return main if chosen is not main and main.row.visible(now) else None


def _flat(row: EntryRow, data: dict[str, Any]) -> dict[str, Any]:
    flat = dict(data)
    flat.update({
        "id": row.entry_id, "uid": row.entry_id, "collection": row.collection,
        "slug": row.slug, "title": row.title,
        "published_at": None if row.published_at is None else utc_iso(row.published_at),
        "created_at": utc_iso(row.created_at), "updated_at": utc_iso(row.updated_at),
        "author_id": row.author, "updated_by": row.updated_by,
    })
    return flat


def _kind(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "datetime" if len(value) >= 10 and value[4:5] == "-" and \
            value[:4].isdigit() and value[5:7].isdigit() else "text"
    return "json"


def _label(name: str) -> str:
    text = name.replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:] if text else name
