"""Decap CMS as a `cometwatch.sites.Tool`: on its own (preset `decap`), or beside another
tool's config, which it refines without replacing: the other tool decides what is a page
(Hugo's mounts, drafts, languages), Decap which collection an entry belongs to (by folder, or
by a front matter field for collections sharing a folder) and, where the tool has none, its
locale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import yaml

from cometwatch.config import ContentRules
from cometwatch.entry import Location
from cometwatch.sites import Site, SiteBase, SiteConfigError, Steer, Tool
from cometwatch.sites.decap import CONFIG_PATHS, Decap, read_decap


def parse_yaml(data: bytes) -> Any:
    """A YAML file with the C loader, its errors as SiteConfigError with the line."""
    loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
    try:
        return yaml.load(data.decode("utf-8"), Loader=loader)
    except UnicodeDecodeError as exc:
        raise SiteConfigError("not UTF-8") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SiteConfigError(f"not YAML: {problem}",
                              mark.line + 1 if mark is not None else None) from exc


@dataclass(frozen=True, slots=True)
class DecapSite:
    """Another tool's site with Decap's collections laid over its entries."""

    inner: Any  # a Site
    decap: Decap
    rules: ContentRules
    warnings: tuple[str, ...] = ()

    def locate(self, path: str) -> Location | None:
        where: Location | None = self.inner.locate(path)
        if where is None or where.trashed:
            return where
        page = self.decap.place(path)
        if page is None:
            return where
        where = replace(where, collection=page.collection or where.collection,
                        choices=page.choices)
        if where.locale is None and page.locale is not None:
            where = replace(where, locale=page.locale, key=page.key, rank=page.rank)
        return where

    def scope(self) -> tuple[str, ...]:
        scope: tuple[str, ...] = self.inner.scope()
        return scope


class WithDecap:
    """A tool (or none: Decap alone) whose site Decap's config.yml refines."""

    def __init__(self, inner: Tool | None) -> None:
        self.inner = inner
        self.name = inner.name if inner is not None else "decap"

    def pathspecs(self) -> tuple[str, ...] | None:
        """The inner tool's steering paths and Decap's configs (None: read the whole tree)."""
        inner = getattr(self.inner, "pathspecs", None)
        found = inner() if inner is not None else None
        return None if found is None else (*found, *CONFIG_PATHS)

    def steers(self, relative: str) -> Steer | None:
        if relative in CONFIG_PATHS:
            return Steer.READ
        return self.inner.steers(relative) if self.inner is not None else None

    def parse(self, relative: str, data: bytes) -> Any:
        if relative in CONFIG_PATHS:
            return _Decap(parse_yaml(data))
        assert self.inner is not None
        return self.inner.parse(relative, data)

    def build(self, parsed: Mapping[str, Any], present: frozenset[str],
              base: SiteBase) -> Site:
        name = next((p for p in CONFIG_PATHS if p in parsed), None)
        decap = read_decap(parsed[name].data, base.path(name)) if name else Decap()
        others = {path: value for path, value in parsed.items() if path not in CONFIG_PATHS}
        fields = (*base.rules.extra_fields, *decap.filter_fields)
        if self.inner is None:
            # here only: the JavaScript tools' modules load tree-sitter, which a Hugo,
            # Jekyll or Zola site never needs (140 ms of every command's start)
            from cometwatch.sites.jstools import PageSite, site_rules

            rules = site_rules(base, extra_fields=fields, exclude=())
            folders = [f.folder for f in decap.folders] + [f.file.rpartition("/")[0]
                                                           for f in decap.files]
            return PageSite(rules, decap, tuple(folders) or ("",), base.overrides,
                            warnings=decap.warnings)
        inner = self.inner.build(others, present, replace(
            base, rules=replace(base.rules, extra_fields=fields)))
        if name is None:
            return inner
        warnings = (*getattr(inner, "warnings", ()), *decap.warnings)
        return DecapSite(inner, decap, inner.rules, warnings)


@dataclass(frozen=True, slots=True)
class _Decap:
    """A parsed config.yml (a wrapper, so a site built from it compares by value)."""

    data: Any


def decap_only() -> WithDecap:
    """The `decap` preset: a site Decap CMS alone defines."""
    return WithDecap(None)


def refined(tool: Tool) -> Tool:
    """A tool's reading of its site, with Decap's config.yml beside it read too."""
    return tool if isinstance(tool, WithDecap) else WithDecap(tool)


__all__ = ["DecapSite", "WithDecap", "decap_only", "refined"]
