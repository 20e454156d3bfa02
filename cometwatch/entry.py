"""Pure: what a file is, as an entry (contract §1).

`locate` reads everything that follows from a path (entry or not, trash, drafts folder,
collection, slug from the file name). `read_frontmatter` reads everything that follows from a
blob's bytes; it is the one expensive step and runs once per blob. `published_at` combines the
two at a moment T.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from cometwatch import utc
from cometwatch.config import ContentRules

_JEKYLL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}-")
_SLUG_JUNK = re.compile(r"[^\w-]+|_{2,}")
_DASHES = re.compile(r"-{2,}")


@dataclass(frozen=True, slots=True)
class Frontmatter:
    """The facts of one blob that events depend on."""

    explicit_id: str | None = None
    slug: str | None = None
    status: str | None = None  # lowercased; None when the field is absent
    draft: bool = False
    unpublished_flag: bool = False  # `published: false`
    publish_at: float | None = None
    expire_at: float | None = None
    future_at: float | None = None  # a preset's `date` that hides an entry until it passes
    broken: str | None = None  # why the block could not be read; the other fields are unset
    # Appended fields (a stored ledger row without them reads with these defaults):
    render: str | None = None  # Hugo `build.render`: always, never, link
    listed: str | None = None  # Hugo `build.list`: always, never, local
    headless: bool = False  # Hugo `headless: true`
    no_block: bool = False  # the file has no frontmatter at all (Jekyll: a static file)
    draft_set: bool = False  # the draft field is written (`draft: false` beats a cascade)
    published_set: bool = False  # the published field is written (it beats Jekyll defaults)
    fields: str = ""  # JSON object: the scalar values of rules.extra_fields the block sets


@dataclass(frozen=True, slots=True)
class Policy:
    """How the site tool decides publication for a location, as its own config says."""

    drafts: bool = False  # drafts are built (Hugo buildDrafts)
    future: bool = False  # future-dated entries are built (Hugo buildFuture, Jekyll future)
    expired: bool = False  # expired entries are built (Hugo buildExpired)
    unpublished: bool = False  # `published: false` is built (Jekyll unpublished)
    render: str = "always"  # inherited `build.render` (Hugo cascade, Zola render = false)
    listed: str = "always"  # inherited `build.list` (Hugo cascade)
    draft: bool = False  # inherited `draft: true` (Hugo cascade, Jekyll defaults)
    needs_block: bool = False  # only a file with frontmatter is a page (Jekyll)
    # (field, value) pairs, read from front matter over `defaults` (Eleventy's data files):
    defaults: tuple[tuple[str, Any], ...] = ()
    unbuilt_when: tuple[tuple[str, Any], ...] = ()  # no page written (`permalink: false`)
    unlisted_when: tuple[tuple[str, Any], ...] = ()  # written, not listed (Docusaurus
    # `unlisted: true`, Eleventy `eleventyExcludeFromCollections: true`): still published


DEFAULT_POLICY = Policy()


@dataclass(frozen=True, slots=True)
class Location:
    """What a path says about an entry."""

    path: str
    collection: str
    slug: str  # from the file name; a frontmatter `slug` overrides it
    trashed: bool
    in_drafts: bool
    name_date: float | None = None  # Jekyll: the `YYYY-MM-DD-` prefix, when rules ask for it
    locale: str | None = None  # the language of this variant; None on a site without any
    key: str = ""  # translation key: the variants of one entry share it ("": no variants)
    rank: int = 0  # language order (0: the default language); the lowest present leads
    policy: Policy = DEFAULT_POLICY
    section: bool = False  # a section's own page (`_index.md`), not a regular page
    # Decap CMS's `filter`: (field, value, collection), the collection of an entry whose front
    # matter field has that value; else `collection`
    choices: tuple[tuple[str, str, str], ...] = ()
    version: str | None = None  # the docs version this copy is (Docusaurus), None: unversioned


def locate(path: str, mode: str | None, rules: ContentRules) -> Location | None:
    """The entry a path holds, or None when it is not an entry (wrong folder, extension, mode)."""
    if mode not in ("100644", "100755"):
        return None
    return _locate(path, rules)


def entry_stem(path: str, rules: ContentRules) -> str | None:
    """The file name of `path` without its extension, when that is one the rules read as
    entries (`.md`…); else None."""
    stem, dot, ext = path.rpartition("/")[2].rpartition(".")
    return stem if dot and stem and ext.lower() in rules.extensions else None


@lru_cache(maxsize=65536)
def _locate(path: str, rules: ContentRules) -> Location | None:
    stem = entry_stem(path, rules)
    if stem is None:
        return None
    trashed = _under(path, rules.trash_dir)
    if trashed:
        relative = path[len(rules.trash_dir) + 1:] if rules.trash_dir else path
    elif not rules.content_dir:
        relative = path
    elif _under(path, rules.content_dir):
        relative = path[len(rules.content_dir) + 1:]
    else:
        return None
    if any(_glob(pattern).match(relative) for pattern in rules.exclude):
        return None
    folders = relative.split("/")[:-1]
    if folders and folders[0] in rules.language_dirs:
        folders = folders[1:]
        relative = relative.split("/", 1)[1]
    in_drafts = bool(folders) and folders[0] in rules.drafts_dirs
    collection = _collection(relative, folders, in_drafts, rules)
    name_date = None
    if rules.filename_dates and _JEKYLL_DATE.match(stem):
        name_date = utc.local(stem[:10], ZoneInfo(rules.timezone))
    return Location(path=path, collection=readable(collection),
                    slug=_slug_from_name(readable(stem), [readable(f) for f in folders], rules),
                    trashed=trashed, in_drafts=in_drafts, name_date=name_date)


def readable(name: str) -> str:
    """A path's text as a payload shows it: the bytes git gave decoded as UTF-8, each byte
    that is not (a path holds it as a surrogate escape) as U+FFFD. The path itself, its ids
    and the stored state keep the bytes."""
    if name.isascii():
        return name
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _under(path: str, folder: str) -> bool:
    return bool(folder) and path.startswith(folder + "/")


def _collection(relative: str, folders: list[str], in_drafts: bool, rules: ContentRules) -> str:
    for pattern, name in rules.collections:
        if _glob(pattern).match(relative):
            return name
    if in_drafts:
        return rules.drafts_collection
    if not folders:
        return "pages"
    return folders[0].removeprefix("_") or "pages"


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _slug_from_name(stem: str, folders: list[str], rules: ContentRules) -> str:
    if rules.strip_language_suffix and "." in stem:
        stem = stem.split(".", 1)[0]
    if stem in ("index", "_index"):  # a bundle or section page is named by its folder
        stem = folders[-1] if folders else "index"
    return slugify(_prefix(rules.date_prefix).sub("", stem, count=1)) or "index"


@lru_cache(maxsize=8)
def _prefix(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + pattern)


def slugify(text: str) -> str:
    """URL-safe: lowercase letters (Unicode letters kept, as Hugo keeps them), digits, - and _."""
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = _SLUG_JUNK.sub("-", text)
    return _DASHES.sub("-", text).strip("-")


def _read_block(data: bytes, text_fields: tuple[str, ...] = ()) -> dict[str, Any] | None:
    # the parsers (PyYAML's import alone is ~10 ms) are loaded when the first blob is read,
    # not before a history walk starts: git is already listing commits by then
    from cometwatch.metadata import read_block

    return read_block(data, text_fields)


def read_frontmatter(data: bytes, rules: ContentRules) -> Frontmatter:
    """The facts of one blob. Never raises: a block that cannot be read gives `broken`."""
    try:
        meta = _read_block(data, (*rules.id_fields, rules.slug_field, rules.status_field))
    except Exception as exc:  # any parser failure is a broken block, by contract
        return Frontmatter(broken=_one_line(exc))
    if meta is None:
        return Frontmatter(no_block=True)
    try:
        return _facts(meta, rules)
    except ValueError as exc:
        return Frontmatter(broken=str(exc))


NO_BLOCK: Any = object()  # what `frontmatter_block` gives for a file without a block


def frontmatter_block(data: bytes) -> Any:
    """The frontmatter block of a file as data (NO_BLOCK when it has none); raises what the
    parsers raise. For files that steer a site model (Hugo's `_index.md` cascade)."""
    meta = _read_block(data)
    return NO_BLOCK if meta is None else meta


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "frontmatter is not UTF-8"
    text = " ".join(str(exc).split())
    from cometwatch.metadata import BrokenBlock

    if isinstance(exc, BrokenBlock):
        return text[:300]
    return f"{type(exc).__name__}: {text}"[:300]


def _facts(meta: dict[Any, Any], rules: ContentRules) -> Frontmatter:
    explicit = None
    for name in rules.id_fields:
        value = meta.get(name)
        if value is not None and not isinstance(value, (dict, list)) and str(value) != "":
            explicit = _scalar_text(value)
            break
    slug_value = meta.get(rules.slug_field)
    slug = slugify(_scalar_text(slug_value)) if _is_scalar(slug_value) else None
    if not slug:
        slug = _slug_from_url(meta, rules.url_fields)
    status_value = meta.get(rules.status_field)
    status = _scalar_text(status_value).strip().lower() if _is_scalar(status_value) else None
    if rules.status_field in meta and status is None:
        status = ""
    zone = ZoneInfo(rules.timezone)
    build = meta.get("build")
    if not isinstance(build, dict):
        build = {"render": "never"} if meta.get("render") is False else {}  # Zola
    return Frontmatter(
        explicit_id=explicit,
        slug=slug or None,
        status=status,
        draft=_truthy(meta.get(rules.draft_field)),
        unpublished_flag=_falsy(meta.get(rules.published_field)),
        publish_at=_first_date(meta, rules.publish_date_fields, zone, rules.js_dates),
        expire_at=_first_date(meta, rules.expiry_date_fields, zone, rules.js_dates),
        future_at=_first_date(meta, rules.future_date_fields, zone, rules.js_dates),
        render=_build_option(build, "render"),
        listed=_build_option(build, "list"),
        headless=_truthy(meta.get("headless")),
        draft_set=rules.draft_field in meta,
        published_set=rules.published_field in meta,
        fields=_extra_fields(meta, rules.extra_fields),
    )


def _extra_fields(meta: dict[Any, Any], names: tuple[str, ...]) -> str:
    if not names:
        return ""
    found = {name: meta[name] for name in names
             if isinstance(meta.get(name), (str, int, float, bool))}
    return json.dumps(found, sort_keys=True, default=str) if found else ""


def front_fields(front: Frontmatter) -> dict[str, Any]:
    """The values of the site model's extra fields an entry's front matter sets."""
    return json.loads(front.fields) if front.fields else {}


def collection_of(front: Frontmatter, where: Location) -> str:
    """The entry's collection: by a front matter field where the site says so (Decap's
    `filter`), else by its path."""
    if where.choices and not front.broken:
        values = front_fields(front)
        for name, value, collection in where.choices:
            if name in values and _scalar_text(values[name]) == value:
                return collection
    return where.collection


def _field_is(front: Frontmatter, where: Location, pairs: tuple[tuple[str, Any], ...]) -> bool:
    if not pairs:
        return False
    values = {**dict(where.policy.defaults), **front_fields(front)}
    return any(name in values and type(values[name]) is type(value) and values[name] == value
               for name, value in pairs)


def _build_option(build: dict[Any, Any], name: str) -> str | None:
    value = build.get(name)
    if isinstance(value, bool):  # Hugo's old boolean form: render = false is "never"
        return "always" if value else "never"
    return value.strip().lower() if isinstance(value, str) else None


def _slug_from_url(meta: dict[Any, Any], fields: tuple[str, ...]) -> str | None:
    """The last segment of a URL field (Hugo `url`, Jekyll `permalink`, Zola `path`); a
    pattern with placeholders (`/:year/:title/`) names no slug."""
    for name in fields:
        value = meta.get(name)
        if isinstance(value, str) and ":" not in value:
            last = value.strip().rstrip("/").rpartition("/")[2]
            last = re.sub(r"\.html?$", "", last)
            if last:
                return slugify(last) or None
    return None


def _is_scalar(value: object) -> bool:
    return value is not None and not isinstance(value, (dict, list))


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in ("true", "yes"))


def _falsy(value: object) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() in ("false", "no"))


def _first_date(meta: dict[Any, Any], fields: tuple[str, ...], zone: ZoneInfo,
                js_dates: bool = False) -> float | None:
    for name in fields:
        value = meta.get(name)
        if value is None or value == "":
            continue
        moment = utc.local(value, zone)
        if moment is None and js_dates and isinstance(value, str):
            # `pubDate: 'Aug 02 2022'`, as Astro reads it (imported here: the sites package
            # imports this module)
            from cometwatch.sites.jsdate import parse_js_date

            moment = parse_js_date(value, zone)
        if moment is None:
            raise ValueError(f"{name}: not a date: {str(value)[:60]!r}")
        return moment
    return None


DRAFT, PUBLISHED, SCHEDULED, EXPIRED, UNRENDERED = (
    "draft", "published", "scheduled", "expired", "unrendered")
UNLISTED = "unlisted"  # written and published, left out of the tool's lists and collections


def status_at(front: Frontmatter, where: Location, moment: float, rules: ContentRules) -> str:
    """What the site tool does with the entry at `moment`: draft, scheduled, expired (none of
    them built), unrendered (built without a page of its own: Hugo `build.render: never`,
    headless bundles, `build.list: never`) or published."""
    policy = where.policy
    if where.trashed or where.in_drafts:
        return DRAFT
    if front.status is not None and front.status not in rules.published_values:
        return DRAFT
    inherited = policy.draft and not (front.draft_set or front.published_set)
    if front.status is None and (((front.draft or inherited) and not policy.drafts)
                                 or (front.unpublished_flag and not policy.unpublished)):
        return DRAFT
    if not policy.future:
        if front.publish_at is not None and front.publish_at > moment:
            return SCHEDULED
        future = front.future_at if front.future_at is not None else where.name_date
        if future is not None and future > moment:
            return SCHEDULED
    if not policy.expired and front.expire_at is not None and front.expire_at <= moment:
        return EXPIRED
    render = front.render or policy.render
    if front.headless or render == "never" or _unlisted(front, where) or \
            _field_is(front, where, policy.unbuilt_when):
        return UNRENDERED
    if _field_is(front, where, policy.unlisted_when):
        return UNLISTED
    return PUBLISHED


def _unlisted(front: Frontmatter, where: Location) -> bool:
    return (front.listed or where.policy.listed) == "never"


def published_at(front: Frontmatter, where: Location, moment: float, rules: ContentRules) -> bool:
    """contract §1 Published, at `moment`: the site tool builds it and lists it (Hugo: `hugo list
    published` shows it). A broken block is decided by the caller (state before)."""
    status = status_at(front, where, moment, rules)
    if status in (PUBLISHED, UNLISTED):
        return True
    return status == UNRENDERED and not front.headless and not _unlisted(front, where) \
        and not _field_is(front, where, where.policy.unbuilt_when)


def next_change(front: Frontmatter, where: Location, moment: float) -> float | None:
    """The first scheduled date after `moment` at which the published state may change."""
    if where.trashed or where.in_drafts or front.broken:
        return None
    future = front.future_at if front.future_at is not None else where.name_date
    dates = (() if where.policy.future else (front.publish_at, future)) + \
        (() if where.policy.expired else (front.expire_at,))
    later = [t for t in dates if t is not None and t > moment]
    return min(later) if later else None
