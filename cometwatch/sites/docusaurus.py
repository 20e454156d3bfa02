"""Pure: a Docusaurus site as its docs, blog and pages plugins build it.

Read from `docusaurus.config.{ts,js,mjs,cjs,mts}` (statically, see jsconfig): the classic
preset's `docs`, `blog` and `pages` options and every `plugin-content-docs` /
`plugin-content-blog` / `plugin-content-pages` instance (`id`, `path`, `include`, `exclude`,
`includeCurrentVersion`, `onlyIncludeVersions`), and `i18n.defaultLocale` / `i18n.locales`;
from `versions.json` (`<id>_versions.json`) the versions under `versioned_docs/version-X`.

One collection per plugin instance (its id; the default one's route base, `docs` / `blog` /
`pages` when that is `/`);
each version's copy is an entry of its own; a translation under
`i18n/<locale>/docusaurus-plugin-content-<plugin>[-<id>]/[<version>/]…` is a locale variant of
the file it translates, for configured locales only. Docusaurus's `id:` front matter is unique
only within one plugin, version and locale, so it is no entry id (`ID_FIELDS`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from cometwatch.sites.jsconfig import Call, JSObject, Module, Unknown, Value
from cometwatch.sites.jsglob import any_match, matches
from cometwatch.sites.page import Page, join, under

CONFIG_NAMES = ("docusaurus.config.ts", "docusaurus.config.js", "docusaurus.config.mjs",
                "docusaurus.config.mts", "docusaurus.config.cjs")
ID_FIELDS = ("uid", "uuid")  # `id` is only locally unique in Docusaurus (contract §1)

# @docusaurus/utils GlobExcludeDefault: `_` partials, tests
EXCLUDE_DEFAULT = ("**/_*.{js,jsx,ts,tsx,md,mdx}", "**/_*/**", "**/*.test.{js,jsx,ts,tsx}",
                   "**/__tests__/**")
_DEFAULTS = {  # kind → (path, include)
    "docs": ("docs", ("**/*.{md,mdx}",)),
    "blog": ("blog", ("**/*.{md,mdx}",)),
    "pages": ("src/pages", ("**/*.{md,mdx}",)),  # .js/.tsx pages are no content entries
}
_PLUGIN = re.compile(r"(?:^|/)(?:docusaurus-)?(?:plugin-)?content-(docs|blog|pages)$")
# Docusaurus's DefaultNumberPrefixParser: `01-intro` → `intro`, but not a date `2021-01-02-x`
_NUMBER_PREFIX = re.compile(
    r"^(?P<date>\d{2,4}[-_.]\d{2}[-_.]\d{2}[-_.])?\d+\s*[-_.]+\s*(?P<rest>[^-_.\s].*)$")
# the blog plugin's DATE_FILENAME_REGEX
_BLOG_DATE = re.compile(
    r"^(?P<folder>.*?)(?P<date>\d{4}[-/]\d\d[-/]\d\d)[-/]?(?P<text>.*?)(?:/index)?\.mdx?$")


@dataclass(frozen=True, slots=True)
class ContentPlugin:
    kind: str  # docs, blog, pages
    id: str  # "default" unless set
    path: str  # repository folder of its current content
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    versions: tuple[str, ...] = ()  # built versions (docs), newest first, "current" excluded
    current: bool = True  # the current version is built
    route: str = ""  # routeBasePath, as written

    @property
    def collection(self) -> str:
        """Its id; the default instance is named by its route base (`/docs` → `docs`), or by
        its kind when that is the site's root (`/`)."""
        if self.id != "default":
            return self.id
        return self.route.strip("/").rpartition("/")[2] or self.kind

    @property
    def i18n_dir(self) -> str:
        name = f"docusaurus-plugin-content-{self.kind}"
        return name if self.id == "default" else f"{name}-{self.id}"


@dataclass(frozen=True, slots=True)
class Docusaurus:
    root: str
    plugins: tuple[ContentPlugin, ...]
    default_locale: str = "en"
    locales: tuple[str, ...] = ("en",)
    warnings: tuple[str, ...] = ()

    def place(self, path: str) -> Page | None:
        """The page a repository path is, or None when no plugin builds it."""
        best: tuple[int, Page] | None = None
        for plugin in self.plugins:
            for depth, page in self._candidates(plugin, path):
                if best is None or depth > best[0]:
                    best = (depth, page)
        return best[1] if best else None

    def _candidates(self, plugin: ContentPlugin, path: str) -> list[tuple[int, Page]]:
        found = []
        multilingual = len(self.locales) > 1
        locale = self.default_locale if multilingual else None
        versioned = bool(plugin.versions)
        if plugin.current:
            rel = under(path, plugin.path)
            if rel is not None:
                page = self._page(plugin, rel, path, locale, 0, "current" if versioned else None)
                if page:
                    found.append((plugin.path.count("/") + 1, page))
        for name in plugin.versions:
            folder = self._version_dir(plugin, name)
            rel = under(path, folder)
            if rel is not None:
                page = self._page(plugin, rel, path, locale, 0, name)
                if page:
                    found.append((folder.count("/") + 1, page))
        rel = under(path, _i18n_dir(self.root)) if multilingual else None
        if rel is None:
            return found
        code, _, rest = rel.partition("/")
        if code not in self.locales or code == self.default_locale:
            return found
        folder, _, rest = rest.partition("/")
        if folder != plugin.i18n_dir:
            return found
        rank = self.locales.index(code)
        if plugin.kind != "docs":
            page = self._page(plugin, rest, join(plugin.path, rest), code, rank, None)
            return [*found, (99, page)] if page else found
        version_dir, _, rest = rest.partition("/")
        version: str | None
        if version_dir == "current" and plugin.current:
            original = join(plugin.path, rest)
            version = "current" if versioned else None
        elif version_dir.startswith("version-") and version_dir[8:] in plugin.versions:
            version = version_dir[8:]
            original = join(self._version_dir(plugin, version), rest)
        else:
            return found
        page = self._page(plugin, rest, original, code, rank, version)
        return [*found, (99, page)] if page else found

    def _version_dir(self, plugin: ContentPlugin, version: str) -> str:
        return version_dir(self.root, plugin.id, version)

    def _page(self, plugin: ContentPlugin, rel: str, original: str, locale: str | None,
              rank: int, version: str | None) -> Page | None:
        if not rel or not matches(rel, plugin.include) or any_match(rel, plugin.exclude):
            return None
        slug = _blog_slug(rel) if plugin.kind == "blog" else _doc_slug(rel)
        return Page(plugin.collection, slug, locale, original, rank, version)


@lru_cache(maxsize=1024)
def version_dir(root: str, plugin_id: str, version: str) -> str:
    """The repository folder of a docs plugin's version (`versioned_docs/version-1.0`)."""
    prefix = "" if plugin_id == "default" else f"{plugin_id}_"
    return join(root, f"{prefix}versioned_docs/version-{version}")


@lru_cache(maxsize=64)
def _i18n_dir(root: str) -> str:
    return join(root, "i18n")


def _doc_slug(rel: str) -> str:
    """The doc id's path (number prefixes off each segment), `-` joined; an index doc
    (`index`, `README`, or named as its folder) is named by its folder."""
    from cometwatch.entry import slugify

    parts = rel.rpartition(".")[0].split("/")
    parts = [_strip_number(part) for part in parts]
    last = parts[-1].lower()
    if len(parts) > 1 and last in ("index", "readme", parts[-2].lower()):
        parts.pop()
    return slugify("-".join(parts)) or "index"


def _strip_number(segment: str) -> str:
    match = _NUMBER_PREFIX.match(segment)
    if match is None or match.group("date"):
        return segment
    return match.group("rest")


def _blog_slug(rel: str) -> str:
    from cometwatch.entry import slugify

    match = _BLOG_DATE.match(rel)
    if match is None:
        return _doc_slug(rel)
    text = (match.group("folder") + match.group("text")).strip("/")
    if text.endswith("/index"):
        text = text[:-6]
    return slugify(text.replace("/", "-")) or "index"


# -- reading the config -------------------------------------------------------------------------


def read_docusaurus(root: str, config: Module | None, files: Mapping[str, bytes],
                    present: frozenset[str] = frozenset()) -> Docusaurus:
    """The site from its config module, its other steering files (site-relative path →
    bytes: `versions.json`, `<id>_versions.json`) and which `versioned_sidebars/*.json` files
    exist (site-relative). Never raises: what cannot be read is a warning, and the plugin's
    default is used."""
    warnings: list[str] = []
    if config is None:
        return Docusaurus(root, _default_plugins(root, files, present, warnings), warnings=())
    if config.error:
        warnings.append(f"{config.error}: the Docusaurus defaults are used")
        return Docusaurus(root, _default_plugins(root, files, present, warnings),
                          warnings=tuple(warnings))
    site = config.default
    if not isinstance(site, JSObject):
        warnings.append(_warn(site, config.file, "the exported config", "the Docusaurus "
                              "defaults (docs/, blog/)", "[repository] collections"))
        return Docusaurus(root, _default_plugins(root, files, present, warnings),
                          warnings=tuple(warnings))
    options: list[tuple[str, Value]] = []
    for item in _items(site.read("presets"), warnings, "a preset"):
        name, opts = _named_item(item)
        if not _classic(name, opts):
            continue
        for kind in ("docs", "blog", "pages"):
            value = opts.read(kind) if isinstance(opts, JSObject) else None
            if value is not False:
                options.append((kind, value))
    for item in _items(site.read("plugins"), warnings, "a plugin"):
        name, opts = _named_item(item)
        match = _PLUGIN.search(name or "")
        if match:
            options.append((match.group(1), opts))
    plugins = tuple(_plugin(root, kind, value, files, present, warnings)
                    for kind, value in options)
    default_locale, locales = _i18n(site.read("i18n"), warnings)
    return Docusaurus(root, plugins, default_locale, locales, tuple(warnings))


def _classic(name: str | None, options: Value) -> bool:
    """The classic preset, or one wrapping it (they take its `docs` and `blog` options)."""
    if name is None:
        return False
    if "preset-classic" in name or name == "classic":
        return True
    return isinstance(options, JSObject) and ("docs" in options or "blog" in options)


def _default_plugins(root: str, files: Mapping[str, bytes], present: frozenset[str],
                     warnings: list[str]) -> tuple[ContentPlugin, ...]:
    return tuple(_plugin(root, kind, None, files, present, warnings)
                 for kind in ("docs", "blog", "pages"))


def _items(value: Value, warnings: list[str], what: str) -> list[Value]:
    if value is None:
        return []
    if isinstance(value, Unknown):
        warnings.append(value.message(f"no {what}s", "[repository] collections"))
        return []
    if not isinstance(value, tuple):
        return []
    out: list[Value] = []
    for item in value:
        if isinstance(item, Unknown):
            if not item.alternatives:  # `isDev && 'plugin'`: maybe; a computed name: say so
                warnings.append(item.message(f"no {what} here", "[repository] collections"))
            for alternative in item.alternatives:
                if alternative not in (None, False):
                    out.append(alternative)  # built in some builds: its pages may be
        else:
            out.append(item)
    return out


def _named_item(item: Value) -> tuple[str | None, Value]:
    """A preset or plugin entry: `'name'`, `['name', options]`, `[require.resolve('name'),
    options]`; a plugin given as a function has no name."""
    name: Value = item
    options: Value = None
    if isinstance(item, tuple) and item:
        name, options = item[0], item[1] if len(item) > 1 else None
    if isinstance(name, Call) and name.callee in ("require.resolve", "require") and name.args:
        name = name.args[0]
    return (name if isinstance(name, str) else None), options


def sidebars_file(plugin_id: str, version: str) -> str:
    """The file `docusaurus docs:version` writes for a version: it says the version's docs are
    committed (site-relative)."""
    prefix = "" if plugin_id == "default" else f"{plugin_id}_"
    return f"{prefix}versioned_sidebars/version-{version}-sidebars.json"


def _plugin(root: str, kind: str, options: Value, files: Mapping[str, bytes],
            present: frozenset[str], warnings: list[str]) -> ContentPlugin:
    default_path, default_include = _DEFAULTS[kind]
    opts = options if isinstance(options, JSObject) else None
    plugin_id = _text(opts, "id", "default", warnings, "[repository] collections")
    path = _text(opts, "path", default_path, warnings, "[repository] collections")
    include = _globs(opts, "include", default_include, warnings)
    exclude = _globs(opts, "exclude", EXCLUDE_DEFAULT, warnings)
    route = _text(opts, "routeBasePath", "" if kind == "pages" else kind, warnings,
                  "[repository] collections")
    if kind != "docs":
        return ContentPlugin(kind, plugin_id, join(root, path), include, exclude, route=route)
    versions = _versions(files, "versions.json" if plugin_id == "default"
                         else f"{plugin_id}_versions.json", warnings)
    current = True
    only: tuple[str, ...] | None = None
    if opts is not None:
        flag = opts.read("includeCurrentVersion")
        if flag is False:
            # a build script may copy docs/ into a git-ignored versioned_docs/version-X: the
            # current docs are unbuilt only when the newest version is committed beside them
            current = not versions or sidebars_file(plugin_id, versions[0]) not in present
        elif flag is not None and flag is not True:
            warnings.append(opts.unreadable("includeCurrentVersion", "a boolean").message(
                "true (the current docs are built)", "[repository] exclude"))
        listed = opts.read("onlyIncludeVersions")
        if isinstance(listed, tuple) and all(isinstance(v, str) for v in listed):
            only = tuple(str(v) for v in listed)
        elif listed is not None:
            warnings.append(opts.unreadable("onlyIncludeVersions", "a list of versions")
                            .message("every version", "[repository] exclude"))
    if only is not None:
        current = current and "current" in only
        versions = tuple(v for v in versions if v in only)
    return ContentPlugin(kind, plugin_id, join(root, path), include, exclude, versions, current,
                         route)


def _text(opts: JSObject | None, key: str, default: str, warnings: list[str],
          override: str) -> str:
    if opts is None:
        return default
    value = opts.read(key)
    if value is None:
        return default
    if isinstance(value, str):
        return value
    warnings.append(opts.unreadable(key, "a string").message(repr(default), override))
    return default


def _globs(opts: JSObject | None, key: str, default: tuple[str, ...],
           warnings: list[str]) -> tuple[str, ...]:
    if opts is None:
        return default
    value = opts.read(key)
    if value is None:
        return default
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return tuple(str(v) for v in value)
    warnings.append(opts.unreadable(key, "a list of globs").message(
        "Docusaurus's default " + ", ".join(default), "[repository] exclude"))
    return default


def _versions(files: Mapping[str, bytes], name: str, warnings: list[str]) -> tuple[str, ...]:
    data = files.get(name)
    if data is None:
        return ()
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        warnings.append(f"{name}: not JSON ({exc}); no versioned docs are read")
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        warnings.append(f"{name}: not a list of version names; no versioned docs are read")
        return ()
    return tuple(value)


def _i18n(value: Value, warnings: list[str]) -> tuple[str, tuple[str, ...]]:
    if value is None:
        return "en", ("en",)
    if not isinstance(value, JSObject):
        warnings.append(_warn(value, "", "i18n", "one locale, 'en'", "[repository] exclude"))
        return "en", ("en",)
    default = _text(value, "defaultLocale", "en", warnings, "[repository] exclude")
    locales = value.read("locales")
    if isinstance(locales, tuple) and all(isinstance(v, str) for v in locales):
        listed = tuple(str(v) for v in locales)
        return default, (default, *(v for v in listed if v != default))
    if locales is not None:
        warnings.append(value.unreadable("locales", "a list of locales").message(
            f"only the default locale, {default!r} (translations are not read)",
            "[repository] exclude"))
    return default, (default,)


def _warn(value: Value, file: str, where: str, default: str, override: str) -> str:
    if isinstance(value, Unknown):
        return value.message(default, override)
    return f"{file}: {where} is not an object; using {default}; set {override} in " \
           f"webhooks.toml to choose"
