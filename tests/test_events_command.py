"""`cometwatch events`: the exact bytes a range gives, on real repositories. The command runs
in this process (testing.run_cli); only the test of a full pipe runs it as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Site, post
from testing import run_cli

from cometwatch.config import ContentRules
from cometwatch.engine import Engine
from cometwatch.flow import history
from cometwatch.gitrepo import Repository
from cometwatch.payload import body


def events(site: Site, *args: str, config: Path | None = None,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """`cometwatch [--config CONFIG] events ARGS…` in site's folder: stdout's bytes as written."""
    chosen = ("--config", str(config)) if config is not None else ()
    ran = run_cli(*chosen, "events", *args, cwd=site.root, env=env)
    return subprocess.CompletedProcess(["cometwatch", *chosen, "events", *args],
                                       ran.returncode, ran.output, ran.stderr.encode())


def ok(site: Site, *args: str, config: Path | None = None) -> bytes:
    result = events(site, *args, config=config)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[bytes], code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    text = result.stderr.decode()
    assert "Traceback" not in text
    assert text.count("\n") == 1 and text.startswith("cometwatch: error: ")
    return text


@pytest.fixture
def history_site(site: Site) -> tuple[Site, list[str]]:
    """Five commits with a bit of everything, the third a scheduled publication's lead-in."""
    site.write("posts/hello.md", post("title: Hello"))
    site.write("pages/about.md", post("uid: about-1\ndraft: true"))
    commits = [site.commit(time=1_700_000_000)]
    site.write("posts/later.md", post("publishDate: 2023-11-15T00:00:00Z"))
    site.move("posts/hello.md", "posts/hello-world.md")
    commits.append(site.commit(time=1_700_001_000))
    site.move("posts/hello-world.md", ".trash/posts/hello-world.md")
    site.write("pages/about.md", post("uid: about-1"))
    commits.append(site.commit(time=1_700_002_000))
    site.write("blog/über.md", post("slug: Grüße"))
    commits.append(site.commit(time=1_700_100_000))  # after later.md's publication
    site.remove("pages/about.md")
    commits.append(site.commit(time=1_700_200_000))
    return site, commits


def test_all_prints_each_payload_as_one_compact_line_in_order(
        history_site: tuple[Site, list[str]]) -> None:
    site, commits = history_site
    out = ok(site, "--all")
    with Repository(site.root) as repo:
        expected = b"".join(body(e) + b"\n" for save in
                            history(repo, Engine(ContentRules()), None, commits[-1])
                            for e in save.events)
    assert out == expected
    lines = out.decode("ascii").splitlines()
    first = json.loads(lines[0], object_pairs_hook=list)
    assert [k for k, _ in first] == ["event", "occurred_at", "data"]
    assert [k for k, _ in first[2][1]] == ["type", "id", "slug"]
    assert all(" " not in line for line in lines)
    assert b'"slug":"gr\\u00fc\\u00dfe"' in out
    names = [json.loads(line)["event"] for line in lines]
    assert names == [
        "content.created",  # pages/about.md (a draft)
        "content.created", "content.published",  # posts/hello.md
        "content.updated",  # hello → hello-world (posts/hello-world.md sorts first)
        "content.created",  # posts/later.md, scheduled
        "content.unpublished", "content.deleted",  # hello-world trashed (.trash/… first)
        "content.updated", "content.published",  # about published
        "content.published",  # later.md at its moment, before the next commit's events
        "content.created", "content.published",  # blog/über.md
        "content.unpublished", "content.deleted",  # about removed
    ]


def test_the_output_is_byte_identical_across_runs(history_site: tuple[Site, list[str]]
                                                 ) -> None:
    site, _ = history_site
    assert ok(site, "--all", "--with-ids") == ok(site, "--all", "--with-ids")


def test_all_is_the_concatenation_of_its_ranges_with_the_same_event_ids(
        history_site: tuple[Site, list[str]]) -> None:
    site, c = history_site
    whole = ok(site, "--all", "--with-ids")
    pieces = [ok(site, f"..{c[1]}", "--with-ids"), ok(site, f"{c[1]}..{c[2]}", "--with-ids"),
              ok(site, f"{c[2]}..{c[3]}", "--with-ids"), ok(site, f"{c[3]}..", "--with-ids")]
    assert b"".join(pieces) == whole
    assert all(pieces)
    assert ok(site, "--since", c[2], "--with-ids") == pieces[2] + pieces[3]
    # the scheduled publication falls between c[2] and c[3]: in that piece, and once
    assert pieces[2].count(b'"content.published","occurred_at":"2023-11-15T00:00:00Z"') == 1
    ids = [line.split(b" ", 1)[0] for line in whole.splitlines()]
    assert len(set(ids)) == len(ids)


def test_without_a_range_it_prints_the_branchs_last_commit(
        history_site: tuple[Site, list[str]]) -> None:
    site, c = history_site
    last = ok(site)
    assert last == ok(site, f"{c[3]}..{c[4]}") == ok(site, c[4])
    assert [json.loads(line)["event"] for line in last.splitlines()] == [
        "content.unpublished", "content.deleted"]


def test_a_single_revision_is_that_commit_alone(history_site: tuple[Site, list[str]]) -> None:
    site, c = history_site
    assert ok(site, c[0]) == ok(site, f"..{c[0]}")
    assert ok(site, c[1]) == ok(site, f"{c[0]}..{c[1]}")
    assert ok(site, "HEAD~3") == ok(site, c[1])


def test_a_merge_commit_alone_is_its_diff_against_the_first_parent(site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    site.git("checkout", "-q", "-b", "side")
    site.write("posts/b.md", post("title: B"))
    site.commit()
    site.write("posts/b.md", post("title: B, edited"))
    site.commit()
    site.git("checkout", "-q", "main")
    site.git("merge", "--no-ff", "-q", "-m", "merge", "side", time=site.clock + 60)
    got = [json.loads(line) for line in ok(site).splitlines()]
    assert [(p["event"], p["data"]["slug"]) for p in got] == [("content.created", "b"),
                                                               ("content.published", "b")]
    assert {p["occurred_at"] for p in got} == {"2023-11-14T22:17:20Z"}  # the merge's time


def test_a_range_whose_start_is_not_an_ancestor_is_diffed_as_one_save_with_a_warning(
        site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    base = site.commit()
    site.write("posts/gone.md", post("title: only on the old history"))
    old = site.commit()
    site.git("reset", "-q", "--hard", base)
    site.write("posts/new.md", post("title: rewritten"))
    new = site.commit()
    result = events(site, f"{old}..{new}")
    assert result.returncode == 0
    assert [json.loads(line)["data"]["slug"] for line in result.stdout.splitlines()] == [
        "gone", "gone", "new", "new"]
    assert "not an ancestor" in result.stderr.decode() and old[:12] in result.stderr.decode()


def test_broken_frontmatter_is_a_warning_on_stderr_and_the_output_goes_on(site: Site) -> None:
    site.write("posts/a.md", post("title: fine"))
    site.commit()
    site.write("posts/a.md", "---\ntitle: [unclosed\n---\n")
    site.write("posts/b.md", post("title: also fine"))
    broken = site.commit()
    result = events(site)
    assert result.returncode == 0
    assert [json.loads(line)["event"] for line in result.stdout.splitlines()] == [
        "content.updated", "content.created", "content.published"]
    warning = result.stderr.decode()
    assert warning.count("\n") == 1
    assert "posts/a.md" in warning and broken[:12] in warning and "broken frontmatter" in warning


def test_the_config_chooses_the_repository_branch_and_content_rules(site: Site,
                                                                   tmp_path: Path) -> None:
    site.write("content/posts/a.md", post("title: in content"))
    site.write("README.md", "outside content_dir\n")
    site.commit()
    site.git("checkout", "-q", "-b", "other")
    site.write("content/posts/b.md", post("title: only on other"))
    site.commit()
    config = tmp_path / "elsewhere" / "webhooks.toml"
    config.parent.mkdir()
    config.write_text(f'[repository]\npath = "{site.root}"\nbranch = "main"\n'
                      'content_dir = "content"\n')
    slugs = [json.loads(line)["data"]["slug"] for line in
             ok(site, "--all", config=config).splitlines()]
    assert slugs == ["a", "a"]
    env_result = events(site, "--all", env={"COMETWATCH_CONFIG": str(config)})
    assert env_result.stdout == ok(site, "--all", config=config)
    (site.root / "webhooks.toml").write_text('[repository]\nbranch = "other"\n')
    assert len(ok(site, "--all").splitlines()) == 6  # README.md and b.md on `other`


def test_events_writes_nothing(history_site: tuple[Site, list[str]]) -> None:
    site, _ = history_site

    def snapshot() -> dict[str, tuple[int, int]]:
        return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
                for p in site.root.rglob("*") if p.is_file()}

    before = snapshot()
    ok(site, "--all")
    ok(site)
    assert snapshot() == before


@pytest.mark.process
def test_a_closed_pipe_ends_the_command_quietly(site: Site) -> None:
    for n in range(600):  # more output than a pipe holds
        site.write(f"posts/p{n:03}.md", post(f"title: {n}"))
    site.commit()
    environ = {k: v for k, v in os.environ.items() if k != "COMETWATCH_CONFIG"}
    proc = subprocess.Popen([sys.executable, "-m", "cometwatch", "events", "--all"],
                            cwd=site.root, env=environ, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b'{"event":"content.created"')
    proc.stdout.close()
    assert proc.wait(timeout=60) == 0
    assert proc.stderr.read() == b""


@pytest.mark.parametrize(("args", "code", "words"), [
    (["no-such-rev"], 1, "no commit named 'no-such-rev'"),
    (["no-such..HEAD"], 1, "no commit named 'no-such'"),
    (["HEAD", "--all"], 2, "either a RANGE or --since/--all"),
])
def test_bad_revisions_and_usage_are_one_line_errors(site: Site, args: list[str], code: int,
                                                     words: str) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    assert words in one_line_error(events(site, *args), code)


def test_since_and_all_together_are_refused_by_the_parser(site: Site) -> None:
    result = events(site, "--since", "HEAD", "--all")
    assert result.returncode == 2 and b"not allowed with argument" in result.stderr


def test_a_missing_branch_or_repository_is_a_one_line_error(site: Site, tmp_path: Path) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    config = tmp_path / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{site.root}"\nbranch = "nope"\n')
    assert "branch 'nope' does not exist" in one_line_error(events(site, config=config), 1)
    nowhere = tmp_path / "not-a-repo"
    nowhere.mkdir()
    config.write_text(f'[repository]\npath = "{nowhere}"\n')
    assert "not a git repository" in one_line_error(events(site, config=config), 1)


def test_an_empty_history_range_prints_nothing(site: Site) -> None:
    site.write("notes.txt", "not an entry\n")
    site.commit()
    site.git("commit", "-q", "--allow-empty", "-m", "empty", time=site.clock + 60)
    assert ok(site, "--all") == b""
    assert ok(site, "HEAD..HEAD") == b""
