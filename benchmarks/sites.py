"""Many sites: one `cometwatch run` on a fleet file against one daemon per site.

    .venv/bin/python benchmarks/sites.py [--sites 100] [--entries 1000] [--commits 50]
                                         [--bursty 10] [--idle 10] [--only fleet|single]

Each site is a repository of `--entries` entries (one commit, written with git fast-import)
with its own config and one webhook to a loopback receiver. Measured for both setups in the
same run: the daemons' memory (RSS) and that of the whole tree with the git processes they keep
(PSS, shared pages counted once),
idle CPU, and commit → webhook p50/p99 for one site while `--bursty` others each take a commit
of 20 changed entries every 100 ms. Targets: one daemon < 300 MB and a fraction of the
separate daemons' total; p50 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loopback import GIT_ENV, Receiver, git  # beside this script

TICKS = os.sysconf("SC_CLK_TCK")


def make_site(folder: Path, name: str, entries: int, url: str) -> Path:
    """A repository of `entries` posts in one commit, and its config; returns the config."""
    repo = folder / name / "repo"
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    stream = [b"commit refs/heads/main\n",
              b"committer bench <bench@example.org> 1700000000 +0000\n", b"data 6\nstart\n"]
    for n in range(entries):
        text = f"---\ntitle: Post {n}\ndate: 2024-01-01\n---\nBody of post {n}.\n".encode()
        stream.append(b"M 100644 inline posts/p%d.md\ndata %d\n%s\n" % (n, len(text), text))
    git(repo, "fast-import", "--quiet", stdin=b"".join(stream))
    git(repo, "checkout", "-q", "main")
    config = folder / name / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{repo}"\npoll_interval = "5m"\n'
                      f'[server]\nworkspace = "{name}"\n'
                      f'[[webhooks]]\nname = "hook"\nurl = "{url}"\nsecret = "bench"\n'
                      'allow_http = true\n')
    return config


_SERIAL = itertools.count(1)


def edit(repo: Path, names: list[int], revision: int) -> None:
    revision = next(_SERIAL)  # every commit changes its files, whichever phase made it
    for n in names:
        (repo / "posts" / f"p{n}.md").write_text(
            f"---\ntitle: Post {n}\ndate: 2024-01-01\n---\nRevision {revision}.\n")
    git(repo, "commit", "-q", "-am", f"revision {revision}")


@contextmanager
def started(configs: list[Path], parent: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`cometwatch run` per config, each READY (sd_notify) before the next starts."""
    folder = Path(tempfile.mkdtemp(prefix="n", dir=parent))
    procs: list[subprocess.Popen[bytes]] = []
    sockets: list[socket.socket] = []
    env = {**os.environ, **GIT_ENV}
    env.pop("COMETWATCH_CONFIG", None)
    try:
        for n, config in enumerate(configs):
            address = str(folder / f"n{n}.sock")
            notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            notify.bind(address)
            sockets.append(notify)
            log = (config.parent / "daemon.log").open("ab")
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "cometwatch", "--config", str(config), "run"],
                env={**env, "NOTIFY_SOCKET": address}, stdout=log, stderr=log))
            log.close()
            notify.settimeout(600)
            while b"READY=1" not in notify.recv(4096).split(b"\n"):
                pass
            notify.setblocking(False)
        threading.Thread(target=_drain, args=(sockets,), daemon=True).start()
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)
        for notify in sockets:
            notify.close()


def _drain(sockets: list[socket.socket]) -> None:
    while True:
        for notify in sockets:
            try:
                while notify.recv(4096):
                    pass
            except OSError:
                pass
        time.sleep(0.5)  # the daemons' STATUS lines: read now and then, never waited for


def tree(pids: list[int]) -> list[int]:
    """The pids and all their descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def memory_mb(pids: list[int]) -> tuple[float, float, int]:
    """(RSS of the daemons themselves, PSS of them and every process they started, how many
    those are), in MB. PSS shares each shared page among the processes mapping it: the sum is
    the memory the tree costs, where summing RSS would count the interpreter's and git's
    shared pages once per process."""
    own = sum(_field(pid, "Rss") for pid in pids)
    everything = tree(pids)
    return own / 1e3, sum(_field(pid, "Pss") for pid in everything) / 1e3, len(everything)


def _field(pid: int, name: str) -> int:
    """A /proc/<pid>/smaps_rollup field, in kB (0 for a process gone meanwhile)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(f"{name}:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in tree(pids):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / TICKS
    return total


def measure(label: str, procs: list[subprocess.Popen[bytes]], receiver: Receiver,
            repos: list[Path], args: argparse.Namespace) -> None:
    pids = [p.pid for p in procs]
    own, total, count = memory_mb(pids)
    before, started_at = cpu(pids), time.monotonic()
    time.sleep(args.idle)  # measuring idle processes: sleeping is the point here
    idle = (cpu(pids) - before) / (time.monotonic() - started_at) * 100
    stop = threading.Event()

    def bursts() -> None:
        revision = 0
        while not stop.is_set():
            for repo in repos[1:1 + args.bursty]:
                revision += 1
                edit(repo, list(range(revision % 50, revision % 50 + 20)), revision)
            stop.wait(0.1)

    burster = threading.Thread(target=bursts, daemon=True)
    burster.start()
    samples = []
    try:
        measured = repos[0]
        path = "/" + measured.parent.name
        for n in range(args.commits):
            expected = receiver.count(path) + 1
            edit(measured, [n % args.entries], 100_000 + n)
            committed = time.monotonic()
            samples.append(receiver.wait_for(path, expected, 60) - committed)
            time.sleep(0.05)  # commits a moment apart, as people make them
    finally:
        stop.set()
        burster.join()
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(f"{label}: {len(procs)} process(es), RSS {own:,.0f} MB; with the {count - len(procs)} "
          f"git processes they keep, PSS {total:,.0f} MB; idle CPU {idle:.1f} % of a core; "
          f"commit→webhook p50 {p50 * 1000:.0f} ms, "
          f"p99 {p99 * 1000:.0f} ms with {args.bursty} sites taking bursts "
          f"(target p50 ≤ 100) {'OK' if p50 <= 0.1 else 'MISSED'}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=100)
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--commits", type=int, default=50)
    parser.add_argument("--bursty", type=int, default=10)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--only", choices=("fleet", "single"))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cometwatch-sites-"))
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        began = time.monotonic()
        configs = [make_site(folder, f"site-{n:03d}", args.entries,
                             receiver.url(f"/site-{n:03d}")) for n in range(args.sites)]
        repos = [c.parent / "repo" for c in configs]
        print(f"sites:    {args.sites} repositories of {args.entries} entries "
              f"(made in {time.monotonic() - began:.1f} s)", flush=True)
        if args.only != "single":
            fleet = folder / "fleet.toml"
            fleet.write_text(f'[fleet]\nsites = ["{folder}/site-*/webhooks.toml"]\n')
            began = time.monotonic()
            with started([fleet], folder) as procs:
                print(f"fleet:    READY after {time.monotonic() - began:.1f} s (every site's "
                      "baseline)", flush=True)
                measure("one daemon", procs, receiver, repos, args)
        if args.only != "fleet":
            # Fresh states: each daemon takes its own baseline, as a first start does.
            for repo in repos:
                shutil.rmtree(repo / ".git" / "cometwatch", ignore_errors=True)
            began = time.monotonic()
            with started(configs, folder) as procs:
                print(f"single:   all READY after {time.monotonic() - began:.1f} s", flush=True)
                measure("one daemon per site", procs, receiver, repos, args)
    finally:
        receiver.shutdown()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
