"""Event derivation speed and memory, against a floor measured in the same run.

    .venv/bin/python benchmarks/derive.py [--entries 20000] [--commits 10000]
        [--big-files 100000] [--cache DIR] [--repeat 3] [--seed 1] [--bulk]
        [--only history|mixed|one-commit|scan|site-configs]

1. A synthetic content repository is generated with `git fast-import` (cached under --cache,
   default /tmp/cometwatch-bench): a bulk import, then commits of a realistic mix of creates,
   edits, renames, status changes, schedules, moves between collections, trash, restores and
   deletes, with a --no-ff merge of a three-commit branch every 50 commits.
2. `cometwatch events --all` (stdout to /dev/null) is timed against the floor: `git log
   --first-parent --raw -M` of the same history, `git cat-file --batch` over the entry blobs it
   changes and a C-loader YAML parse (yaml.CSafeLoader) of each frontmatter. Prints both, the
   ratio (target: at most 1.2x) and the peak RSS of the events process (target: under 150 MB).
2b. (`mixed`) The same on a repository of code with its docs in content/ (--entries/4 entries,
   --commits commits, 85 % of them touching only code and Markdown outside content/), against
   the content-scoped floor (`git log … -- content`, as cometwatch reads a site's history:
   only its content folders and config files). Target: at most 1.0x.
3. One new commit in a repository of --big-files entries: the engine's work for it (git log of
   the commit, its blobs, derivation) with the ledger of the history before it already built,
   as a running daemon has it (target: under 50 ms), and the ledger's JSON round trip.
4. The same commit as `cometwatch scan` stores it, with the state of a baseline scan at the
   commit before: the scan in-process after a scan that found nothing new (as the daemon
   scans; the derive and store part, target under 50 ms), that first scan (a daemon's start:
   the stored ledger is read a row at a time, as the engine asks), the ledger rows the scan of
   the commit read, reading the stored ledger whole (what a force push past a `git gc` or
   changed content rules need), the whole `cometwatch scan --no-deliver` process, and
   `cometwatch events PREV..TIP`, which rebuilds the ledger from history instead.
5. (`site-configs`, first) Reading the site configs of one commit that changed them, for large
   real-shaped Docusaurus, Astro + Starlight, Eleventy and Hugo + Decap sites
   (benchmarks/siteconfigs.py): every blob new, parsed statically, the site built (target:
   at most 10 ms each).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

GENERATOR = 4  # bump when the generated history changes, so caches are rebuilt
START = 1_600_000_000
# Prose-like text: a few thousand made-up words, so that, as with real posts, two entries
# share little and git's deltas between them stay small.
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "de", "an", "el", "or", "un",
              "is", "at", "en", "il", "ok", "ar", "us", "po", "te", "ma", "ri", "gu", "fe",
              "bo", "da", "ni", "ve")
WORDS = tuple(dict.fromkeys(
    "".join(random.Random(7 * n).choices(_SYLLABLES, k=2 + n % 3)) for n in range(6000)))
COLLECTIONS = ("posts", "pages", "docs", "notes")
CONFIG = """[repository]
path = "{repo}"
branch = "main"
content_dir = "content"
"""
# cometwatch runs as installed: from compiled bytecode (pip writes it at install; an editable
# install on first import). A shell with PYTHONDONTWRITEBYTECODE would have every timed run
# compile its ~50 modules again (~40 ms), which no user's run does.
GIT_ENV = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


# -- the synthetic history --------------------------------------------------------------------


class Entry:
    __slots__ = ("edits", "path", "publish_at", "published", "serial", "style", "uid")

    def __init__(self, serial: int, path: str, rng: random.Random, now: int) -> None:
        self.serial, self.path, self.edits = serial, path, 0
        self.uid = f"{rng.getrandbits(64):016x}" if rng.random() < 0.3 else None
        self.style = rng.choice(("draft", "draft", "status", "published"))
        self.published = rng.random() < 0.8
        self.publish_at = now + rng.randrange(3600, 30 * 86400) if rng.random() < 0.05 else None

    def text(self, rng: random.Random) -> bytes:
        serial = self.serial
        front = [f'title: "Entry {serial}: {" ".join(rng.sample(WORDS, 4))}"',
                 f"date: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(START + serial))}",
                 f"tags: [{', '.join(rng.sample(WORDS, 3))}]",
                 f'description: "{" ".join(rng.sample(WORDS, 10))}"']
        if self.uid:
            front.insert(0, f"uid: {self.uid}")
        if self.style == "status":
            front.append(f"status: {'published' if self.published else 'draft'}")
        elif self.style == "published":
            front.append(f"published: {'true' if self.published else 'false'}")
        else:
            front.append(f"draft: {'false' if self.published else 'true'}")
        if self.publish_at is not None:
            front.append("publishDate: " + time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                         time.gmtime(self.publish_at)))
        paragraphs = []
        for p in range(rng.randrange(4, 12)):
            words = " ".join(rng.choices(WORDS, k=rng.randrange(20, 40)))
            paragraphs.append(f"Paragraph {p} of entry {serial} (rev {self.edits}): {words}.")
        return ("---\n" + "\n".join(front) + "\n---\n\n" + "\n\n".join(paragraphs)
                + "\n").encode()


class History:
    """A random but valid sequence of saves over a content folder, as fast-import commands."""

    def __init__(self, entries: int, commits: int, seed: int, bulk: int) -> None:
        self.rng = random.Random(seed)
        self.target, self.commits, self.bulk = entries, commits, bulk
        self.live: dict[str, Entry] = {}
        self.trashed: dict[str, Entry] = {}
        self.serial = 0
        self.now = START

    def _new_path(self, collection: str) -> str:
        rng = self.rng
        name = "-".join(rng.sample(WORDS, 3)) + f"-{self.serial}"
        if collection == "posts":
            name = time.strftime("%Y/%m/", time.gmtime(self.now)) + name
        if rng.random() < 0.1:
            return f"content/{collection}/{name}/index.md"
        return f"content/{collection}/{name}.md"

    def _create(self) -> Iterator[bytes]:
        self.serial += 1
        entry = Entry(self.serial, self._new_path(self.rng.choice(COLLECTIONS)), self.rng,
                      self.now)
        self.live[entry.path] = entry
        yield _modify(entry.path, entry.text(self.rng))

    def _operation(self, commits_left: int) -> Iterator[bytes]:
        rng = self.rng
        # enough creates to reach the target by the last commit, the rest a mix of saves
        creates_left = self.target - self.serial
        if not self.live or rng.random() < min(1.0, creates_left / max(1, commits_left * 2)):
            yield from self._create()
            return
        kind = rng.choices(("edit", "status", "rename", "move", "trash", "restore", "delete",
                            "schedule"), weights=(50, 15, 8, 3, 8, 3, 5, 3))[0]
        if kind == "restore" and not self.trashed:
            kind = "edit"
        if kind == "restore":
            old = rng.choice(list(self.trashed))
            entry = self.trashed.pop(old)
            target = old.replace("content/.trash/", "content/", 1)
            if target in self.live:
                self.trashed[old] = entry
                return
            entry.path = target
            self.live[target] = entry
            yield _rename(old, target)
            return
        path = rng.choice(list(self.live))
        entry = self.live[path]
        if kind in ("edit", "status", "schedule"):
            entry.edits += 1
            if kind == "status":
                entry.published = not entry.published
            elif kind == "schedule":
                entry.published = True
                entry.publish_at = self.now + rng.randrange(600, 7 * 86400)
            yield _modify(path, entry.text(rng))
        elif kind == "delete":
            del self.live[path]
            yield f"D {path}\n".encode()
        else:
            if kind == "trash":
                target = path.replace("content/", "content/.trash/", 1)
            elif kind == "move":
                _, _, rest = path.partition("content/")
                other = rng.choice([c for c in COLLECTIONS if not rest.startswith(c + "/")])
                target = f"content/{other}/{rest.split('/', 1)[1]}"
            else:
                target = self._new_path(rest_collection(path))
            if target in self.live or target in self.trashed:
                return
            del self.live[path]
            entry.path = target
            (self.trashed if kind == "trash" else self.live)[target] = entry
            yield _rename(path, target)

    def stream(self) -> Iterator[bytes]:
        rng = self.rng
        mark = 0
        body = b"".join(b for _ in range(self.bulk) for b in self._create())
        mark += 1
        yield _commit("refs/heads/main", mark, self.now, "import", None, body)
        for n in range(1, self.commits):
            self.now += rng.randrange(60, 4 * 3600)
            if n % 50 == 0 and self.live:  # a --no-ff merge of a three-commit branch
                parent = mark
                side_ops = []
                for k in range(3):
                    ops = b"".join(self._operation(self.commits - n))
                    side_ops.append(ops)
                    mark += 1
                    yield _commit("refs/heads/side", mark, self.now - 300 + k, f"side {k}",
                                  parent if k == 0 else mark - 1, ops)
                mark += 1
                yield _commit("refs/heads/main", mark, self.now, "merge side", parent,
                              b"".join(side_ops), merge=mark - 1)
                continue
            ops = b"".join(op for _ in range(rng.choice((1, 1, 2, 2, 3, 4, 6)))
                           for op in self._operation(self.commits - n))
            mark += 1
            yield _commit("refs/heads/main", mark, self.now, f"save {n}", mark - 1, ops)


class MixedHistory(History):
    """A repository of code with its docs in content/: most commits touch only code (and
    Markdown outside content/), as in a project's own repository."""

    CODE_SHARE = 0.85

    def _code(self, count: int) -> bytes:
        rng = self.rng
        ops = []
        for _ in range(count):
            k = rng.randrange(400)
            path = f"src/pkg{k % 40}/mod{k}.py" if k % 10 else f"src/pkg{k % 40}/README.md"
            text = " ".join(rng.choices(WORDS, k=rng.randrange(200, 600))).encode() + b"\n"
            ops.append(_modify(path, text))
        return b"".join(ops)

    def stream(self) -> Iterator[bytes]:
        rng = self.rng
        body = b"".join(b for _ in range(self.bulk) for b in self._create()) + self._code(400)
        mark = 1
        yield _commit("refs/heads/main", mark, self.now, "import", None, body)
        for n in range(1, self.commits):
            self.now += rng.randrange(60, 4 * 3600)
            if rng.random() < self.CODE_SHARE:
                ops = self._code(rng.choice((1, 1, 2, 3, 5)))
            else:
                ops = b"".join(op for _ in range(rng.choice((1, 1, 2, 3)))
                               for op in self._operation(self.commits - n))
            mark += 1
            yield _commit("refs/heads/main", mark, self.now, f"save {n}", mark - 1, ops)


def rest_collection(path: str) -> str:
    return path.split("/")[1]


def _modify(path: str, data: bytes) -> bytes:
    return b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data)


def _rename(old: str, new: str) -> bytes:
    return f'R "{old}" "{new}"\n'.encode()


def _commit(ref: str, mark: int, when: int, message: str, parent: int | None, ops: bytes,
            merge: int | None = None) -> bytes:
    msg = message.encode()
    head = (f"commit {ref}\nmark :{mark}\ncommitter Bench <bench@example.org> {when} +0000\n"
            f"data {len(msg)}\n").encode() + msg + b"\n"
    if parent is not None:
        head += f"from :{parent}\n".encode()
    if merge is not None:
        head += f"merge :{merge}\n".encode()
    return head + ops + b"\n"


def generate(root: Path, entries: int, commits: int, seed: int, bulk: int,
             mixed: bool = False) -> Path:
    """The repository, generated once per set of sizes and kept under `root`."""
    repo = root / (f"{'mixed' if mixed else 'site'}-{entries}-{commits}-{bulk}-s{seed}"
                   f"-g{GENERATOR}")
    if (repo / ".complete").exists():
        return repo
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True, env=GIT_ENV)
    started = time.perf_counter()
    proc = subprocess.Popen(["git", "fast-import", "--quiet", "--done"], cwd=repo,
                            stdin=subprocess.PIPE, env=GIT_ENV)
    assert proc.stdin is not None
    for chunk in (MixedHistory if mixed else History)(entries, commits, seed, bulk).stream():
        proc.stdin.write(chunk)
    proc.stdin.write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "-C", str(repo), "branch", "-q", "-D", "side"], env=GIT_ENV,
                   capture_output=True)
    # packed the way git's automatic gc leaves a repository, not as fast-import wrote it
    subprocess.run(["git", "-C", str(repo), "gc", "-q"], env=GIT_ENV, check=True)
    (repo / ".complete").write_text("")
    print(f"  generated {repo} in {time.perf_counter() - started:.1f} s", file=sys.stderr,
          flush=True)
    return repo


# -- measurements -----------------------------------------------------------------------------


LOG_ARGS = ["git", "-c", "diff.renameLimit=20000", "-c", "core.quotepath=off", "log",
            "--first-parent", "--reverse", "--raw", "-M", "--no-abbrev", "-z",
            "--diff-merges=first-parent", "--no-color", "--no-ext-diff", "--format=%x01%H %ct",
            "main", "--"]


def floor(repo: Path, scope: str = "") -> tuple[float, dict[str, float]]:
    """git log (of `scope` only, when given: `-- content`), cat-file of the changed entry
    blobs, a C YAML parse of each frontmatter."""
    import yaml

    parts: dict[str, float] = {}
    started = time.perf_counter()
    out = subprocess.run([*LOG_ARGS, *([scope] if scope else [])], cwd=repo,
                         capture_output=True, check=True, env=GIT_ENV).stdout
    parts["git log"] = time.perf_counter() - started
    mark = time.perf_counter()
    tokens = out.split(b"\0")
    shas: dict[bytes, None] = {}
    for i, token in enumerate(tokens):
        if token.startswith((b":", b"\n:")):
            meta = token.split()
            if meta[-1][:1] in (b"A", b"M", b"R"):
                path = tokens[i + 2] if meta[-1][:1] == b"R" else tokens[i + 1]
                if path.endswith(b".md") and not path.startswith(b"content/.trash/"):
                    shas[meta[3]] = None
    cat = subprocess.Popen(["git", "cat-file", "--batch"], cwd=repo, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, env=GIT_ENV)
    assert cat.stdin is not None and cat.stdout is not None
    wanted = list(shas)
    blobs: list[bytes] = []
    for start in range(0, len(wanted), 512):
        batch = wanted[start:start + 512]
        cat.stdin.write(b"".join(s + b"\n" for s in batch))
        cat.stdin.flush()
        for _ in batch:
            size = int(cat.stdout.readline().split()[2])
            blobs.append(cat.stdout.read(size + 1)[:-1])
    cat.stdin.close()
    cat.wait()
    parts["cat-file"] = time.perf_counter() - mark
    mark = time.perf_counter()
    for blob in blobs:
        _, front, _ = blob.split(b"---\n", 2)
        yaml.load(front.decode(), Loader=yaml.CSafeLoader)
    parts["yaml"] = time.perf_counter() - mark
    parts["blobs"] = len(blobs)
    return time.perf_counter() - started, parts


# `python -m cometwatch` (the `cometwatch` command's own entry), telling its own peak RSS
# (VmHWM, KiB) on stderr as it exits
_CLI = ("import atexit, sys; from cometwatch.cli import run; atexit.register(lambda: print("
        "next(line.split()[1] for line in open('/proc/self/status') "
        "if line.startswith('VmHWM')), file=sys.stderr)); run()")


def events_run(config: Path) -> tuple[float, float, float]:
    """`cometwatch events --all` as a child, stdout to /dev/null: wall time, the peak RSS (MB)
    of the child and the git processes it ran (ru_maxrss), and of the Python process alone."""
    started = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen([sys.executable, "-c", _CLI, "--config", str(config), "events",
                                 "--all"], stdout=null, stderr=subprocess.PIPE, env=GIT_ENV)
        assert proc.stderr is not None
        own = proc.stderr.read().decode().split()
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"cometwatch events failed ({status}): {' '.join(own)[-300:]}")
    return elapsed, usage.ru_maxrss / 1024, int(own[-1]) / 1024


def one_commit(repo: Path, repeat: int) -> dict[str, float]:
    """The engine's work for the last commit, the ledger of everything before it in hand."""
    from cometwatch.config import parse_config_text
    from cometwatch.engine import Engine
    from cometwatch.flow import history
    from cometwatch.gitrepo import Repository
    from cometwatch.identity import Ledger

    config = parse_config_text(CONFIG.format(repo=repo), repo.parent / "bench.toml")
    rules = config.repository.rules
    figures: dict[str, float] = {}
    with Repository(repo) as git:
        tip = git.resolve_or_fail("main")
        base = git.resolve_or_fail("main^")
        engine = Engine(rules)
        started = time.perf_counter()
        for _ in history(git, engine, None, base):
            pass
        figures["ledger build (s)"] = time.perf_counter() - started
        figures["entries"] = len(engine.ledger.entries)
        mark = time.perf_counter()
        stored = json.dumps(engine.ledger.to_json(), separators=(",", ":"))
        figures["ledger to JSON (ms)"] = (time.perf_counter() - mark) * 1000
        mark = time.perf_counter()
        Ledger.from_json(json.loads(stored))
        figures["ledger from JSON (ms)"] = (time.perf_counter() - mark) * 1000
        figures["ledger JSON (MB)"] = len(stored) / 1e6
        floor_samples = []
        for _ in range(repeat * 3):
            mark = time.perf_counter()
            subprocess.run([*LOG_ARGS[:-2], f"{base}..{tip}", "--"], cwd=repo, check=True,
                           capture_output=True, env=GIT_ENV)
            floor_samples.append((time.perf_counter() - mark) * 1000)
        figures["git log of that commit alone (ms)"] = statistics.median(floor_samples)
        samples = []
        for _ in range(repeat * 3):
            engine = Engine(rules, Ledger.from_json(json.loads(stored)))
            mark = time.perf_counter()
            events = [e for save in history(git, engine, base, tip) for e in save.events]
            samples.append((time.perf_counter() - mark) * 1000)
        figures["one commit (ms)"] = statistics.median(samples)
        figures["one commit, best (ms)"] = min(samples)
        figures["events"] = len(events)
    return figures


SCAN_CONFIG = CONFIG.replace('branch = "main"', 'branch = "scan-bench"') + """
[state]
path = "{state}"
"""


def scan_commit(repo: Path, repeat: int) -> dict[str, float]:
    """The last commit as `cometwatch scan` stores it, from the stored state of a baseline
    scan at the commit before (on a branch of its own, so `main` stays as generated)."""
    from cometwatch.config import load_config
    from cometwatch.identity import PARTS, Ledger
    from cometwatch.scanner import Scanner
    from cometwatch.source import Source
    from cometwatch.store import Store

    work = repo.parent / f"{repo.name}-scan"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    state, saved = work / "state.db", work / "baseline.db"
    config_file = work / "webhooks.toml"
    config_file.write_text(SCAN_CONFIG.format(repo=repo, state=state))

    def move_branch(rev: str) -> None:
        subprocess.run(["git", "-C", str(repo), "update-ref", "refs/heads/scan-bench", rev],
                       check=True, env=GIT_ENV)

    # its bytecode kept here, not in the checkout (GIT_ENV already writes it)
    env = {**GIT_ENV, "PYTHONPYCACHEPREFIX": str(repo.parent / "pycache")}

    def cli(*args: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cometwatch", "--config", str(config_file),
                        *args], check=True, capture_output=True, env=env)
        return (time.perf_counter() - started) * 1000

    def fresh_state() -> None:
        for suffix in ("-wal", "-shm"):
            Path(f"{state}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(saved, state)

    figures: dict[str, float] = {}
    move_branch("main^")
    figures["baseline scan at PREV (s)"] = cli("scan", "--no-deliver") / 1000
    db = sqlite3.connect(state)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, to copy it
    db.close()
    shutil.copyfile(state, saved)
    figures["state file (MB)"] = saved.stat().st_size / 1e6
    db = sqlite3.connect(saved)
    ledger_rows = int(db.execute("SELECT count(*) FROM ledger").fetchone()[0])
    db.close()
    move_branch("main")
    figures["cometwatch events PREV..TIP, process (ms)"] = cli("events", "main^..main")
    processes, reads, scans, stores, logs, wholes = [], [], [], [], [], []
    config = load_config(str(config_file))
    try:
        for _ in range(repeat * 3):
            fresh_state()
            processes.append(cli("scan", "--no-deliver"))
        figures["cometwatch scan of TIP, process (ms)"] = statistics.median(processes)
        figures["python -m cometwatch --version, process (ms)"] = cli("--version")
        for _ in range(repeat * 3):
            fresh_state()
            move_branch("main^")
            with Source.open(config) as source, Store.open(state) as store:
                scanner = Scanner(config, store, source)
                mark = time.perf_counter()
                scanner.scan(time.time())  # nothing new: a start, the cursor and the timers
                reads.append((time.perf_counter() - mark) * 1000)
                before = store.ledger_rows_read
                move_branch("main")
                save_scan = store.save_scan

                def timed(*args: Any, save: Any = save_scan) -> Any:
                    started = time.perf_counter()
                    try:
                        return save(*args)
                    finally:
                        stores.append((time.perf_counter() - started) * 1000)

                store.save_scan = timed  # type: ignore[method-assign,assignment]
                mark = time.perf_counter()
                result = scanner.scan(time.time())
                scans.append((time.perf_counter() - mark) * 1000)
                rows_read = store.ledger_rows_read - before
                mark = time.perf_counter()
                with store.reading():
                    head = store.ledger_head("scan-bench")
                    assert head is not None
                    rows = store.ledger_rows("scan-bench")
                    Ledger.from_store(head[1], rows.part("timers")).absorb_whole(
                        {part: rows.part(part) for part in PARTS})
                wholes.append((time.perf_counter() - mark) * 1000)
            started = time.perf_counter()
            subprocess.run([*LOG_ARGS[:-2], "main^..main", "--"], cwd=repo, check=True,
                           capture_output=True, env=GIT_ENV)
            logs.append((time.perf_counter() - started) * 1000)
        figures["a scan with nothing new, in-process, fresh (ms)"] = statistics.median(reads)
        figures["scan of TIP in-process, derive + store (ms)"] = statistics.median(scans)
        figures["scan of TIP in-process, best (ms)"] = min(scans)
        figures["  of which storing it (ms)"] = statistics.median(stores)
        figures["git log of that commit alone (ms)"] = statistics.median(logs)
        figures["events stored"] = result.events
        figures["ledger rows the scan of TIP read"] = rows_read
        figures["ledger rows stored"] = ledger_rows
        figures["reading the stored ledger whole (ms)"] = statistics.median(wholes)
    finally:
        move_branch("main")
    return figures


def in_child(*args: object) -> Any:
    """Run a measurement in a fresh process and read its JSON answer. The figures must not
    depend on this process: Linux carries a process's peak RSS across fork and exec, so a
    child of a big parent would report the parent's size as its own."""
    out = subprocess.run([sys.executable, __file__, "--child", *map(str, args)],
                         stdout=subprocess.PIPE, check=True, env=GIT_ENV).stdout
    return json.loads(out)


def child(argv: list[str]) -> None:
    kind, *rest = argv
    if kind == "generate":
        cache, entries, commits, seed, bulk, *mixed = rest
        answer: Any = str(generate(Path(cache), int(entries), int(commits), int(seed),
                                   int(bulk), mixed == ["mixed"]))
    elif kind == "floor":
        answer = floor(Path(rest[0]), *rest[1:])
    elif kind == "scan":
        answer = scan_commit(Path(rest[0]), int(rest[1]))
    else:
        answer = one_commit(Path(rest[0]), int(rest[1]))
    print(json.dumps(answer))


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--big-files", type=int, default=100_000)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/cometwatch-bench"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bulk", action="store_true",
                        help="also time events --all over the big repository's bulk import")
    parser.add_argument("--only", choices=("history", "mixed", "one-commit", "scan",
                                           "site-configs"),
                        help="one measurement: events --all over the history, one commit "
                             "with the ledger in hand, or one commit as `cometwatch scan`")
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)

    if args.only in (None, "site-configs"):
        import siteconfigs  # beside this script

        print("site configs read at a commit that changed them (parsed, site built; "
              "target <= 10 ms; cached by blob sha after that):", flush=True)
        for label, ms in siteconfigs.measure(args.repeat).items():
            print(f"  {label}: {ms:.1f} ms")
    if args.only == "site-configs":
        return

    if args.only in (None, "history"):
        print(f"history: {args.entries} entries, {args.commits} commits", flush=True)
        repo = Path(in_child("generate", args.cache, args.entries, args.commits, args.seed,
                             args.entries // 4))
        config = args.cache / f"{repo.name}.toml"
        config.write_text(CONFIG.format(repo=repo))
        lines = subprocess.run([sys.executable, "-m", "cometwatch", "--config", str(config),
                                "events", "--all"], capture_output=True, check=True,
                               env=GIT_ENV).stdout.count(b"\n")
        compare(repo, config, args.repeat, lines)
    if args.only in (None, "mixed"):
        entries, commits = args.entries // 4, args.commits
        print(f"mixed repository: {entries} entries in content/, {commits} commits, "
              f"{MixedHistory.CODE_SHARE:.0%} of them touching only code and Markdown outside "
              "content/", flush=True)
        repo = Path(in_child("generate", args.cache, entries, commits, args.seed,
                             entries // 4, "mixed"))
        config = args.cache / f"{repo.name}.toml"
        config.write_text(CONFIG.format(repo=repo))
        lines = subprocess.run([sys.executable, "-m", "cometwatch", "--config", str(config),
                                "events", "--all"], capture_output=True, check=True,
                               env=GIT_ENV).stdout.count(b"\n")
        compare(repo, config, args.repeat, lines, scope="content", target=1.0)
    if args.only in ("history", "mixed"):
        return

    big = Path(in_child("generate", args.cache, args.big_files, 20, args.seed,
                        args.big_files - 10))
    for kind in ("one-commit", "scan"):
        if args.only not in (None, kind):
            continue
        print(f"one new commit in a repository of {args.big_files} entries"
              + (", as `cometwatch scan` stores it" if kind == "scan" else ""), flush=True)
        for name, value in in_child(kind, big, args.repeat).items():
            print(f"  {name}: {value:.1f}" if isinstance(value, float)
                  else f"  {name}: {value}")
    if args.bulk:
        print(f"events --all of that repository (a bulk import of {args.big_files} files)")
        big_config = args.cache / f"{big.name}.toml"
        big_config.write_text(CONFIG.format(repo=big))
        compare(big, big_config, 1, None)


def compare(repo: Path, config: Path, repeat: int, lines: int | None, scope: str = "",
            target: float = 1.2) -> None:
    """`scope`: the floor's git log reads only that folder's history (the content-scoped
    floor), as cometwatch should."""
    floors, engine_runs, peaks, own = [], [], [], []
    parts: dict[str, float] = {}
    for _ in range(repeat):  # interleaved, so both see the same machine load
        total, parts = in_child("floor", repo, *([scope] if scope else []))
        floors.append(total)
        elapsed, peak, mine = events_run(config)
        engine_runs.append(elapsed)
        peaks.append(peak)
        own.append(mine)
    base, ours = min(floors), min(engine_runs)
    print(f"  {'content-scoped ' if scope else ''}floor (git log "
          f"{'-- ' + scope + ' ' if scope else ''}{parts['git log']:.2f} s + cat-file "
          f"{parts['cat-file']:.2f} s of "
          f"{int(parts['blobs'])} blobs + CSafeLoader {parts['yaml']:.2f} s): {base:.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in floors)})")
    print(f"  cometwatch events --all: {ours:.2f} s"
          + (f", {lines} events" if lines is not None else "")
          + f" (runs: {', '.join(f'{t:.2f}' for t in engine_runs)})")
    print(f"  ratio: {ours / base:.2f}x (target <= {target:.1f}x)")
    print(f"  peak RSS of events --all: {max(peaks):.0f} MB with the git processes it runs, "
          f"{max(own):.0f} MB the Python process alone (target < 150 MB)", flush=True)


if __name__ == "__main__":
    main()
