"""A Zola site read as Zola reads it, commit by commit: languages, sections, drafts, dates."""

from __future__ import annotations

from conftest import Site

from cometwatch.config import parse_config_text
from cometwatch.engine import Engine
from cometwatch.flow import history
from cometwatch.gitrepo import Repository


def toml(front: str) -> str:
    return f"+++\n{front.strip()}\n+++\nBody.\n"


def derive(site: Site) -> list[tuple[str, str, str, str, str]]:
    config = parse_config_text('[repository]\npreset = "zola"\n', site.root / "webhooks.toml")
    with Repository(site.root) as repo:
        engine = Engine.for_repository(config.repository)
        return [(e.commit, e.name, e.collection, e.entry_id, e.slug)
                for save in history(repo, engine, None, site.head()) for e in save.events]


def test_a_declared_language_suffix_is_a_variant_not_a_slug(site: Site) -> None:
    site.write("config.toml", 'base_url = "https://example.org"\ndefault_language = "en"\n'
                              '[languages.fr]\ntitle = "Le site"\n')
    site.write("content/blog/page.md", toml('title = "Page"'))
    first = site.commit()
    site.write("content/blog/page.fr.md", toml('title = "La page"'))
    translated = site.commit()
    events = derive(site)
    entry = events[0][3]
    assert [e[1:] for e in events if e[0] == first] == [
        ("content.created", "blog", entry, "page"), ("content.published", "blog", entry, "page")]
    assert [e[1:] for e in events if e[0] == translated] == [
        ("content.updated", "blog", entry, "page")]


def test_an_undeclared_suffix_is_part_of_the_name(site: Site) -> None:
    site.write("config.toml", 'base_url = "https://example.org"\n')
    site.write("content/blog/page.fr.md", toml('title = "Page"'))
    first = site.commit()
    assert [e[4] for e in derive(site) if e[0] == first] == ["page-fr", "page-fr"]


def test_date_prefixes_drafts_and_unrendered_sections(site: Site) -> None:
    site.write("config.toml", 'base_url = "https://example.org"\n')
    site.write("content/blog/_index.md", toml('title = "Blog"\nrender = false'))
    site.write("content/blog/2023-01-02_first.md", toml('title = "First"'))
    site.write("content/blog/2999-01-01-later.md", toml('title = "Later"'))
    site.write("content/blog/wip.md", toml('title = "WIP"\ndraft = true'))
    first = site.commit()
    got = sorted((e[4], e[1]) for e in derive(site) if e[0] == first)
    assert got == [("blog", "content.created"), ("blog", "content.published"),
                   ("first", "content.created"), ("first", "content.published"),
                   ("later", "content.created"), ("later", "content.published"),
                   ("wip", "content.created")]
