"""A Jekyll site read as Jekyll reads it, commit by commit (the observations of issue 10)."""

from __future__ import annotations

from conftest import Site, post
from testing import run_cli

from cometwatch.config import parse_config_text
from cometwatch.engine import Engine
from cometwatch.flow import history
from cometwatch.gitrepo import Repository

# 2030-01-01 09:00 in Los Angeles is 17:00 UTC: a commit at 12:00 UTC is before it there
T_2030_NOON_UTC = 1893499200


def derive(site: Site, until: float | None = None
           ) -> tuple[list[tuple[str, str, str, str]], list[str]]:
    config = parse_config_text('[repository]\npreset = "jekyll"\n', site.root / "webhooks.toml")
    warnings: list[str] = []
    with Repository(site.root) as repo:
        engine = Engine.for_repository(config.repository, warn=warnings.append)
        events = [(e.commit, e.name, e.collection, e.slug)
                  for save in history(repo, engine, None, site.head()) for e in save.events]
        if until is not None:
            events += [(e.commit, e.name, e.collection, e.slug) for e in engine.advance(until)]
    return events, warnings


def test_future_true_publishes_a_post_dated_later(site: Site) -> None:
    site.write("_config.yml", "future: true\n")
    site.write("_posts/2999-01-01-later.md", post("title: Later"))
    first = site.commit()
    events, _ = derive(site)
    assert [e[1] for e in events if e[0] == first] == ["content.created", "content.published"]


def test_the_timezone_of_the_config_reads_naive_dates(site: Site) -> None:
    site.write("_config.yml", "timezone: America/Los_Angeles\n")
    site.write("_posts/2030-01-01-new-year.md", post("title: Soon\ndate: 2030-01-01 09:00:00"))
    site.commit(time=T_2030_NOON_UTC)
    events, _ = derive(site, until=T_2030_NOON_UTC + 86400)
    assert [e[1] for e in events if not e[0].startswith("at:")] == ["content.created"]
    scheduled = [e for e in events if e[0].startswith("at:")]
    assert scheduled[0][:2] == (f"at:{T_2030_NOON_UTC + 5 * 3600}", "content.published")


def test_jekyll_date_spellings_are_dates_not_broken_front_matter(site: Site) -> None:
    site.write("_config.yml", "title: x\n")
    site.write("_posts/2023-01-29-hello.md", post("title: Hi\ndate: 2023-01-29 18:30:22 -0800"))
    first = site.commit()
    events, warnings = derive(site)
    assert [e[1] for e in events if e[0] == first] == ["content.created", "content.published"]
    assert warnings == []


def test_files_jekyll_copies_or_skips_are_no_entries(site: Site) -> None:
    site.write("_config.yml", "exclude: [scripts]\n")
    site.write("CONTRIBUTING.md", "How to help.\n")
    site.write(".github/ISSUE_TEMPLATE/bug.md", post("name: Bug"))
    site.write("scripts/notes.md", post("title: Notes"))
    site.write("node_modules/x/readme.md", post("title: X"))
    site.write("docs/README.md", "# A nested readme without front matter\n")
    site.write("about.md", post("title: About"))
    first = site.commit()
    events, _ = derive(site)
    assert [(e[1], e[2], e[3]) for e in events if e[0] == first] == [
        ("content.created", "pages", "about"), ("content.published", "pages", "about")]


def test_a_permalink_names_the_slug_of_a_collection_index(site: Site) -> None:
    site.write("_config.yml", "collections:\n  docs:\n    output: true\n")
    site.write("_docs/index.md", post("title: Docs\npermalink: /docs/"))
    site.write("_docs/setup.md", post("title: Setup"))
    first = site.commit()
    events, _ = derive(site)
    created = sorted((e[2], e[3]) for e in events if e[0] == first and e[1] == "content.created")
    assert created == [("docs", "docs"), ("docs", "setup")]


def test_declaring_a_collection_later_creates_its_documents_at_that_commit(site: Site) -> None:
    site.write("_config.yml", "title: x\n")
    site.write("_recipes/soup.md", post("title: Soup"))
    first = site.commit()
    site.write("_config.yml", "title: x\ncollections:\n  recipes:\n    output: true\n")
    declared = site.commit()
    events, _ = derive(site)
    assert [e for e in events if e[0] == first] == []
    assert [(e[1], e[2]) for e in events if e[0] == declared] == [
        ("content.created", "recipes"), ("content.published", "recipes")]


def test_entries_lists_the_jekyll_site(site: Site) -> None:
    site.write("_config.yml", "title: x\n")
    site.write("_posts/2020-01-01-a.md", post("title: A"))
    site.write("_drafts/b.md", post("title: B"))
    site.write("webhooks.toml", '[repository]\npreset = "jekyll"\n')
    site.commit()
    listed = run_cli("entries", cwd=site.root)
    assert listed.returncode == 0, listed.stderr
    out = listed.stdout
    lines = out.splitlines()
    assert lines[0].split()[:5] == ["PATH", "TYPE", "STATUS", "ID", "SLUG"]
    assert lines[1].split()[:3] == ["_drafts/b.md", "posts", "draft"]
    assert lines[2].split()[:3] == ["_posts/2020-01-01-a.md", "posts", "published"]
    assert lines[-1] == "2 entries, 1 published"
