"""Blobs asked for ahead (`Repository.prefetch`) come back exactly as blobs read at once, in
any order of asking and reading, whatever is missing, cut or never wanted."""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Site
from hypothesis import given, settings
from hypothesis import strategies as st
from testing import examples

from cometwatch.errors import RepositoryError
from cometwatch.gitrepo import Repository

MISSING = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(scope="module")
def blobs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, bytes]]]:
    """A repository of 700 files (more than one batch of requests), a few of them larger
    than the pipe git answers through, and their contents by blob sha."""
    site = Site(tmp_path_factory.mktemp("blobs") / "site")
    rng = random.Random(5)
    for n in range(700):
        size = 400_000 if n % 97 == 0 else rng.randrange(0, 3000)
        site.write(f"content/f{n}.md", f"{n}\n" + "x" * size)
    site.commit()
    with Repository(site.root) as repo:
        listed = repo.tree("HEAD")
    contents = {sha: (site.root / path).read_bytes() for path, (_, sha) in listed.items()}
    yield site.root, contents


def test_blobs_asked_ahead_are_those_read_at_once(
        blobs: tuple[Path, dict[str, bytes]]) -> None:
    root, contents = blobs
    shas = list(contents)
    with Repository(root) as repo:
        repo.prefetch(shas[:300], 1 << 20)
        assert repo.read_blobs(shas[300:310], 1 << 20) == {s: contents[s] for s in shas[300:310]}
        assert repo.read_blobs(shas[:300], 1 << 20) == {s: contents[s] for s in shas[:300]}
        repo.prefetch(shas, 1 << 20)  # more than a batch: the rest is read when wanted
        assert repo.read_blobs(shas, 1 << 20) == contents


def test_a_missing_blob_asked_ahead_fails_only_the_read_that_wants_it(
        blobs: tuple[Path, dict[str, bytes]]) -> None:
    root, contents = blobs
    shas = list(contents)[:20]
    with Repository(root) as repo:
        repo.prefetch([shas[0], MISSING, *shas[1:]], 1 << 20)
        assert repo.read_blobs(shas[:5], 1 << 20) == {s: contents[s] for s in shas[:5]}
        with pytest.raises(RepositoryError, match="missing"):
            repo.read_blobs([MISSING, shas[5]], 1 << 20)
        assert repo.read_blobs(shas, 1 << 20) == {s: contents[s] for s in shas}


def test_a_read_with_another_limit_is_not_given_blobs_cut_at_the_first(
        blobs: tuple[Path, dict[str, bytes]]) -> None:
    root, contents = blobs
    big = [sha for sha, data in contents.items() if len(data) > 100_000]
    with Repository(root) as repo:
        repo.prefetch(big, 10)
        assert repo.read_blobs(big, 1 << 20) == {s: contents[s] for s in big}
        repo.prefetch(big, 1 << 20)
        assert repo.read_blobs(big, 10) == {s: contents[s][:10] for s in big}


@settings(max_examples=examples(40), deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(st.integers(0, 699), max_size=60),
                          st.sampled_from([16, 1 << 20])), min_size=1, max_size=8))
def test_any_order_of_asking_and_reading_reads_the_right_bytes(
        blobs: tuple[Path, dict[str, bytes]], steps: list[tuple[bool, list[int], int]]) -> None:
    root, contents = blobs
    shas = list(contents)
    with Repository(root) as repo:
        for ask, picks, limit in steps:
            wanted = [shas[n] for n in picks]
            if ask:
                repo.prefetch(wanted, limit)
            else:
                assert repo.read_blobs(wanted, limit) == {s: contents[s][:limit] for s in wanted}


def test_a_commit_time_is_read_from_the_commit_or_the_tag_naming_it(site: Site) -> None:
    site.write("a.md", "a\n")
    sha = site.commit(time=1_700_000_123)
    site.git("tag", "-a", "-m", "release", "v1", time=1_800_000_000)
    with Repository(site.root) as repo:
        repo.prefetch([sha], 1 << 20)  # asked ahead and never read: the answer waits in line
        assert repo.commit_time(sha) == 1_700_000_123
        assert repo.commit_time("v1") == 1_700_000_123  # the tag's commit, not the tag's date
        with pytest.raises(RepositoryError):
            repo.commit_time(MISSING)


def test_a_walk_closed_early_stops_git_without_an_error(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    import cometwatch.gitrepo as gitrepo

    monkeypatch.setattr(gitrepo, "_PIPE_BYTES", 4096)  # git fills the pipe and waits on us
    stream = b"".join(
        b"commit refs/heads/main\nmark :%d\ncommitter T <t@example.org> %d +0000\ndata 1\nc\n"
        b"%sM 100644 inline content/f%d.md\ndata 2\n%02d\n"
        % (n, 1_700_000_000 + n, b"from :%d\n" % (n - 1) if n > 1 else b"", n, n % 100)
        for n in range(1, 400))
    subprocess.run(["git", "fast-import", "--quiet"], cwd=site.root, input=stream, check=True)
    with Repository(site.root) as repo:
        for newest_first in (True, False):
            walk = repo.walk(None, "main", ("content",), newest_first)
            first = next(walk)
            assert first.changes[0].new_path == ("content/f399.md" if newest_first
                                                 else "content/f1.md")
            walk.close()  # git is killed: no "git log failed"


def test_top_names_read_from_the_tree_object_are_those_git_lists(site: Site) -> None:
    names = [bytes([b]) + b"name" for b in range(1, 256) if b != 0x2F] + [b"sub", b"x" * 200]
    for name in names:
        path = site.root / os.fsdecode(name)
        if name == b"sub":
            path.mkdir()
            (path / "inner.md").write_text("x\n")
        else:
            path.write_bytes(b"x\n")
    sha = site.commit()
    with Repository(site.root) as repo:
        from_object = repo.top_names(sha)
        assert from_object == repo.top_names("HEAD")  # by name: git ls-tree lists it
        assert from_object == {os.fsdecode(name) for name in names}


def test_answers_asked_ahead_past_the_memory_budget_are_read_again_when_wanted(
        blobs: tuple[Path, dict[str, bytes]], monkeypatch: pytest.MonkeyPatch) -> None:
    import cometwatch.gitrepo as gitrepo

    monkeypatch.setattr(gitrepo, "_READY_BYTES", 20_000)  # a few blobs' worth
    root, contents = blobs
    shas = list(contents)
    with Repository(root) as repo:
        repo.prefetch(shas[:400], 1 << 20)
        assert repo.read_blobs(shas[390:400], 1 << 20) == {s: contents[s] for s in shas[390:400]}
        assert sum(map(len, repo._ready.values())) <= 20_000
        assert repo.read_blobs(shas[:390], 1 << 20) == {s: contents[s] for s in shas[:390]}


def test_a_commit_whose_time_git_cannot_read_is_a_one_line_error(site: Site) -> None:
    tree = site.git("mktree")
    odd = subprocess.run(
        ["git", "hash-object", "-t", "commit", "-w", "--literally", "--stdin"], cwd=site.root,
        input=f"tree {tree}\nauthor A <a@b> 1700000000 +0000\ncommitter C <c@d> 17000.5 "
              "+0000\n\nodd\n".encode(), capture_output=True, check=True).stdout.decode().strip()
    with Repository(site.root) as repo, pytest.raises(RepositoryError, match="cannot read commit"):
        repo.commit_time(odd)
