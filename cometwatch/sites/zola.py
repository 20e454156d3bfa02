"""Pure: a Zola site as Zola reads it, from its `config.toml` at one commit.

Read: `default_language` and `[languages.<code>]` (the older `languages = [{code = …}]` list
too): `page.<code>.md` and `_index.<code>.md` are locale variants for a configured code only;
`ignored_content` globs. Sections are `_index.md` (`render = false`: the section has no page
of its own, its pages still do); `draft = true`; a `YYYY-MM-DD-` or `YYYY-MM-DD_` name prefix
is the date and not the slug; Zola builds future-dated pages; a `slug` or `path` in front
matter names the slug. The content folder is always `content/`.

Not read (yet): `transparent` (it changes listings, not what a page is), taxonomies,
`ignored_static`, themes' content.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from cometwatch.config import ContentRules
from cometwatch.entry import Location, Policy, entry_stem, slugify
from cometwatch.sites import SiteBase, SiteConfigError, Steer, remembered
from cometwatch.sites.formats import line_of, parse_data
from cometwatch.sites.jsglob import matches

CONFIGS = ("zola.toml", "config.toml")
_DATE_PREFIX = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}[:_]\d{2}(?:[:_]\d{2})?)?[-_]")
_POLICY = Policy(future=True, expired=True)  # Zola builds every page that is not a draft


@dataclass(frozen=True, slots=True)
class ZolaSite:
    rules: ContentRules
    content: str  # repository folder of `content/`
    languages: tuple[str, ...] = ()  # the default first; () for a site of one language
    default_language: str = "en"
    ignored: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    _cache: dict[str, Location | None] = field(default_factory=dict, init=False,
                                               compare=False, repr=False, hash=False)

    def scope(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.content, self.rules.trash_dir)))

    def locate(self, path: str) -> Location | None:
        return remembered(self._cache, path, self._locate, self.rules.trash_dir,
                          self.content)

    def _locate(self, path: str) -> Location | None:
        rules = self.rules
        if not path.startswith(self.content + "/"):
            return None
        relative = path[len(self.content) + 1:]
        stem = entry_stem(relative, rules)
        if stem is None:
            return None
        if any(part.startswith(".") for part in relative.split("/")):
            return None
        if self.ignored and matches(relative, self.ignored):
            return None
        locale = self.default_language
        if "." in stem:
            head, _, code = stem.rpartition(".")
            if code in self.languages:
                stem, locale = head, code
        folders = relative.split("/")[:-1]
        section = stem == "_index"
        slug = (folders[-1] if folders else "index") if stem in ("index", "_index") else stem
        slug = _DATE_PREFIX.sub("", slug, count=1)  # a page bundle's folder may carry it too
        multilingual = len(self.languages) > 1
        collection = next((n for pattern, n in rules.collections
                           if matches(relative, (pattern,))),
                          folders[0] if folders and not (stem == "index" and len(folders) == 1)
                          else "pages")
        return Location(path=path, collection=collection, slug=slugify(slug) or "index",
                        trashed=False, in_drafts=False,
                        locale=locale if multilingual else None,
                        key="/".join([*folders, stem]) if multilingual else "",
                        rank=self.languages.index(locale) if locale in self.languages else 0,
                        policy=_POLICY, section=section)


class Zola:
    name = "zola"

    def pathspecs(self) -> tuple[str, ...]:
        return CONFIGS

    def steers(self, relative: str) -> Steer | None:
        return Steer.READ if relative in CONFIGS else None

    def parse(self, relative: str, data: bytes) -> Any:
        value = parse_data(relative, data)
        if not isinstance(value, dict):
            raise SiteConfigError("the top level is not a table")
        return {"data": value, "lines": {k: line for k in ("languages", "default_language",
                                                           "ignored_content")
                                         if (line := line_of(data, k)) is not None}}

    def build(self, parsed: Mapping[str, Any], present: frozenset[str],
              base: SiteBase) -> ZolaSite:
        name = next((n for n in CONFIGS if n in parsed), CONFIGS[-1])
        config: dict[str, Any] = parsed[name]["data"] if name in parsed else {}
        lines: dict[str, int] = parsed[name]["lines"] if name in parsed else {}
        warnings: list[str] = []

        def bad(key: str, problem: str) -> None:
            line = lines.get(key)
            warnings.append(f"{base.path(name)}{f' line {line}' if line else ''}: {key} "
                            f"{problem}; Zola's default is used")

        default = config.get("default_language", "en")
        if not isinstance(default, str):
            bad("default_language", "is not a string")
            default = "en"
        codes = [default]
        table = config.get("languages")
        if isinstance(table, dict):
            codes += [str(code) for code in table if str(code) != default]
        elif isinstance(table, list):  # Zola before 0.15: [{code = "fr"}]
            codes += [str(item["code"]) for item in table
                      if isinstance(item, dict) and "code" in item and item["code"] != default]
        elif table is not None:
            bad("languages", "is neither a table nor a list")
        ignored = config.get("ignored_content") or []
        if not isinstance(ignored, list):
            bad("ignored_content", "is not a list")
            ignored = []
        content = base.path("content")
        keep = base.overrides
        changes: dict[str, Any] = {
            "status_field": "", "published_field": "", "publish_date_fields": (),
            "expiry_date_fields": (), "future_date_fields": (), "drafts_dirs": (),
            "url_fields": ("path",), "content_dir": content, "trash_dir": f"{content}/.trash",
        }
        if "content_dir" in keep:
            changes.pop("trash_dir")
        rules = replace(base.rules, **{k: v for k, v in changes.items() if k not in keep})
        return ZolaSite(rules=rules, content=content,
                        languages=tuple(codes) if len(codes) > 1 else (),
                        default_language=default,
                        ignored=tuple(str(g) for g in ignored), warnings=tuple(warnings))
