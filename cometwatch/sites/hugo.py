"""Pure: a Hugo site as Hugo reads it, from its own configuration at one commit.

Read: the root config (`hugo.{toml,yaml,yml,json}`, else `config.{toml,yaml,yml,json}`) over
`config/_default/*` and `config/production/*` (a file named after a key, `languages.toml`,
is that key); `contentDir`; `languages` (`contentDir`, `weight`, `disabled`) with
`defaultContentLanguage` and `disableLanguages`; `module.mounts` targeting `content` (`lang`,
`excludeFiles`, `includeFiles`); `timeZone`; `buildDrafts`, `buildFuture`, `buildExpired`;
`[frontmatter]` `publishDate` / `expiryDate`; `ignoreFiles`; `cascade` in the config and in
every `_index.*` (its `build` options and `draft`, `_target` by path, kind and lang).
Leaf bundles (a folder with an `index.*`) hold resources, not pages. A translation is a file
`name.LANG.ext` for a configured language code, or a file under a language's content folder.

Not read (yet): themes' and modules' own content, `translationKey` front matter, `:filename`
and `:git` dates, the `sites` matrix of mounts beyond its languages, segments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cometwatch.config import ContentRules
from cometwatch.entry import DEFAULT_POLICY, Location, Policy, entry_stem, slugify
from cometwatch.sites import SiteBase, SiteConfigError, Steer, remembered
from cometwatch.sites.formats import line_of, lowered, merged, parse_data, parse_frontmatter
from cometwatch.sites.jsglob import matches
from cometwatch.sites.page import join

ROOT_CONFIGS = ("hugo.toml", "hugo.yaml", "hugo.yml", "hugo.json",
                "config.toml", "config.yaml", "config.yml", "config.json")
_DATA = ("toml", "yaml", "yml", "json")
_MOUNT_KEYS = {"source", "target", "lang", "includefiles", "excludefiles", "sites",
               "disablewatch"}
_ENVIRONMENTS = ("_default", "production")  # `hugo` builds for production
_CONTENT = ("md", "markdown", "mdown", "html", "htm", "adoc", "pdc", "org", "rst")
# Hugo's own front matter date lists; `published` is a date there (never `published: false`)
_PUBLISH = ("publishdate", "pubdate", "published", "date")
_EXPIRY = ("expirydate", "unpublishdate")
_SPELLINGS = {"publishdate": ("publishDate", "PublishDate"), "pubdate": ("pubDate",),
              "expirydate": ("expiryDate", "ExpiryDate"), "unpublishdate": ("unpublishDate",),
              "date": ("Date",)}


@dataclass(frozen=True, slots=True)
class Root:
    """A folder mounted into Hugo's content tree."""

    folder: str  # repository path of the mounted source
    target: str  # where it lands under content/ ("" for content itself)
    locale: str | None  # a language mount (`lang`, a language's contentDir); None: by name
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cascade:
    """One cascade block: values for the descendants of a section, with its `_target`."""

    folder: str  # the section, as a path under content/ ("" for the home page)
    locale: str | None
    values: tuple[tuple[str, Any], ...]  # render, list, draft
    path: str | None = None  # `_target.path` glob
    kind: str | None = None
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class HugoSite:
    rules: ContentRules
    roots: tuple[Root, ...]
    languages: tuple[str, ...] = ()  # configured codes, the default first; () for none
    disabled: tuple[str, ...] = ()  # configured, but disabled: their files are not built
    default_language: str = "en"
    policy: Policy = DEFAULT_POLICY
    bundles: frozenset[str] = frozenset()  # repository folders holding a leaf bundle's index
    cascades: tuple[Cascade, ...] = ()
    ignore: tuple[str, ...] = ()  # ignoreFiles regular expressions
    warnings: tuple[str, ...] = ()
    _cache: dict[str, Location | None] = field(default_factory=dict, init=False,
                                               compare=False, repr=False, hash=False)

    def scope(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*(root.folder for root in self.roots),
                                    self.rules.trash_dir]))

    def locate(self, path: str) -> Location | None:
        return remembered(self._cache, path, self._locate, self.rules.trash_dir,
                          self.rules.content_dir)

    def _locate(self, path: str) -> Location | None:
        rules = self.rules
        stem = entry_stem(path, rules)
        if stem is None:
            return None
        placed = self._place(path)
        if placed is None:
            return None
        root, inner = placed
        if any(part.startswith(".") for part in inner.split("/")):
            return None  # Hugo skips hidden files and folders
        if any(re.search(pattern, inner) for pattern in self.ignore):
            return None
        folder = path.rpartition("/")[0]
        if self._in_bundle(folder, root, stem):
            return None  # a leaf bundle's resource, not a page
        locale: str | None = root.locale
        if "." in stem:  # `name.LANG`: only a language the site configures (or its default)
            head, _, code = stem.rpartition(".")
            if code in (self.languages or (self.default_language,)) or code in self.disabled:
                stem, locale = head, code
        if self.languages:
            locale = locale or self.default_language
            if locale not in self.languages:
                return None  # a language the site does not build
        site_path = "/".join(p for p in (root.target, inner) if p)
        if any(_glob(pattern).match(site_path) for pattern in rules.exclude):
            return None
        folders = site_path.split("/")[:-1]
        section = stem == "_index"
        if stem in ("index", "_index"):
            slug = folders[-1] if folders else "index"
            # a leaf bundle `about/index.md` is the page /about, as `about.md` is: Hugo pairs
            # them as translations; a section's `_index.md` is a page of another kind
            key = "/".join(folders if stem == "index" else [*folders, stem])
        else:
            slug = stem
            key = "/".join([*folders, stem])
        # a leaf bundle is a page of its parent's section, not a section of its own
        sections = folders[:-1] if stem == "index" else folders
        collection = next((name for pattern, name in rules.collections
                           if _glob(pattern).match(site_path)),  # webhooks.toml's own
                          sections[0] if sections else "pages")
        return Location(
            path=path, collection=collection,
            slug=slugify(slug) or "index", trashed=False, in_drafts=False,
            locale=locale if self.languages else None,
            key=key if len(self.languages) > 1 else "",
            rank=self.languages.index(locale) if locale in self.languages else 0,
            policy=self._policy("/".join(folders), locale, section, site_path),
            section=section)

    def _place(self, path: str) -> tuple[Root, str] | None:
        best: tuple[Root, str] | None = None
        for root in self.roots:
            if root.folder and path == root.folder and root.target:
                # a file mount (`../README.md` → content/site/repo/README.md): the page is
                # the target's name in the target's folder
                folder, _, name = root.target.rpartition("/")
                best = (replace(root, target=folder), name)
                continue
            if root.folder and not path.startswith(root.folder + "/"):
                continue
            inner = path[len(root.folder) + 1:] if root.folder else path
            if root.include and not matches(inner, root.include):
                continue
            if root.exclude and matches(inner, root.exclude):
                continue
            if best is None or len(root.folder) > len(best[0].folder):
                best = (root, inner)
        return best

    def _in_bundle(self, folder: str, root: Root, stem: str) -> bool:
        own = stem.partition(".")[0] == "index"
        while folder and (not root.folder or folder.startswith(root.folder)):
            if folder in self.bundles and not own:
                return True
            own = False
            if folder == root.folder:
                break
            folder = folder.rpartition("/")[0]
        return False

    def _policy(self, folder: str, locale: str | None, section: bool,
                site_path: str) -> Policy:
        policy = self.policy
        if not self.cascades:
            return policy
        values: dict[str, Any] = {}
        kind = "section" if section else "page"
        # outermost first: a nearer section's cascade overrides a farther one's
        for cascade in self.cascades:
            if cascade.locale not in (None, locale) or not _below(folder, cascade.folder,
                                                                  section):
                continue
            if cascade.kind and not matches(kind, (cascade.kind,)):
                continue
            if cascade.lang and locale and not matches(locale, (cascade.lang,)):
                continue
            if cascade.path and not matches("/" + site_path.rpartition(".")[0],
                                            (cascade.path,)):
                continue
            values.update(cascade.values)
        if not values:
            return policy
        return replace(policy, render=str(values.get("render", policy.render)),
                       listed=str(values.get("list", policy.listed)),
                       draft=bool(values.get("draft", policy.draft)))


def _below(folder: str, section: str, is_section: bool) -> bool:
    """Whether a page in `folder` is `section`'s or a descendant's (a section's own page takes
    its own cascade too, as Hugo applies it)."""
    if not section:
        return True
    return folder == section or folder.startswith(section + "/")


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    from cometwatch.sites.jsglob import compile_glob

    return compile_glob(pattern)


class Hugo:
    name = "hugo"

    def pathspecs(self) -> tuple[str, ...]:
        return (*ROOT_CONFIGS, "config")

    def steers(self, relative: str) -> Steer | None:
        name = relative.rpartition("/")[2]
        if relative in ROOT_CONFIGS:
            return Steer.READ
        ext = name.rpartition(".")[2].lower()
        if relative.startswith("config/") and ext in _DATA and relative.count("/") == 2:
            return Steer.READ
        if ext in _CONTENT:
            stem = name.partition(".")[0]
            if stem == "_index":
                return Steer.READ
            if stem == "index":
                return Steer.PRESENCE
        return None

    def parse(self, relative: str, data: bytes) -> Any:
        name = relative.rpartition("/")[2]
        if name.startswith(("_index.", "index.")):
            meta = parse_frontmatter(data)
            return {"cascade": lowered(meta.get("cascade"))} if "cascade" in meta else {}
        value = parse_data(name, data)
        if not isinstance(value, dict):
            raise SiteConfigError("the top level is not a table")
        return {"data": lowered(value), "lines": _lines(data)}

    def build(self, parsed: Mapping[str, Any], present: frozenset[str],
              base: SiteBase) -> HugoSite:
        config, lines = _config(parsed)
        warnings: list[str] = []
        keep = base.overrides
        rules = base.rules

        def text(key: str, default: str) -> str:
            value = config.get(key, default)
            if not isinstance(value, str):
                warnings.append(_bad(lines, key, "is not a string"))
                return default
            return value

        def flag(key: str) -> bool:
            value = config.get(key, False)
            if not isinstance(value, bool):
                warnings.append(_bad(lines, key, "is not true or false"))
                return False
            return value

        content = text("contentdir", "content").strip("/") or "content"
        default = text("defaultcontentlanguage", "en").lower() or "en"
        languages, dirs, disabled = _languages(config, default, lines, warnings)
        roots = _roots(config, base, content, languages, dirs, lines, warnings)
        content_dir = base.path(content)
        changes: dict[str, Any] = {"status_field": "", "published_field": "",
                                   "drafts_dirs": (), "strip_language_suffix": False,
                                   "future_date_fields": (), "url_fields": ("url",)}
        if "content_dir" not in keep:
            changes["content_dir"] = content_dir
            if "trash_dir" not in keep:
                changes["trash_dir"] = f"{content_dir}/.trash"
        zone = text("timezone", "")
        if zone and "timezone" not in keep:
            try:
                ZoneInfo(zone)
                changes["timezone"] = zone
            except (ZoneInfoNotFoundError, ValueError):
                warnings.append(_bad(lines, "timezone", f"unknown time zone {zone!r}"))
        front = _table(config, "frontmatter")
        if "publish_date_fields" not in keep:
            changes["publish_date_fields"] = _date_fields(front.get("publishdate"), _PUBLISH)
        if "expiry_date_fields" not in keep:
            changes["expiry_date_fields"] = _date_fields(front.get("expirydate"), _EXPIRY)
        for key in list(changes):
            if key in keep:
                del changes[key]
        rules = replace(rules, **changes)
        policy = Policy(drafts=flag("builddrafts"), future=flag("buildfuture"),
                        expired=flag("buildexpired"))
        ignore = tuple(str(p) for p in config.get("ignorefiles") or () if _regex(str(p)))
        bundles = frozenset(base.path(p.rpartition("/")[0]) for p in present)
        site = HugoSite(rules=rules, roots=roots, languages=languages, disabled=disabled,
                        default_language=default,
                        policy=policy, bundles=bundles, ignore=ignore,
                        warnings=tuple(warnings))
        cascades = _cascades(config, parsed, site, base)
        return replace(site, cascades=cascades) if cascades else site


def _lines(data: bytes) -> dict[str, int]:
    """Where the keys the site model reads are written, for warnings about their values."""
    keys = ("contentDir", "defaultContentLanguage", "timeZone", "buildDrafts", "buildFuture",
            "buildExpired", "languages", "mounts")
    return {key.lower(): line for key in keys if (line := line_of(data, key) or
                                                  line_of(data, key.lower())) is not None}


def _bad(lines: dict[str, tuple[str, int | None]], key: str, problem: str) -> str:
    file, line = lines.get(key, ("hugo.toml", None))
    return f"{file}{f' line {line}' if line else ''}: {key} {problem}; Hugo's default is used"


def _config(parsed: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, tuple[str, int | None]]]:
    """The merged config, as Hugo merges it, and where each key the model reads came from."""
    config: dict[str, Any] = {}
    lines: dict[str, tuple[str, int | None]] = {}

    def add(path: str, data: dict[str, Any], where: dict[str, int], under: str | None) -> None:
        nonlocal config
        config = merged(config, {under: data} if under else data)
        for key, line in where.items():
            lines[key] = (path, line)
        for key in data:
            lines.setdefault(key, (path, None))

    for env in _ENVIRONMENTS:
        for path in sorted(p for p in parsed if p.startswith(f"config/{env}/")):
            value = parsed[path]
            stem = path.rpartition("/")[2].rpartition(".")[0].lower()
            if "." in stem:
                continue  # menus.en.toml and the like: nothing the model reads
            add(path, value["data"], value["lines"], None if stem in ("hugo", "config")
                else stem)
    for name in ROOT_CONFIGS:
        if name in parsed:
            add(name, parsed[name]["data"], parsed[name]["lines"], None)
            break
    return config, lines


def _languages(config: dict[str, Any], default: str, lines: Any, warnings: list[str]
               ) -> tuple[tuple[str, ...], dict[str, str], tuple[str, ...]]:
    table = config.get("languages")
    if not isinstance(table, dict) or not table:
        return (), {}, ()
    disabled = {str(code).lower() for code in config.get("disablelanguages") or ()}
    disabled |= {code for code, settings in table.items()
                 if isinstance(settings, dict) and settings.get("disabled") is True}
    found: list[tuple[int, str]] = []
    dirs: dict[str, str] = {}
    for code, settings in table.items():
        if not isinstance(settings, dict):
            warnings.append(_bad(lines, "languages", f"{code} is not a table"))
            continue
        if settings.get("disabled") is True or code in disabled:
            continue
        weight = settings.get("weight", 0)
        weight = weight if isinstance(weight, int) and weight > 0 else 1 << 30
        found.append((weight, code))
        folder = settings.get("contentdir")
        if isinstance(folder, str) and folder.strip("/"):
            dirs[code] = folder.strip("/")
    codes = [code for _, code in sorted(found)]
    if default in codes:
        codes.remove(default)
        codes.insert(0, default)
    return tuple(codes), dirs, tuple(sorted(disabled))


def _roots(config: dict[str, Any], base: SiteBase, content: str, languages: tuple[str, ...],
           dirs: dict[str, str], lines: Any, warnings: list[str]) -> tuple[Root, ...]:
    module = config.get("module") if isinstance(config.get("module"), dict) else {}
    mounts = module.get("mounts") if isinstance(module, dict) else None
    roots: list[Root] = []
    if isinstance(mounts, list):
        for mount in mounts:
            if not isinstance(mount, dict):
                continue
            unknown = sorted(set(mount) - _MOUNT_KEYS)
            if unknown:
                warnings.append(_bad(lines, "mounts", f"has unknown keys {', '.join(unknown)} "
                                     "(a mount has source, target, lang, includeFiles, "
                                     "excludeFiles, sites, disableWatch)"))
            source, target = mount.get("source"), mount.get("target")
            if not isinstance(source, str) or not isinstance(target, str):
                warnings.append(_bad(lines, "mounts", "has a mount without source or target"))
                continue
            target = target.strip("/")
            if target != "content" and not target.startswith("content/"):
                continue
            lang = mount.get("lang")
            sites = mount.get("sites")
            if not lang and isinstance(sites, dict):
                matrix = sites.get("matrix") if isinstance(sites.get("matrix"), dict) else {}
                langs = matrix.get("languages") if isinstance(matrix, dict) else None
                if isinstance(langs, list) and len(langs) == 1:
                    lang = langs[0]
            folder = join(base.path(source.strip("/")))  # `../README.md` from docsy.dev/
            if folder.startswith(".."):
                continue  # outside the repository
            roots.append(Root(folder, target[len("content"):].strip("/"),
                              str(lang).lower() if lang else None,
                              _globs(mount.get("includefiles")),
                              _globs(mount.get("excludefiles"))))
        if roots:
            return tuple(roots)
    for code, folder in dirs.items():
        roots.append(Root(base.path(folder), "", code))
    if not languages or any(code not in dirs for code in languages):
        roots.append(Root(base.path(content), "", None))
    return tuple(roots)


def _globs(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return ()
    return tuple(str(v).lstrip("/") for v in value if isinstance(v, str))


def _date_fields(configured: Any, default: tuple[str, ...]) -> tuple[str, ...]:
    names: list[str] = []
    items = configured if isinstance(configured, list) and configured else [":default"]
    for item in items:
        item = str(item).lower()
        if item == ":default":
            names.extend(default)
        elif not item.startswith(":"):
            names.append(item)
    out: list[str] = []
    for name in names:
        if name == "published":
            continue  # as a boolean it is Jekyll's flag; Hugo sites rarely use it as a date
        out.extend((name, *_SPELLINGS.get(name, ())))
    return tuple(dict.fromkeys(out))


def _regex(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _cascades(config: dict[str, Any], parsed: Mapping[str, Any], site: HugoSite,
              base: SiteBase) -> tuple[Cascade, ...]:
    found: list[tuple[int, Cascade]] = []
    for block in _blocks(config.get("cascade")):
        found.extend((-1, c) for c in _cascade("", None, block))
    for relative, value in parsed.items():
        if not relative.rpartition("/")[2].startswith("_index.") or "cascade" not in value:
            continue
        where = site.locate(base.path(relative))
        if where is None:
            continue
        folder = "/".join(_site_path(site, where.path).split("/")[:-1])
        for block in _blocks(value["cascade"]):
            found.extend((folder.count("/") + bool(folder), c)
                         for c in _cascade(folder, where.locale, block))
    found.sort(key=lambda item: item[0])
    return tuple(cascade for _, cascade in found)


def _site_path(site: HugoSite, path: str) -> str:
    placed = site._place(path)
    if placed is None:
        return path
    root, inner = placed
    return "/".join(p for p in (root.target, inner) if p)


def _blocks(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def _cascade(folder: str, locale: str | None, block: dict[str, Any]) -> list[Cascade]:
    values: dict[str, Any] = {}
    build = _table(block, "build", "_build")
    for key in ("render", "list"):
        option = build.get(key)
        if isinstance(option, bool):
            option = "always" if option else "never"
        if isinstance(option, str):
            values[key] = option.lower()
    if isinstance(block.get("draft"), bool):
        values["draft"] = block["draft"]
    if not values:
        return []
    target = _table(block, "_target", "target")
    return [Cascade(folder, locale, tuple(sorted(values.items())),
                    path=_text(target.get("path")), kind=_text(target.get("kind")),
                    lang=_text(target.get("lang")))]


def _table(data: dict[str, Any], *keys: str) -> dict[str, Any]:
    """The first of `keys` that holds a table, or {}."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, dict):
            return value
    return {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
