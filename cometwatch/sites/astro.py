"""Pure: an Astro site's content collections as Astro loads them.

Read statically from `src/content.config.{ts,mts,js,mjs}` (Astro 5) or the legacy
`src/content/config.*`: each collection of `export const collections = {…}` with its loader:
`glob({ pattern, base })` (markdown entries under `base` matching `pattern`), Starlight's
`docsLoader()` (`src/content/docs`), no loader (the legacy `src/content/<name>/`, `_` files
and folders left out). `file()`, `i18nLoader()` and other loaders load data, not Markdown
files: no entries. Without a content config, each folder of `src/content` is a collection.
From `astro.config.*`: `srcDir`, and the Starlight integration's `locales` and
`defaultLocale`, whose copies of a page are locale variants of it.

An entry's slug is Astro's id: the `slug` field, else the path under `base` without its
extension, each segment lowercased as github-slugger does (generateIdDefault), `/index`
dropped; `/` joins as `-` here, since a slug is one URL segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cometwatch.entry import slugify
from cometwatch.sites.jsconfig import Call, JSObject, Module, Unknown, Value
from cometwatch.sites.jsglob import matches
from cometwatch.sites.page import Page, join, under

CONFIG_NAMES = ("astro.config.mjs", "astro.config.ts", "astro.config.mts", "astro.config.js",
                "astro.config.cjs")
CONTENT_CONFIG_NAMES = tuple(f"{folder}.{ext}" for folder in ("content.config", "content/config")
                             for ext in ("ts", "mts", "js", "mjs"))  # under srcDir
STARLIGHT_PATTERN = "**/[^_]*.{markdown,mdown,mkdn,mkd,mdwn,md,mdx}"
_MARKDOWN = ("md", "mdx", "markdown", "mdoc", "mdown", "mkdn", "mkd", "mdwn")
_LEGACY_PATTERN = "**/*.{" + ",".join(_MARKDOWN) + "}"


AUTO = "*"  # the collection of a folder of src/content, when no content config declares any


@dataclass(frozen=True, slots=True)
class Collection:
    name: str
    base: str  # repository folder
    patterns: tuple[str, ...]
    legacy: bool = False  # src/content/<name>: `_` files and folders are not entries


@dataclass(frozen=True, slots=True)
class Locales:
    """Starlight's locales: directory → locale code; `""` is the root locale."""

    collection: str
    dirs: tuple[tuple[str, str], ...]  # (directory, code), the default first
    default_dir: str


@dataclass(frozen=True, slots=True)
class Astro:
    collections: tuple[Collection, ...]
    locales: Locales | None = None
    warnings: tuple[str, ...] = ()

    def place(self, path: str) -> Page | None:
        best: tuple[int, Collection, str] | None = None
        for collection in self.collections:
            rel = under(path, collection.base)
            if rel is None or not matches(rel, collection.patterns):
                continue
            if collection.legacy and any(part.startswith("_") for part in rel.split("/")):
                continue
            depth = collection.base.count("/") + 1 if collection.base else 0
            if best is None or depth > best[0]:
                best = (depth, collection, rel)
        if best is None:
            return None
        _, collection, rel = best
        if collection.name == AUTO:  # no content config: each folder is a collection
            name, _, rel = rel.partition("/")
            if not rel:
                return None
            collection = Collection(name, join(collection.base, name), collection.patterns, True)
        locales = self.locales
        if locales is None or locales.collection != collection.name:
            return Page(collection.name, astro_slug(rel))
        head, _, rest = rel.partition("/")
        dirs = dict(locales.dirs)
        if rest and head in dirs and head:
            folder, inner = head, rest
        elif "" in dirs:
            folder, inner = "", rel
        else:
            return Page(collection.name, astro_slug(rel))  # outside every locale's folder
        rank = [d for d, _ in locales.dirs].index(folder)
        key = join(collection.base, locales.default_dir, inner)
        return Page(collection.name, astro_slug(inner), dirs[folder], key, rank)


def astro_slug(rel: str) -> str:
    """generateIdDefault's id of a file under its collection's base, as one slug."""
    stem = rel.rpartition(".")[0] if "." in rel.rpartition("/")[2] else rel
    segments = [github_slug(part) for part in stem.split("/")]
    if len(segments) > 1 and segments[-1] == "index":
        segments.pop()
    return slugify("-".join(segments)) or "index"


def github_slug(text: str) -> str:
    """github-slugger's `slug()`: lowercase, punctuation removed, spaces as `-`."""
    return re.sub(r"[^\w\s-]", "", text.lower()).replace(" ", "-")


# -- reading the configs ------------------------------------------------------------------------


def src_dir(config: Module | None) -> str:
    """`srcDir` from astro.config (default `src`), site-relative."""
    site = config.default if config is not None and not config.error else None
    value = site.read("srcDir") if isinstance(site, JSObject) else None
    return join(value) if isinstance(value, str) else "src"


def read_astro(root: str, config: Module | None, content: Module | None) -> Astro:
    """The site from astro.config and the content config (either may be missing). Never
    raises: what cannot be read is a warning."""
    warnings: list[str] = []
    source = src_dir(config)
    collections: list[Collection] = []
    if content is None:
        collections.append(Collection(AUTO, join(root, source, "content"), (_LEGACY_PATTERN,),
                                      legacy=True))
    elif content.error:
        warnings.append(f"{content.error}: no content collections are read")
    else:
        declared = content.exports.get("collections")
        if isinstance(declared, JSObject):
            for name in declared:
                found = _collection(root, source, name, declared.read(name), content, warnings)
                if found is not None:
                    collections.append(found)
        elif isinstance(declared, Unknown):
            warnings.append(declared.message("no collections", "[repository] collections"))
        else:
            warnings.append(f"{content.file}: no `export const collections = {{…}}`; "
                            f"no content collections are read")
    locales = _starlight(config, collections, warnings)
    return Astro(tuple(collections), locales, tuple(warnings))


def _collection(root: str, source: str, name: str, value: Value, content: Module,
                warnings: list[str]) -> Collection | None:
    override = f"[repository] collections (e.g. {{ \"src/content/{name}/**\" = \"{name}\" }})"
    if isinstance(value, Unknown):
        warnings.append(value.message("no entries for it", override))
        return None
    if not isinstance(value, JSObject):
        return None
    loader = value.read("loader")
    if loader is None:
        if value.read("type") == "data":
            return None
        return Collection(name, join(root, source, "content", name), (_LEGACY_PATTERN,),
                          legacy=True)
    if isinstance(loader, Call) and loader.callee == "docsLoader":
        return Collection(name, join(root, source, "content/docs"), (STARLIGHT_PATTERN,))
    if isinstance(loader, Call) and loader.callee == "glob":
        options = loader.args[0] if loader.args else None
        if not isinstance(options, JSObject):
            warnings.append(_unknown(options, loader).message("no entries for it", override))
            return None
        base = options.read("base")
        if base is None:
            base = "."
        if not isinstance(base, str):
            warnings.append(options.unreadable("base", "a folder").message(
                "the project root", override))
            base = "."
        pattern = options.read("pattern")
        patterns: tuple[str, ...]
        if isinstance(pattern, str):
            patterns = (pattern,)
        elif isinstance(pattern, tuple) and pattern and all(isinstance(p, str) for p in pattern):
            patterns = tuple(str(p) for p in pattern)
        else:
            warnings.append(options.unreadable("pattern", "a glob").message(
                "no entries for it", override))
            return None
        if not any(ext in p for p in patterns for ext in _MARKDOWN):
            return None  # a glob of JSON or YAML data files
        if options.read("generateId") is not None:
            warnings.append(options.unreadable("generateId", "a literal").message(
                "Astro's default id (the path under base)", "[repository] slug_field"))
        return Collection(name, join(root, base), patterns)
    if isinstance(loader, Call) and loader.callee in ("file", "i18nLoader"):
        return None  # entries inside one data file: no Markdown entries
    warnings.append(_unknown(loader, None, content.file, value.line_of("loader"),
                             (*value.path, "loader")).message("no entries for it", override))
    return None


def _unknown(value: Value, call: Call | None, file: str = "", line: int = 0,
             path: tuple[str | int, ...] = ()) -> Unknown:
    if isinstance(value, Unknown):
        return value
    if isinstance(value, Call):
        return Unknown(value.file, value.line, value.path, f"the loader {value.callee}()")
    if call is not None:
        return Unknown(call.file, call.line, call.path, f"{call.callee}() without options")
    return Unknown(file, line, path, "not a loader")


def _starlight(config: Module | None, collections: list[Collection],
               warnings: list[str]) -> Locales | None:
    site = config.default if config is not None and not config.error else None
    if not isinstance(site, JSObject):
        return None
    integrations = site.read("integrations")
    if not isinstance(integrations, tuple):
        return None
    for integration in integrations:
        if not (isinstance(integration, Call) and integration.callee == "starlight"):
            continue
        options = integration.args[0] if integration.args else None
        docs = next((c for c in collections if c.name == "docs"), None)
        if not isinstance(options, JSObject) or docs is None:
            return None
        locales = options.read("locales")
        if locales is None:
            return None
        if not isinstance(locales, JSObject):
            warnings.append(options.unreadable("locales", "an object").message(
                "one locale (translations are separate pages)", "[repository] language_dirs"))
            return None
        default = options.read("defaultLocale")
        default_dir = "" if "root" in locales else default if isinstance(default, str) \
            else next(iter(locales), "")
        dirs: list[tuple[str, str]] = []
        for key in locales:
            folder = "" if key == "root" else key
            entry = locales.read(key)
            lang = entry.read("lang") if isinstance(entry, JSObject) else None
            dirs.append((folder, lang if isinstance(lang, str) else
                         ("en" if key == "root" else key)))
        dirs.sort(key=lambda item: item[0] != default_dir)
        if len(dirs) < 2:
            return None
        return Locales(docs.name, tuple(dirs), default_dir)
    return None
