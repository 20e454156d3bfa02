"""The entries of one cursor, held in memory for the API: loaded once per stored scan.

Each request asks the state for the cursor's (commit, generation), a one-row read; when a scan
has stored a new one since, the rows are read again (one snapshot) before the request is
answered, so a webhook's receiver always finds at least the state of the commit it was told
about. What an anonymous reader sees is decided per request from the stored dates.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cometwatch.projection import BODY_KEY, EntryRow
from cometwatch.utc import iso as utc_iso
from cometwatch.web.context import SiteContext

# The fields of CometCMS's stored entry that filters know without a schema.
CORE_FIELDS = ("id", "uid", "collection", "status", "published_at", "created_at",
               "updated_at", "author_id", "updated_by", "title", "slug")
_ISO_DATE = ("%Y-%m-%d",)


class Unavailable(Exception):
    """No scan is stored for the branch yet (or the state cannot be read)."""


@dataclass(slots=True, eq=False)
class Item:
    """One file of an entry (its default file, or a locale variant)."""

    row: EntryRow
    data: dict[str, Any]
    flat: dict[str, Any]  # the entry as CometCMS stores it: what filters and sorting read
    variants: dict[str, Item] = field(default_factory=dict)  # locale → file (the default's)


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
        grouped: dict[tuple[str, str], list[Item]] = {}
        moments: set[float] = set()
        for row in rows:
            data = json.loads(row.data)
            item = Item(row, data, _flat(row, data))
            grouped.setdefault((row.collection, row.entry_id), []).append(item)
            for moment in (row.visible_from, row.visible_until):
                if moment is not None:
                    moments.add(moment)
        self.collections: dict[str, list[Item]] = {}
        for (collection, _), files in sorted(grouped.items()):
            files.sort(key=lambda i: (i.row.rank, i.row.locale or "", i.row.path))
            main = files[0]
            main.variants = {i.row.locale: i for i in files if i.row.locale is not None}
            self.collections.setdefault(collection, []).append(main)
        self._moments = sorted(moments)
        self.rendered: dict[tuple[str, str, bool], str] = {}  # (path, status, admin) → JSON
        self.types: dict[tuple[bool, int], dict[str, dict[str, Any]]] = {}

    def epoch(self, now: float) -> int:
        """How many scheduled moments have passed: what anonymous answers change with."""
        return bisect.bisect_right(self._moments, now)

    def entries(self, collection: str, admin: bool, trash: bool, now: float,
                locale: str | None) -> list[Item]:
        """The files a reader sees in a collection, one per entry (in `locale` when the entry
        has that variant). Anonymous: published now. A token: all, the trash only if asked."""
        out = []
        for main in self.collections.get(collection, ()):
            chosen = _variant(main, locale)
            if admin:
                if trash or not chosen.row.trashed:
                    out.append(chosen)
            elif chosen.row.visible(now):
                out.append(chosen)
            elif chosen is not main and main.row.visible(now):
                out.append(main)
        return out

    def find(self, collection: str, identifier: str, admin: bool, now: float,
             locale: str | None) -> Item | None:
        """An entry by slug, else by id. With a token the trash is searched too."""
        candidates = self.entries(collection, admin, admin, now, locale)
        for item in candidates:
            if item.row.slug == identifier:
                return item
        for item in candidates:
            if item.row.entry_id == identifier:
                return item
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

    def get(self) -> Catalog:
        current = self._current
        try:
            mark = self._site.reader().cursor_mark(self._site.branch)
        except Exception as exc:  # a StateError: the state cannot be read
            raise Unavailable(str(exc)) from exc
        if current is not None and mark == (current.commit, current.generation):
            return current
        with self._lock:
            self._current = load(self._site, self._current)
            return self._current


def render(item: Item, catalog: Catalog, admin: bool, now: float, body: str) -> str:
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


def _variant(main: Item, locale: str | None) -> Item:
    return main.variants.get(locale, main) if locale else main


def _flat(row: EntryRow, data: dict[str, Any]) -> dict[str, Any]:
    flat = dict(data)
    flat.update({
        "id": row.entry_id, "uid": row.entry_id, "collection": row.collection,
        "slug": row.slug, "title": row.title,
        "published_at": None if row.published_at is None else utc_iso(row.published_at),
        "created_at": utc_iso(row.created_at), "updated_at": utc_iso(row.updated_at),
        "author_id": None, "updated_by": None,
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
