"""Two inputs that are true but misleading: a committer date in the future, a shallow clone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import Site, post
from testing import run_cli

from cometwatch.config import ContentRules, load_config
from cometwatch.engine import Engine
from cometwatch.flow import history
from cometwatch.gitrepo import Repository
from cometwatch.scanner import Scanner
from cometwatch.source import Source
from cometwatch.store import Store

Y2099 = 4_070_908_800  # 2099-01-01T00:00:00Z: an embargo the wall clock will not reach soon
Y2100 = 4_102_444_800


def embargoed_then_a_commit_from_the_future(site: Site) -> None:
    site.write("posts/embargo.md", post("title: E\npublishDate: 2099-01-01"))
    site.write("posts/now.md", post("title: N"))
    site.commit()
    site.write("posts/now.md", post("title: N, edited"))
    site.commit(time=Y2100)  # a clock off by 75 years


def test_a_commit_dated_in_the_future_does_not_publish_embargoed_posts(site: Site) -> None:
    embargoed_then_a_commit_from_the_future(site)
    now = site.clock - Y2100 + 1_700_000_200  # the wall clock: long before 2099
    with Repository(site.root) as repo:
        engine = Engine(ContentRules())
        events = [e for s in history(repo, engine, None, site.head(), now=now)
                  for e in s.events]
    assert [(e.name, e.slug) for e in events if e.slug == "embargo"] == [
        ("content.created", "embargo")]
    assert engine.next_timer() == Y2099  # it is published when 2099 comes, not before
    assert max(e.occurred_at for e in events) == Y2100  # occurred_at is still the commit's


def test_without_a_wall_clock_the_commit_time_is_the_clock(site: Site) -> None:
    embargoed_then_a_commit_from_the_future(site)
    with Repository(site.root) as repo:
        events = [e for s in history(repo, Engine(ContentRules()), None, site.head())
                  for e in s.events]
    assert ("content.published", "embargo") in [(e.name, e.slug) for e in events]


def test_a_scan_and_events_bound_the_clock_by_the_wall_clock(
        site: Site, tmp_path: Path) -> None:
    site.write("posts/first.md", post("title: F"))
    site.commit()
    file = tmp_path / "webhooks.toml"
    file.write_text(f'[repository]\npath = "{site.root}"\n[state]\npath = '
                    f'"{tmp_path / "state.db"}"\n')
    config = load_config(str(file), secrets=False)
    with Store.open(tmp_path / "state.db") as store, Source.open(config) as source:
        Scanner(config, store, source).scan(site.clock + 1)  # the baseline
        embargoed_then_a_commit_from_the_future(site)
        Scanner(config, store, source).scan(site.clock - Y2100 + 1_700_000_300)
        names = [(d.event.name, d.event.slug) for d in store.deliveries(limit=100)]
        assert ("content.published", "embargo") not in names
        cursor = store.cursor(source.branch)
        assert cursor is not None and cursor.next_timer == Y2099
    code, out, err = run_cli("--config", str(file), "events", "--all")
    assert code == 0, err
    assert '"content.published"' not in "".join(
        line for line in out.splitlines() if '"embargo"' in line)


@pytest.fixture
def shallow(site: Site, tmp_path: Path) -> Path:
    for n in range(3):
        site.write(f"posts/p{n}.md", post(f"title: {n}"))
        site.commit()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{site.root}", str(clone)],
                   check=True)
    (tmp_path / "webhooks.toml").write_text(
        f'[repository]\npath = "{clone}"\n[state]\npath = "{tmp_path / "state.db"}"\n')
    return tmp_path / "webhooks.toml"


@pytest.mark.parametrize("command", [("events", "--all"), ("check",),
                                     ("scan", "--no-deliver")])
def test_a_shallow_clone_warns_that_its_ids_come_from_a_truncated_history(
        shallow: Path, command: tuple[str, ...]) -> None:
    code, out, err = run_cli("--config", str(shallow), *command)
    assert code == 0, err
    said = [line for line in (out + err).splitlines() if "shallow clone" in line]
    assert len(said) == 1 and "git fetch --unshallow" in said[0]


def test_a_full_clone_does_not_warn(site: Site, tmp_path: Path) -> None:
    site.write("a.md", "x")
    site.commit()
    file = tmp_path / "webhooks.toml"
    file.write_text(f'[repository]\npath = "{site.root}"\n')
    code, out, err = run_cli("--config", str(file), "events", "--all")
    assert code == 0 and "shallow" not in err
    assert [json.loads(line)["event"] for line in out.splitlines()] == [
        "content.created", "content.published"]
