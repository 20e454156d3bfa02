"""File names of any bytes: git's output parsed by its grammar, paths carried losslessly.

A file name is bytes (anything but NUL and `/`), not text: it must never be read as git's
structure (a commit header, a change line), never wedge a scan, and come back byte for byte
from the store. The parsers are fuzzed against a real repository whose trees are written
straight into the index, so any name git stores can be tried, whatever the file system takes.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import GIT_ENV, Site, post
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from receiver import RECEIVER_SECRET, Receiver
from testing import examples

from cometwatch.cli import main
from cometwatch.commits import Change
from cometwatch.config import ContentRules
from cometwatch.engine import Engine
from cometwatch.flow import history
from cometwatch.gitrepo import Repository
from cometwatch.payload import body
from cometwatch.store import DeliveryStatus, Store

# git refuses these as path components whatever the file system says
_REFUSED = {b".", b"..", b".git"}


def _component(raw: bytes) -> bool:
    return raw.lower() not in _REFUSED and not raw.lower().startswith(b".git") and b"/" not in raw


COMPONENT = st.binary(min_size=1, max_size=10).map(lambda b: b.replace(b"\0", b"\1")).filter(
    _component)
PATH = st.lists(COMPONENT, min_size=1, max_size=3).map(b"/".join)


class RawRepo:
    """A repository whose commits are written through the index by path bytes, never the
    file system: `git update-index -z --index-info`, `write-tree`, `commit-tree`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        self.time = 1_700_000_000
        self._blobs: dict[bytes, str] = {}
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, data: bytes | None = None) -> bytes:
        env = {**os.environ, **GIT_ENV, "GIT_AUTHOR_DATE": f"@{self.time} +0000",
               "GIT_COMMITTER_DATE": f"@{self.time} +0000"}
        return subprocess.run(["git", "-c", "core.protectNTFS=false", "-c",
                               "core.protectHFS=false", *args], cwd=self.root, env=env,
                              input=data, check=True, capture_output=True).stdout.strip()

    def blobs(self, contents: list[bytes]) -> dict[bytes, str]:
        """Each content written as a blob, in one `git hash-object` (one git per file made
        the every-byte test spend seconds starting processes)."""
        known = self._blobs
        fresh = list(dict.fromkeys(c for c in contents if c not in known))
        if fresh:
            staging = self.root.parent / f"{self.root.name}.blobs"
            staging.mkdir(exist_ok=True)
            files = []
            for n, content in enumerate(fresh):
                (staging / str(n)).write_bytes(content)
                files.append(str(staging / str(n)))
            shas = self.git("hash-object", "-w", "--no-filters", "--stdin-paths",
                            data="\n".join(files).encode() + b"\n").decode().split()
            assert len(shas) == len(fresh)
            known.update(zip(fresh, shas, strict=True))
        return known

    def commit(self, files: dict[bytes, bytes]) -> str:
        """A commit whose tree is exactly `files` (path bytes → content)."""
        self.time += 60
        index = self.root / ".git" / "index"
        index.unlink(missing_ok=True)
        blobs = self.blobs(list(files.values()))
        info = b"".join(b"100644 " + blobs[content].encode() + b"\t" + path + b"\0"
                        for path, content in files.items())
        self.git("update-index", "-z", "--index-info", data=info)
        tree = self.git("write-tree").decode()
        parent = self.git("rev-parse", "-q", "--verify", "HEAD^{commit}") if self._has_head() \
            else b""
        args = ["commit-tree", tree, "-m", "save"] + (["-p", parent.decode()] if parent else [])
        sha = self.git(*args).decode()
        self.git("update-ref", "refs/heads/main", sha)
        return sha

    def _has_head(self) -> bool:
        return subprocess.run(["git", "rev-parse", "-q", "--verify", "HEAD"], cwd=self.root,
                              capture_output=True).returncode == 0


def raw(path: str | None) -> bytes | None:
    return None if path is None else path.encode("utf-8", "surrogateescape")


def check_parsers(repo: RawRepo, trees: list[dict[bytes, bytes]]) -> None:
    """Commit each tree in turn; every parser must give back exactly what was committed."""
    shas = [repo.commit(tree) for tree in trees]
    with Repository(repo.root) as git:
        commits = list(git.walk(None, shas[-1]))
        assert [c.sha for c in commits] == shas
        before: dict[bytes, bytes] = {}
        for commit, tree in zip(commits, trees, strict=True):
            gone = {raw(c.old_path) for c in commit.changes if c.status in "DR"}
            came = {raw(c.new_path) for c in commit.changes if c.status in "AMR"}
            assert came - {None} <= tree.keys()
            # every path that changed, and only those, is in the parsed changes
            changed = {p for p in tree.keys() | before.keys() if tree.get(p) != before.get(p)}
            assert changed == (gone | came) - {None}
            listed = git.tree(commit.sha)
            assert {raw(p) for p in listed} == set(tree)
            blobs = git.read_blobs([sha for _, sha in listed.values()], 1 << 20)
            assert {raw(p): blobs[sha] for p, (_, sha) in listed.items()} == tree
            before = tree
        if len(shas) > 1:
            assert set(git.diff(shas[0], shas[-1])) == set(
                _changes_between(git, shas[0], shas[-1]))


def _changes_between(git: Repository, old: str, new: str) -> Iterator[Change]:
    yield from git.diff(old, new)


def test_file_names_of_every_byte_are_parsed_as_names_by_every_git_parser(
        tmp_path: Path) -> None:
    every = [bytes([b]) for b in range(1, 256) if b != 0x2F]
    names = {b: f"{i:03d}".encode() for i, b in enumerate(every)}
    first = {}
    for byte in every:  # each byte first, inside and last in a name; at the top and deeper
        for path in (byte + b"x.md", b"a" + byte + b"b.txt", b"dir" + byte + b"/" + byte,
                     b":100644 100644 " + byte, b"\x01" + names[byte] + b" 1700000000"):
            if all(_component(part) for part in path.split(b"/")):
                first[path] = b"---\ntitle: " + names[byte] + b"\n---\n" + path
    renamed = {b"moved/" + path: content for path, content in first.items()}
    halved = {path: content for i, (path, content) in enumerate(renamed.items()) if i % 2}
    check_parsers(RawRepo(tmp_path / "repo"), [first, renamed, halved, {}])


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.dictionaries(PATH, st.binary(max_size=40), max_size=6), min_size=1,
                max_size=4))
def test_any_file_names_in_any_history_come_back_from_the_parsers_byte_for_byte(
        tmp_path_factory: pytest.TempPathFactory, trees: list[dict[bytes, bytes]]) -> None:
    trees = [_no_file_under_a_file(tree) for tree in trees]
    check_parsers(RawRepo(tmp_path_factory.mktemp("fuzz") / "repo"), trees)


def _no_file_under_a_file(tree: dict[bytes, bytes]) -> dict[bytes, bytes]:
    """A tree cannot hold both `a` and `a/b`: keep the first of such a pair."""
    kept: dict[bytes, bytes] = {}
    for path, content in tree.items():
        parts = path.split(b"/")
        prefixes = {b"/".join(parts[:n]) for n in range(1, len(parts))}
        if prefixes & kept.keys() or any(k.startswith(path + b"/") for k in kept):
            continue
        kept[path] = content
    return kept


# -- the cases: one bad name never wedges a site ----------------------------------------------

def config(site: Site, tmp_path: Path, url: str = "http://127.0.0.1:9/hook") -> Path:
    file = tmp_path / "webhooks.toml"
    file.write_text(f'[repository]\npath = "{site.root}"\n[state]\npath = '
                    f'"{tmp_path / "state.db"}"\n[[webhooks]]\nname = "r"\nurl = "{url}"\n'
                    f'secret = "{RECEIVER_SECRET}"\nretry_schedule = ["0s"]\n')
    return file


def write_bytes(site: Site, path: bytes, content: bytes) -> None:
    target = os.fsencode(site.root) + b"/" + path
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "wb") as handle:
        handle.write(content)


def cli(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[int, bytes, bytes]:
    capsysbinary.readouterr()
    root = logging.getLogger("cometwatch")
    handlers, propagate = root.handlers[:], root.propagate
    try:
        code = main(list(args))
    finally:
        root.handlers[:], root.propagate = handlers, propagate
    out, err = capsysbinary.readouterr()
    return code, out, err


def test_a_file_name_that_is_not_utf8_is_scanned_stored_and_sent(
        site: Site, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    with Receiver(RECEIVER_SECRET) as receiver:
        file = str(config(site, tmp_path, receiver.url))
        assert cli(capsysbinary, "--config", file, "scan")[0] == 0  # the baseline
        write_bytes(site, b"posts/bad\xffname.md", post("title: bad").encode())
        write_bytes(site, b"notes/caf\xe9.txt", b"not an entry, any extension")
        site.commit()
        code, _, err = cli(capsysbinary, "--config", file, "scan")
        assert code == 0, err
        site.write("posts/later.md", post("title: later"))
        site.commit()
        code, _, err = cli(capsysbinary, "--config", file, "scan")
        assert code == 0, err
        got = [json.loads(a.body) for a in receiver.wait_for(4, timeout=20)]
    assert [(g["event"], g["data"]["slug"]) for g in got] == [
        ("content.created", "bad-name"), ("content.published", "bad-name"),
        ("content.created", "later"), ("content.published", "later")]
    with Store.open(tmp_path / "state.db") as store:
        paths = {raw(d.event.path) for d in store.deliveries(limit=100)}
        assert paths == {b"posts/bad\xffname.md", b"posts/later.md"}
        assert all(d.status is DeliveryStatus.OK for d in store.deliveries(limit=100))
    code, out, err = cli(capsysbinary, "--config", file, "events", "--all")
    assert code == 0 and b'"slug":"bad-name"' in out, err


def test_an_undecodable_path_keeps_a_stable_id_from_its_bytes(site: Site) -> None:
    write_bytes(site, b"posts/a\xff.md", b"x")
    write_bytes(site, b"posts/a\xfe.md", b"y")
    site.commit()
    with Repository(site.root) as repo:
        events = [e for s in history(repo, Engine(ContentRules()), None, site.head())
                  for e in s.events]
    created = {raw(e.path): e for e in events if e.name == "content.created"}
    # both read as "a?" but are two entries with two ids, each hashed from its own bytes
    assert created[b"posts/a\xff.md"].slug == created[b"posts/a\xfe.md"].slug == "a"
    assert created[b"posts/a\xff.md"].entry_id != created[b"posts/a\xfe.md"].entry_id
    for event in events:
        body(event).decode("ascii")
        assert "\\ud" not in body(event).decode()  # no lone surrogate reaches a payload


def test_a_top_level_file_named_with_0x01_is_never_read_as_a_commit(
        site: Site, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    site.write("a.md", post("title: A"))
    site.commit()
    file = str(config(site, tmp_path))
    assert cli(capsysbinary, "--config", file, "scan", "--no-deliver")[0] == 0
    write_bytes(site, b"\x01abc.txt", b"x")
    write_bytes(site, b"\x01" + b"0" * 40 + b" 12.md", b"x")
    site.commit()
    site.write("b.md", post("title: B"))
    site.commit()
    for args in (("scan", "--no-deliver"), ("events", "--all"), ("events",)):
        code, out, err = cli(capsysbinary, "--config", file, *args)
        assert code == 0, err
    code, out, _ = cli(capsysbinary, "--config", file, "events", "--all")
    slugs = [json.loads(line)["data"]["slug"] for line in out.splitlines()]
    assert slugs == ["a", "a", "0000000000000000000000000000000000000000-12",
                     "0000000000000000000000000000000000000000-12", "b", "b"]


# -- the class: any names, any edits, through a real repository, a scan and a receiver ----------

NAME = st.lists(COMPONENT.filter(lambda c: len(c) < 200), min_size=1, max_size=2).map(
    lambda parts: b"/".join(parts) + b".md")
OPS = st.lists(st.one_of(
    st.tuples(st.just("create"), NAME, st.integers(0, 0)),
    st.tuples(st.just("rename"), NAME, st.integers(0, 9)),
    st.tuples(st.sampled_from(["delete", "trash", "restore", "edit"]), st.just(b""),
              st.integers(0, 9)),
), min_size=1, max_size=6)


def _apply(site: Site, files: list[bytes], trashed: list[bytes], op: tuple[str, bytes, int]
           ) -> None:
    kind, name, pick = op
    root = os.fsencode(site.root)
    if kind == "create" and not any(f == name or f.startswith(name + b"/") or
                                    name.startswith(f + b"/") for f in files + trashed):
        write_bytes(site, name, post(f"title: {name!r}").encode())
        files.append(name)
    elif kind == "restore" and trashed:
        path = trashed.pop(pick % len(trashed))
        if any(f == path or f.startswith(path + b"/") or path.startswith(f + b"/")
               for f in files):
            trashed.append(path)
            return
        os.makedirs(os.path.dirname(root + b"/" + path), exist_ok=True)
        os.rename(root + b"/.trash/" + path, root + b"/" + path)
        files.append(path)
    elif files and kind != "create":
        path = files[pick % len(files)]
        if kind == "edit":
            write_bytes(site, path, post(f"title: edited {pick}").encode())
            return
        files.remove(path)
        if kind == "delete":
            os.unlink(root + b"/" + path)
        elif kind == "trash" and path not in trashed:
            os.makedirs(os.path.dirname(root + b"/.trash/" + path), exist_ok=True)
            os.rename(root + b"/" + path, root + b"/.trash/" + path)
            trashed.append(path)
        elif kind == "rename" and not any(f == name or f.startswith(name + b"/") or
                                          name.startswith(f + b"/") for f in files + trashed):
            os.makedirs(os.path.dirname(root + b"/" + name), exist_ok=True)
            os.rename(root + b"/" + path, root + b"/" + name)
            files.append(name)
        else:
            files.append(path)


def _sent(event_id: str, payload: bytes) -> tuple[str, str]:
    return json.loads(payload)["data"]["id"], event_id


@settings(max_examples=examples(8), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(st.lists(OPS, min_size=1, max_size=3))
def test_any_file_names_created_renamed_trashed_and_deleted_are_all_delivered(
        tmp_path_factory: pytest.TempPathFactory, capsysbinary: pytest.CaptureFixture[bytes],
        commits: list[list[tuple[str, bytes, int]]]) -> None:
    tmp_path = tmp_path_factory.mktemp("names")
    site = Site(tmp_path / "site")
    site.write("start.md", post("title: start"))
    baseline = site.commit()
    files: list[bytes] = [b"start.md"]
    trashed: list[bytes] = []
    with Receiver(RECEIVER_SECRET) as receiver:
        file = str(config(site, tmp_path, receiver.url))
        assert cli(capsysbinary, "--config", file, "scan")[0] == 0
        for ops in commits:
            for op in ops:
                _apply(site, files, trashed, op)
            site.commit()
            code, _, err = cli(capsysbinary, "--config", file, "scan")
            assert code == 0, err  # never wedged: every scan moves the cursor on
        code, out, err = cli(capsysbinary, "--config", file, "events", "--with-ids",
                             f"{baseline}..")
        assert code == 0, err
        expected = [_sent(line.split(b" ", 2)[0].decode(), line.split(b" ", 2)[2])
                    for line in out.splitlines()]
        arrived = receiver.wait_for(len(expected), timeout=30) if expected else []
    got = [_sent(a.event_id, a.body) for a in arrived]
    assert sorted(got) == sorted(expected)  # nothing lost, none twice
    for entry in {entry for entry, _ in expected}:  # each entry's events in order
        assert [e for e in got if e[0] == entry] == [e for e in expected if e[0] == entry]
    for arrival in arrived:
        assert arrival.verified
        json.loads(arrival.body.decode("utf-8"))  # valid UTF-8 JSON, no lone surrogate
    with Store.open(tmp_path / "state.db") as store:
        assert all(d.status is DeliveryStatus.OK for d in store.deliveries(limit=10_000))
        cursor = store.cursor("main")
        assert cursor is not None and cursor.commit == site.head()


NASTY = [b"posts/bad\xffname.md", b"\x01" + b"0" * 40 + b" 1.md", b"posts/a\nb.md",
         b"posts/\x1b[31mred.md", b"posts/caf\xe9 \x7f.md", b"posts/\xf0\x9f\x98\x80.md"]


@pytest.mark.process
def test_the_daemon_derives_and_delivers_names_of_any_bytes_without_a_traceback(
        site: Site, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    from test_daemon import SECRET, Daemon, write_config

    site.write("start.md", post("title: start"))
    base = site.commit()
    with Receiver(SECRET) as receiver:
        config = write_config(site.root, receiver.url)
        daemon = Daemon(config, global_args=()).start()
        try:
            root = os.fsencode(site.root)
            for name in NASTY:  # a commit each: created
                write_bytes(site, name, post("title: x").encode())
                site.commit()
            os.rename(root + b"/" + NASTY[0], root + b"/posts/renamed\xfe.md")
            os.makedirs(root + b"/.trash/posts")
            os.rename(root + b"/" + NASTY[2], root + b"/.trash/" + NASTY[2])
            os.unlink(root + b"/" + NASTY[3])
            site.commit()
            code, out, err = cli(capsysbinary, "--config", str(config), "events", "--with-ids",
                                 f"{base}..")
            assert code == 0, err
            expected = sorted(line.split(b" ", 1)[0].decode() for line in out.splitlines())
            arrived = receiver.wait_for(len(expected), timeout=30)
            assert sorted(a.event_id for a in arrived) == expected
            assert all(a.verified for a in arrived)
        finally:
            assert daemon.stop() == 0
            daemon.close()
    assert "Traceback" not in daemon.log() and "unexpected error" not in daemon.log()
