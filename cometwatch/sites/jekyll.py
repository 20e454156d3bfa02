"""Pure: a Jekyll site as Jekyll 4 reads it, from its `_config.yml` at one commit.

Read: `_config.yml` (`.yaml`, `.toml`): `source`, `collections` (a table or a list) with
`output`, `collections_dir`, `exclude` and `include` on top of Jekyll's own defaults, `future`,
`unpublished`, `show_drafts`, `timezone`, `defaults` (`published: false` by `path` and
`type`). Posts are `_posts/YYYY-MM-DD-name.ext` files in the source or any folder of it Jekyll
walks (a name without the date is not a post), drafts are `_drafts/`; pages and collection
documents are files with front matter (without, Jekyll copies them as static files); names
starting with `.`, `_`, `#` or ending in `~` are skipped unless included. A `permalink` in
front matter names the slug.

Not read (yet): `--config` overlays, `plugins` that add pages, site-wide and per-collection
permalink patterns (the slug stays the file's name), `defaults` other than `published`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cometwatch import utc
from cometwatch.config import ContentRules
from cometwatch.entry import Location, Policy, entry_stem, slugify
from cometwatch.sites import SiteBase, SiteConfigError, Steer, remembered
from cometwatch.sites.formats import line_of, parse_data

CONFIGS = ("_config.yml", "_config.yaml", "_config.toml")
DEFAULT_EXCLUDE = (".sass-cache", ".jekyll-cache", "gemfiles", "Gemfile", "Gemfile.lock",
                   "node_modules", "vendor/bundle/", "vendor/cache/", "vendor/gems/",
                   "vendor/ruby/")
DEFAULT_INCLUDE = (".htaccess",)
_POST_NAME = re.compile(r"^(\d{2,4}-\d{1,2}-\d{1,2})-(.+)$")


@dataclass(frozen=True, slots=True)
class Scope:
    """One `defaults` item that unpublishes what it covers."""

    path: str  # relative to the source; "" for everything
    type: str | None  # pages, posts, drafts or a collection's name


@dataclass(frozen=True, slots=True)
class JekyllSite:
    rules: ContentRules
    source: str  # repository folder of the site's source
    collections_dir: str  # repository folder holding `_name` collections, `_posts`, `_drafts`
    collections: tuple[tuple[str, bool], ...] = ()  # (name, output)
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    include: tuple[str, ...] = DEFAULT_INCLUDE
    future: bool = False
    unpublished: bool = False
    show_drafts: bool = False
    destination: str = "_site"
    unpublishing: tuple[Scope, ...] = ()
    warnings: tuple[str, ...] = ()
    _cache: dict[str, Location | None] = field(default_factory=dict, init=False,
                                               compare=False, repr=False, hash=False)

    def scope(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.source, self.rules.trash_dir)))

    def locate(self, path: str) -> Location | None:
        return remembered(self._cache, path, self._locate, self.rules.trash_dir,
                          self.rules.content_dir)

    def _locate(self, path: str) -> Location | None:
        rules = self.rules
        stem = entry_stem(path, rules)
        if stem is None:
            return None
        relative = _under(path, self.source)
        if relative is None or self._excluded(relative):
            return None
        parts = relative.split("/")
        in_collections = _under(path, self.collections_dir)
        if in_collections is not None:
            first = in_collections.split("/", 1)[0]
            for collection, output in self.collections:
                if first == f"_{collection}" and collection != "posts":
                    return self._entry(path, in_collections, collection, relative,
                                       render=output)
        for index, part in enumerate(parts[:-1]):
            if part in ("_posts", "_drafts"):
                if self.collections_dir and in_collections is None:
                    return None  # with collections_dir, posts live there
                drafts = part == "_drafts"
                match = _POST_NAME.match(stem)
                if not drafts and match is None:
                    return None  # Jekyll skips a post whose name has no date
                return self._post(path, stem, relative, drafts)
            if self._skipped(part, "/".join(parts[:index + 1])):
                return None
        if self._skipped(path.rpartition("/")[2], relative):
            return None
        folders = parts[:-1]
        return self._page(path, stem, folders, relative)

    def _page(self, path: str, stem: str, folders: list[str], relative: str) -> Location:
        slug = (folders[-1] if folders else "index") if stem == "index" else stem
        return Location(path=path, collection=folders[0] if folders else "pages",
                        slug=slugify(slug.lstrip("_")) or "index", trashed=False,
                        in_drafts=False, policy=self._policy(relative, "pages", future=True))

    def _post(self, path: str, stem: str, relative: str, drafts: bool) -> Location:
        match = _POST_NAME.match(stem)
        name_date = utc.local(match.group(1), ZoneInfo(self.rules.timezone)) \
            if match else None
        slug = match.group(2) if match else stem
        return Location(path=path, collection="posts", slug=slugify(slug) or "index",
                        trashed=False, in_drafts=drafts and not self.show_drafts,
                        name_date=name_date,
                        policy=replace(self._policy(relative, "drafts" if drafts else "posts",
                                                    future=self.future), needs_block=False))

    def _entry(self, path: str, inner: str, collection: str, relative: str,
               render: bool) -> Location:
        parts = inner.split("/")
        stem = parts[-1].rpartition(".")[0]
        folders = parts[:-1]
        slug = (folders[-1] if folders else "index") if stem == "index" else stem
        policy = self._policy(relative, collection, future=self.future)
        return Location(path=path, collection=collection, slug=slugify(slug.lstrip("_"))
                        or "index", trashed=False, in_drafts=False,
                        policy=policy if render else replace(policy, render="never"))

    def _policy(self, relative: str, kind: str, future: bool) -> Policy:
        # Jekyll merges `defaults` into documents (posts, collections) before it decides, but
        # a page's `published` is fetched without them: a default never unpublishes a page
        hidden = kind != "pages" and any((not scope.path or relative == scope.path
                      or relative.startswith(scope.path.rstrip("/") + "/"))
                     and scope.type in (None, kind) for scope in self.unpublishing)
        return Policy(future=future, unpublished=self.unpublished, draft=hidden,
                      needs_block=True)

    def _excluded(self, relative: str) -> bool:
        if relative == self.destination or relative.startswith(self.destination + "/"):
            return True
        return _matches(relative, self.exclude) and not _matches(relative, self.include)

    def _skipped(self, part: str, relative: str) -> bool:
        """Jekyll's EntryFilter: `.name`, `_name`, `#name`, `name~` unless included."""
        special = part.startswith((".", "_", "#")) or part.endswith("~")
        return special and not _matches(relative, self.include)


def _matches(relative: str, patterns: tuple[str, ...]) -> bool:
    """Whether a path or a folder above it is one of `patterns` (Jekyll's glob_include?)."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        pattern = pattern.strip().lstrip("/").removeprefix("./")
        folder = pattern.rstrip("/")
        if not folder:
            continue
        for prefix in prefixes:
            if prefix == folder or fnmatch.fnmatchcase(prefix, folder):
                return True
    return False


def _under(path: str, folder: str) -> str | None:
    if not folder:
        return path
    return path[len(folder) + 1:] if path.startswith(folder + "/") else None


class Jekyll:
    name = "jekyll"

    def pathspecs(self) -> tuple[str, ...]:
        return CONFIGS

    def steers(self, relative: str) -> Steer | None:
        return Steer.READ if relative in CONFIGS else None

    def parse(self, relative: str, data: bytes) -> Any:
        value = parse_data(relative, data) or {}
        if not isinstance(value, dict):
            raise SiteConfigError("the top level is not a mapping")
        lines = {key: line for key in ("collections", "exclude", "include", "timezone",
                                       "future", "defaults", "source")
                 if (line := line_of(data, key)) is not None}
        return {"data": value, "lines": lines}

    def build(self, parsed: Mapping[str, Any], present: frozenset[str],
              base: SiteBase) -> JekyllSite:
        name = next((n for n in CONFIGS if n in parsed), CONFIGS[0])
        config: dict[str, Any] = parsed[name]["data"] if name in parsed else {}
        lines: dict[str, int] = parsed[name]["lines"] if name in parsed else {}
        warnings: list[str] = []
        keep = base.overrides

        def bad(key: str, problem: str) -> None:
            line = lines.get(key)
            warnings.append(f"{base.path(name)}{f' line {line}' if line else ''}: {key} "
                            f"{problem}; Jekyll's default is used")

        def text(key: str, default: str) -> str:
            value = config.get(key, default)
            if value is None:
                return default
            if not isinstance(value, str):
                bad(key, "is not a string")
                return default
            return value

        def flag(key: str) -> bool:
            value = config.get(key, False)
            if not isinstance(value, bool):
                bad(key, "is not true or false")
                return False
            return value

        def strings(key: str) -> tuple[str, ...]:
            value = config.get(key) or []
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list):
                bad(key, "is not a list")
                return ()
            return tuple(str(v) for v in value if isinstance(v, (str, int, float)))

        source = base.path(_clean(text("source", "")))
        collections_dir = "/".join(p for p in (source, _clean(text("collections_dir", "")))
                                   if p)
        collections = _collections(config.get("collections"), bad)
        unpublishing = _unpublishing(config.get("defaults"), bad)
        rules = base.rules
        changes: dict[str, Any] = {
            "status_field": "", "draft_field": "", "publish_date_fields": (),
            "expiry_date_fields": (), "future_date_fields": ("date",), "drafts_dirs": (),
            "url_fields": ("permalink",), "content_dir": source,
            "trash_dir": f"{source}/.trash" if source else ".trash",
        }
        zone = text("timezone", "")
        if zone:
            try:
                ZoneInfo(zone)
                changes["timezone"] = zone
            except (ZoneInfoNotFoundError, ValueError):
                bad("timezone", f"is no time zone ({zone!r})")
        if "content_dir" in keep:
            changes.pop("trash_dir")
        rules = replace(rules, **{k: v for k, v in changes.items() if k not in keep})
        return JekyllSite(
            rules=rules, source=source, collections_dir=collections_dir,
            collections=collections,
            exclude=tuple(dict.fromkeys((*strings("exclude"), *DEFAULT_EXCLUDE))),
            include=tuple(dict.fromkeys((*strings("include"), *DEFAULT_INCLUDE))),
            future=flag("future"), unpublished=flag("unpublished"),
            show_drafts=flag("show_drafts"),
            destination=_clean(text("destination", "_site")) or "_site",
            unpublishing=unpublishing, warnings=tuple(warnings))


def _clean(folder: str) -> str:
    folder = folder.strip().strip("/")
    return "" if folder in (".", "./") else folder.removeprefix("./")


def _collections(value: Any, bad: Any) -> tuple[tuple[str, bool], ...]:
    found: dict[str, bool] = {"posts": True}
    if isinstance(value, list):
        for name in value:
            found[str(name)] = False  # a listed collection has output: false by default
    elif isinstance(value, dict):
        for name, settings in value.items():
            output = settings.get("output", False) if isinstance(settings, dict) else False
            found[str(name)] = output is True or str(name) == "posts"
    elif value is not None:
        bad("collections", "is neither a table nor a list")
    return tuple(found.items())


def _unpublishing(value: Any, bad: Any) -> tuple[Scope, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        bad("defaults", "is not a list")
        return ()
    found = []
    for item in value:
        if not isinstance(item, dict):
            continue
        scope: dict[str, Any] = item["scope"] if isinstance(item.get("scope"), dict) else {}
        values: dict[str, Any] = item["values"] if isinstance(item.get("values"), dict) else {}
        if values.get("published") is False:
            path = scope.get("path", "")
            kind = scope.get("type")
            found.append(Scope(_clean(str(path or "")), str(kind) if kind else None))
    return tuple(found)
