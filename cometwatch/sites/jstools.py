"""The JavaScript-configured site tools (Docusaurus, Astro, Eleventy) as `cometwatch.sites.Tool`s:
which files steer each, how they are parsed (once per blob), and the `Site` built from them,
which turns a model's `Page` into the `entry.Location` the engine reads.

webhooks.toml still wins: a `[repository]` key the file sets (`collections`, `exclude`,
`content_dir`, `extensions`, `id_fields`…) applies on top of what the tool's config says.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from cometwatch.config import ContentRules
from cometwatch.entry import DEFAULT_POLICY, Location, Policy
from cometwatch.sites import SiteBase, SiteConfigError, Steer
from cometwatch.sites import astro as astro_model
from cometwatch.sites import docusaurus as docusaurus_model
from cometwatch.sites import eleventy as eleventy_model
from cometwatch.sites.jsconfig import Module, read_module
from cometwatch.sites.jsglob import compile_glob
from cometwatch.sites.page import Page, path_slug, under

_CACHED = 4096  # paths a site remembers: a save looks each of its paths up several times


class PageModel(Protocol):
    def place(self, path: str) -> Page | None: ...


@dataclass(frozen=True, slots=True)
class PageSite:
    """A site whose tool model places each path; webhooks.toml's own keys applied on top."""

    rules: ContentRules
    model: Any  # a frozen PageModel: Docusaurus, Astro, Eleventy
    folders: tuple[str, ...]  # repository folders entries lie under
    overrides: frozenset[str] = frozenset()
    policy: Policy = DEFAULT_POLICY
    warnings: tuple[str, ...] = ()
    _cache: dict[str, Location | None] = field(default_factory=dict, compare=False, hash=False,
                                               repr=False)

    def locate(self, path: str) -> Location | None:
        try:
            return self._cache[path]
        except KeyError:
            pass
        where = self._locate(path)
        if len(self._cache) >= _CACHED:  # bounded: the loader keeps dozens of sites
            self._cache.clear()
        self._cache[path] = where
        return where

    def _locate(self, path: str) -> Location | None:
        rules = self.rules
        trashed = bool(rules.trash_dir) and path.startswith(rules.trash_dir + "/")
        original = path
        if trashed:
            rest = path[len(rules.trash_dir) + 1:]
            original = f"{rules.content_dir}/{rest}" if rules.content_dir else rest
        relative = under(original, rules.content_dir)
        if "content_dir" in self.overrides and relative is None:
            return None
        if "extensions" in self.overrides and \
                original.rpartition(".")[2].lower() not in rules.extensions:
            return None
        if "exclude" in self.overrides and relative is not None and \
                any(compile_glob(p).match(relative) for p in rules.exclude):
            return None
        page = self.model.place(original)
        declared = self._declared(relative)
        if page is None:
            # webhooks.toml's own `collections` also name folders the tool's config could
            # not be read for (a computed path): their files are entries too
            if declared is None or original.rpartition(".")[2].lower() not in rules.extensions:
                return None
            page = Page(declared, path_slug(original.rpartition("/")[2]
                                            if not original.endswith(("/index.md",
                                                                      "/index.mdx"))
                                            else original.rsplit("/", 2)[-2]))
        collection = declared or page.collection or \
            (page.choices[0][2] if page.choices else "pages")
        policy = self.policy
        if page.defaults:
            draft = dict(page.defaults).get(rules.draft_field)
            policy = replace(policy, defaults=page.defaults,
                             draft=draft is True or policy.draft)
        return Location(path=path, collection=collection, slug=page.slug, trashed=trashed,
                        in_drafts=False, locale=page.locale, key=page.key, rank=page.rank,
                        policy=policy, version=page.version, choices=page.choices)

    def _declared(self, relative: str | None) -> str | None:
        if "collections" not in self.overrides or relative is None:
            return None
        for pattern, name in self.rules.collections:
            if compile_glob(pattern).match(relative):
                return name
        return None

    def scope(self) -> tuple[str, ...]:
        if "collections" in self.overrides:
            return (self.rules.content_dir,)  # declared folders may lie anywhere under it
        if "content_dir" in self.overrides:
            return tuple(dict.fromkeys((self.rules.content_dir, self.rules.trash_dir)))
        if "" in self.folders:
            return ("",)
        return tuple(dict.fromkeys((*self.folders, self.rules.trash_dir)))


# Docusaurus, Astro and Eleventy build a page whatever its dates say (Docusaurus's maintainer:
# "Docusaurus does not allow post scheduling", facebook/docusaurus#9846; Astro's `pubDate` is a
# schema field; Eleventy's `date` sorts): a future date is no schedule, unless webhooks.toml
# names publish_date_fields.
UNSCHEDULED: dict[str, Any] = {"publish_date_fields": (), "expiry_date_fields": (),
                               "future_date_fields": ()}


def site_rules(base: SiteBase, **tool: Any) -> ContentRules:
    """The preset's rules with what the tool says, where webhooks.toml does not set the key."""
    rules = base.rules
    chosen = {key: value for key, value in tool.items() if key not in base.overrides}
    if "content_dir" not in base.overrides:
        chosen["content_dir"] = tool.get("content_dir", base.root)
        if "trash_dir" not in base.overrides:
            content = chosen["content_dir"]
            chosen["trash_dir"] = f"{content}/.trash" if content else ".trash"
    return replace(rules, **chosen)


def _module(relative: str, data: bytes) -> Module:
    module = read_module(relative, data)
    if module.error:
        line = module.error.split(":")[1] if module.error.count(":") >= 2 else ""
        raise SiteConfigError(module.error.split(": ", 1)[-1],
                              int(line) if line.isdigit() else None)
    return module


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise SiteConfigError(f"not JSON: {exc.msg}", exc.lineno) from exc
    except UnicodeDecodeError as exc:
        raise SiteConfigError("not UTF-8") from exc


def _placed(warnings: tuple[str, ...], parsed: Mapping[str, Any],
            base: SiteBase) -> tuple[str, ...]:
    """Warnings naming a steering file by its repository path (parse sees the site's)."""
    if not base.root:
        return warnings
    names = tuple(f"{name}:" for name in parsed)
    return tuple(base.path(w) if w.startswith(names) else w for w in warnings)


_CONTENT_CONFIG = re.compile(r"^[^/]+/(?:content\.config|content/config)\.(?:ts|mts|js|mjs)$")


class Docusaurus:
    name = "docusaurus"

    def steers(self, relative: str) -> Steer | None:
        if relative in docusaurus_model.CONFIG_NAMES or relative == "versions.json" or \
                (relative.endswith("_versions.json") and "/" not in relative):
            return Steer.READ
        if relative.endswith("-sidebars.json") and \
                relative.partition("/")[0].endswith("versioned_sidebars"):
            return Steer.PRESENCE
        return None

    def parse(self, relative: str, data: bytes) -> Any:
        if relative.endswith(".json"):
            _json(data)  # a broken versions file keeps the versions it listed before
            return data
        return _module(relative, data)

    def build(self, parsed: Mapping[str, Any], present: frozenset[str],
              base: SiteBase) -> PageSite:
        config = next((parsed[name] for name in docusaurus_model.CONFIG_NAMES
                       if name in parsed), None)
        files = {name: data for name, data in parsed.items() if name.endswith(".json")}
        model = docusaurus_model.read_docusaurus(base.root, config, files, present)
        folders = [p.path for p in model.plugins]
        folders += [docusaurus_model.version_dir(base.root, p.id, v) for p in model.plugins
                    for v in p.versions]
        folders.append(base.path("i18n"))
        rules = site_rules(base, extensions=("md", "mdx"), **UNSCHEDULED,
                           id_fields=docusaurus_model.ID_FIELDS,
                           extra_fields=(*base.rules.extra_fields, "unlisted"))
        return PageSite(rules, model, tuple(folders), base.overrides,
                        policy=Policy(unlisted_when=(("unlisted", True),)),
                        warnings=_placed(model.warnings, parsed, base))


class Astro:
    name = "astro"

    def steers(self, relative: str) -> Steer | None:
        # the content config lives in srcDir, which only astro.config names: any top folder
        if relative in astro_model.CONFIG_NAMES or _CONTENT_CONFIG.match(relative):
            return Steer.READ
        return None

    def parse(self, relative: str, data: bytes) -> Any:
        return _module(relative, data)

    def build(self, parsed: Mapping[str, Any], present: frozenset[str],
              base: SiteBase) -> PageSite:
        config = next((parsed[name] for name in astro_model.CONFIG_NAMES if name in parsed),
                      None)
        source = astro_model.src_dir(config)
        content = next((parsed[f"{source}/{name}"] for name in astro_model.CONTENT_CONFIG_NAMES
                        if f"{source}/{name}" in parsed), None)
        model = astro_model.read_astro(base.root, config, content)
        rules = site_rules(base, extensions=("md", "mdx", "markdown", "mdoc"), js_dates=True,
                           **UNSCHEDULED)
        return PageSite(rules, model, tuple(c.base for c in model.collections),
                        base.overrides, warnings=_placed(model.warnings, parsed, base))


ELEVENTY_FIELDS = ("permalink", "eleventyExcludeFromCollections")
# `permalink: false`: Eleventy writes no file; `eleventyExcludeFromCollections: true`: written
# (a 404 page), left out of every collection
ELEVENTY_POLICY = Policy(unbuilt_when=(("permalink", False),),
                         unlisted_when=(("eleventyExcludeFromCollections", True),))


class Eleventy:
    name = "eleventy"

    def steers(self, relative: str) -> Steer | None:
        name = relative.rpartition("/")[2]
        if relative in eleventy_model.CONFIG_NAMES or relative in (".gitignore", "package.json") \
                or name == ".eleventyignore" or name.endswith(eleventy_model.DATA_SUFFIXES):
            return Steer.READ
        return None

    def parse(self, relative: str, data: bytes) -> Any:
        if relative in eleventy_model.CONFIG_NAMES:
            return _module(relative, data)
        return data  # ignore files and data files: read by the model, which warns

    def build(self, parsed: Mapping[str, Any], present: frozenset[str],
              base: SiteBase) -> PageSite:
        config = next((parsed[name] for name in eleventy_model.CONFIG_NAMES if name in parsed),
                      None)
        files = {name: data for name, data in parsed.items() if isinstance(data, bytes)}
        chosen = base.relative(base.rules.content_dir) if "content_dir" in base.overrides \
            else None
        model = eleventy_model.read_eleventy(base.root, config, files, chosen)
        rules = site_rules(base, extensions=("md",), content_dir=model.input, exclude=(),
                           **UNSCHEDULED, extra_fields=(*base.rules.extra_fields, *ELEVENTY_FIELDS))
        return PageSite(rules, model, (model.input,), base.overrides,
                        policy=ELEVENTY_POLICY, warnings=_placed(model.warnings, parsed, base))
