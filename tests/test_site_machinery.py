"""The site-model machinery on real repositories, with a toy tool: the rules a site's own config
gives are read at each commit, a commit that changes them saves the entries it re-types, and a
config that cannot be read keeps the rules it gave before, with a warning naming file and line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pytest
from conftest import Site, post

from cometwatch.config import ContentRules, parse_config_text
from cometwatch.engine import Engine
from cometwatch.entry import Location, locate
from cometwatch.flow import history
from cometwatch.gitrepo import Repository
from cometwatch.sites import SiteBase, SiteConfigError, Steer
from cometwatch.sites.loader import SiteLoader


@dataclass(frozen=True, slots=True)
class ToySite:
    """A site whose `site.json` names its content folder and the collection of everything."""

    rules: ContentRules
    collection: str | None

    def locate(self, path: str) -> Location | None:
        where = locate(path, "100644", self.rules)
        if where is None or self.collection is None:
            return where
        return replace(where, collection=self.collection)

    def scope(self) -> tuple[str, ...]:
        return (self.rules.content_dir,)


class Toy:
    name = "toy"

    def steers(self, relative: str) -> Steer | None:
        return Steer.READ if relative == "site.json" else None

    def parse(self, relative: str, data: bytes) -> Any:
        try:
            return json.loads(data)
        except json.JSONDecodeError as exc:
            raise SiteConfigError(exc.msg, exc.lineno) from exc

    def build(self, parsed: Mapping[str, Any], present: frozenset[str],
              base: SiteBase) -> ToySite:
        config = parsed.get("site.json", {})
        rules = replace(base.rules, content_dir=config.get("content", base.rules.content_dir))
        return ToySite(rules, config.get("type"))


def derive(site: Site, base: str | None = None) -> tuple[list[tuple[str, str, str]], list[str]]:
    warnings: list[str] = []
    rules = ContentRules(content_dir="content")
    with Repository(site.root) as repo:
        engine = Engine(rules, warn=warnings.append,
                        sites=SiteLoader(Toy(), SiteBase(rules=rules)))
        if base is not None:
            for _ in history(repo, engine, None, base):
                pass
        events = [(e.commit, e.name, e.collection) for save in history(repo, engine, base,
                                                                       site.head())
                  for e in save.events]
    return events, warnings


def test_a_commit_that_retypes_entries_is_a_save_of_each_dated_by_it(site: Site) -> None:
    site.write("content/posts/a.md", post("title: A"))
    site.write("content/posts/b.md", post("title: B"))
    first = site.commit()
    site.write("site.json", '{"type": "articles"}\n')
    retyped = site.commit()
    events, _ = derive(site)
    assert [e for e in events if e[0] == first] == [
        (first, "content.created", "posts"), (first, "content.published", "posts")] * 2
    assert [e for e in events if e[0] == retyped] == [
        (retyped, "content.updated", "articles")] * 2


def test_a_new_content_folder_creates_what_it_holds_and_deletes_what_it_left(
        site: Site) -> None:
    site.write("content/a.md", post("title: A"))
    site.write("docs/b.md", post("title: B"))
    site.commit()
    site.write("site.json", '{"content": "docs"}\n')
    moved = site.commit()
    events, _ = derive(site)
    assert [e[1] for e in events if e[0] == moved] == [
        "content.unpublished", "content.deleted", "content.created", "content.published"]


def test_history_read_from_a_base_stands_at_the_rules_of_that_base(site: Site) -> None:
    site.write("site.json", '{"type": "articles"}\n')
    site.write("content/posts/a.md", post("title: A"))
    base = site.commit()
    site.write("content/posts/a.md", post("title: A2"))
    site.commit()
    events, _ = derive(site, base)
    assert [e[1:] for e in events] == [("content.updated", "articles")]


def test_a_config_that_cannot_be_read_keeps_its_rules_and_names_file_and_line(
        site: Site) -> None:
    site.write("site.json", '{"type": "articles"}\n')
    site.write("content/a.md", post("title: A"))
    site.commit()
    site.write("site.json", '{\n"type": "notes",\n oops\n}\n')
    site.write("content/a.md", post("title: A2"))
    broken = site.commit()
    site.write("content/a.md", post("title: A3"))
    later = site.commit()
    events, warnings = derive(site)
    assert [e[1:] for e in events if e[0] in (broken, later)] == [
        ("content.updated", "articles")] * 2
    assert len(warnings) == 1
    assert warnings[0].startswith(f"site.json line 3 at {broken[:12]}: cannot read the site "
                                  "config")
    assert "the rules it gave before stay in force" in warnings[0]


def test_a_commit_that_changes_nothing_the_rules_read_sends_nothing_more(site: Site) -> None:
    site.write("site.json", '{"type": "articles"}\n')
    site.write("content/a.md", post("title: A"))
    site.commit()
    site.write("site.json", '{"type": "articles", "title": "My site"}\n')
    retitled = site.commit()
    events, _ = derive(site)
    assert [e for e in events if e[0] == retitled] == []


@pytest.mark.parametrize("preset, config, entry, trashed", [
    ("hugo", ("hugo.toml", 'title = "x"\n'), "content/posts/a.md", "content/.trash/posts/a.md"),
    ("jekyll", ("_config.yml", "title: x\n"), "_posts/2023-01-02-a.md",
     ".trash/_posts/2023-01-02-a.md"),
    ("zola", ("config.toml", 'base_url = "https://example.org"\n'), "content/posts/a.md",
     "content/.trash/posts/a.md"),
])
def test_a_site_models_trash_mirrors_its_content(site: Site, preset: str,
                                                 config: tuple[str, str], entry: str,
                                                 trashed: str) -> None:
    site.write(*config)
    site.write(entry, post("title: A") if preset != "zola" else '+++\ntitle = "A"\n+++\nx\n')
    site.commit()
    site.move(entry, trashed)
    site.commit()
    site.move(trashed, entry)
    site.commit()
    repository = parse_config_text(f'[repository]\npreset = "{preset}"\n',
                                   site.root / "webhooks.toml").repository
    with Repository(site.root) as repo:
        engine = Engine.for_repository(repository)
        events = [(e.name, e.entry_id, e.path) for save in history(repo, engine, None,
                                                                  site.head())
                  for e in save.events]
        inside, outside = engine.locate(trashed, "100644"), engine.locate(entry, "100644")
    assert inside is not None and outside is not None and inside.trashed
    assert (inside.collection, inside.slug) == (outside.collection, outside.slug)
    ids = {entry_id for _, entry_id, _ in events}
    assert [name for name, _, _ in events] == [
        "content.created", "content.published", "content.unpublished", "content.deleted",
        "content.restored", "content.published"] and len(ids) == 1, events
