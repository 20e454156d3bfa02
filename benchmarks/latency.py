"""Commit-to-webhook latency of `cometwatch run`, its idle CPU, how fast the git hooks return,
and push-to-webhook latency in remote mode with a forge's push webhook.

    .venv/bin/python benchmarks/latency.py [--commits 200] [--poll-commits 50]
                                           [--poll-interval 1] [--idle 10]
                                           [--push-commits 100] [--fetch-commits 30]
                                           [--fetch-interval 1]

For each commit: the time from `git commit` returning to the request arriving at a loopback
receiver (one commit at a time, so no queueing is measured), with inotify (the default) and
with polling only (`run --no-watch`). Baselines measured in the same run: a direct POST to the
same receiver (the floor any delivery pays) and `sh -c true` (the floor any hook pays).
Targets: p50 ≤ 100 ms and p99 ≤ 300 ms with inotify, idle CPU < 1 % of a core, a hook < 50 ms.

Remote mode: a local bare repository is the remote. Each commit is pushed to it and, as a forge
does, a signed GitHub-style request goes to the daemon's `POST /hooks/push`; measured from
`git push` returning to the webhook arriving. Against it, in the same run: the same daemon
without push requests, found by its `fetch_interval` (commits at random moments of the
interval). Target: push → webhook p50 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from loopback import GIT_ENV, Receiver, git  # beside this script

HOOK = "/hook"  # the one webhook's path on the receiver

def make_site(folder: Path, url: str, poll_interval: float) -> tuple[Path, Path]:
    site = folder / "site"
    (site / "posts").mkdir(parents=True)
    git(site, "init", "-q", "-b", "main")
    (site / "posts" / "bench.md").write_text("---\ntitle: Bench\n---\nRevision 0.\n")
    git(site, "add", "-A")
    git(site, "commit", "-q", "-m", "start")
    config = folder / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{site}"\npoll_interval = "{poll_interval}s"\n'
                      f'[[webhooks]]\nname = "bench"\nurl = "{url}"\nsecret = "bench"\n'
                      'events = ["content.updated"]\n')
    return site, config


@contextmanager
def daemon(config: Path, *run_args: str) -> Iterator[subprocess.Popen[bytes]]:
    folder = Path(tempfile.mkdtemp(prefix="cw-bench-"))
    address = str(folder / "notify.sock")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(address)
    env = {**os.environ, **GIT_ENV, "NOTIFY_SOCKET": address}
    env.pop("COMETWATCH_CONFIG", None)
    log = (config.parent / "daemon.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "cometwatch", "--config", str(config), "run",
                             *run_args], env=env, stdout=log, stderr=log)
    try:
        notify.settimeout(60)
        while b"READY=1" not in notify.recv(4096).split(b"\n"):
            pass
        notify.settimeout(None)  # as systemd would: keep reading its STATUS lines
        threading.Thread(target=_drain, args=(notify,), daemon=True).start()
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)
        notify.close()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def _drain(notify: socket.socket) -> None:
    try:
        while notify.recv(4096):
            pass
    except OSError:
        pass


def latencies(site: Path, receiver: Receiver, commits: int, timeout: float,
              jitter: float = 0.0) -> list[float]:
    out = []
    post = site / "posts" / "bench.md"
    rand = random.Random(1)
    for n in range(commits):
        # Polling: commit at a random phase of the poll cycle, as a person would.
        time.sleep(rand.uniform(0, jitter))
        post.write_text(f"---\ntitle: Bench\n---\nRevision {n + 1}.\n")
        expected = receiver.count(HOOK) + 1  # before committing: it may arrive before we look
        git(site, "commit", "-q", "-am", f"revision {n + 1}")
        returned = time.monotonic()
        arrived = receiver.wait_for(HOOK, expected, timeout)
        out.append(arrived - returned)
    return out


PUSH_SECRET = "bench-push-secret"


def make_remote_site(folder: Path, url: str, fetch_interval: float) -> tuple[Path, Path, int]:
    """An upstream working copy, a bare `origin` it pushes to, and a clone of origin that the
    daemon follows in remote mode, serving /hooks/push on a free port."""
    upstream = folder / "upstream"
    (upstream / "posts").mkdir(parents=True)
    git(upstream, "init", "-q", "-b", "main")
    (upstream / "posts" / "bench.md").write_text("---\ntitle: Bench\n---\nRevision 0.\n")
    git(upstream, "add", "-A")
    git(upstream, "commit", "-q", "-m", "start")
    origin = folder / "origin.git"
    git(folder, "clone", "-q", "--bare", str(upstream), str(origin))
    git(upstream, "remote", "add", "origin", str(origin))
    clone = folder / "clone"
    git(folder, "clone", "-q", str(origin), str(clone))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = folder / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{clone}"\nremote = "origin"\n'
                      f'fetch_interval = "{fetch_interval}s"\npoll_interval = "30s"\n'
                      f'[server]\nlisten = "127.0.0.1:{port}"\n'
                      f'[server.push_secrets]\ngithub = {{ value = "{PUSH_SECRET}" }}\n'
                      f'[[webhooks]]\nname = "bench"\nurl = "{url}"\nsecret = "bench"\n'
                      'events = ["content.updated"]\n')
    return upstream, config, port


def github_push(port: int) -> None:
    """What GitHub sends on a push to main: the payload signed with X-Hub-Signature-256."""
    body = json.dumps({"ref": "refs/heads/main", "before": "0" * 40, "after": "1" * 40,
                       "repository": {"full_name": "bench/site"}}).encode()
    digest = hmac.new(PUSH_SECRET.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hooks/push", data=body, headers={
            "Content-Type": "application/json", "X-GitHub-Event": "push",
            "X-GitHub-Delivery": "bench", "X-Hub-Signature-256": f"sha256={digest}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        if answer.status != 202:
            raise SystemExit(f"/hooks/push answered {answer.status}")


def push_latencies(upstream: Path, receiver: Receiver, commits: int, timeout: float,
                   port: int | None, jitter: float = 0.0) -> list[float]:
    """git push → webhook arrival per commit; with `port`, a signed push request right after
    the push (as the forge sends it), else nothing (the fetch interval finds it)."""
    out = []
    post = upstream / "posts" / "bench.md"
    rand = random.Random(2)
    for n in range(commits):
        time.sleep(rand.uniform(0, jitter))  # a random phase of the fetch interval
        post.write_text(f"---\ntitle: Bench\n---\nRevision {n + 1}.\n")
        git(upstream, "commit", "-q", "-am", f"revision {n + 1}")
        expected = receiver.count(HOOK) + 1
        git(upstream, "push", "-q", "origin", "main")
        pushed = time.monotonic()
        if port is not None:
            github_push(port)
        out.append(receiver.wait_for(HOOK, expected, timeout) - pushed)
    return out


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return at(0.50), at(0.95), at(0.99)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(the process's own user+system CPU, that of its waited-for children), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    own = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    children = (int(fields[13]) + int(fields[14])) / ticks  # cutime, cstime
    return own, children


def idle_cpu(proc: subprocess.Popen[bytes], seconds: float) -> tuple[float, float]:
    own0, kids0 = cpu_seconds(proc.pid)
    start = time.monotonic()
    time.sleep(seconds)  # measuring an idle process: sleeping is the point here
    own1, kids1 = cpu_seconds(proc.pid)
    elapsed = time.monotonic() - start
    return (own1 - own0) / elapsed * 100, (kids1 - kids0) / elapsed * 100


def hook_times(folder: Path, repeats: int, pid: int | None) -> list[float]:
    """Wall time of the post-commit hook script, run as git runs it."""
    from cometwatch.hooks import HookPlan, install

    hooks_dir = folder / f"hooks-{pid or 'none'}"
    state = folder / f"state-{pid or 'none'}"
    state.mkdir()
    if pid is not None:
        (state / "cometwatch.pid").write_text(f"{pid}\n")
    # Without a daemon the hook starts a scan in the background; `true` stands in for it,
    # so the figure is what git waits for, not what the scan costs.
    install(hooks_dir, ("post-commit",), HookPlan(
        interpreter="/nonexistent" if pid is None else sys.executable, config=None,
        pid_file=state / "cometwatch.pid", log_file=state / "hook.log"))
    env = {"PATH": f"{folder / 'stub'}:/usr/bin:/bin"}
    out = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(hooks_dir / "post-commit")], env=env, check=True)
        out.append(time.perf_counter() - started)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--poll-commits", type=int, default=50)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of idle CPU sampling")
    parser.add_argument("--push-commits", type=int, default=100)
    parser.add_argument("--fetch-commits", type=int, default=30)
    parser.add_argument("--fetch-interval", type=float, default=1.0)
    parser.add_argument("--keep", action="store_true", help="keep the folder (daemon logs)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cometwatch-latency-"))
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    ms = 1000.0
    try:
        floor = []
        for _ in range(50):
            started = time.monotonic()
            urllib.request.urlopen(urllib.request.Request(receiver.url(HOOK), data=b"{}"),
                                   timeout=5)
            floor.append(time.monotonic() - started)
        floor_p50 = percentiles(floor)[0]
        print(f"baseline: a direct loopback POST, p50 {floor_p50 * ms:.1f} ms")

        site, config = make_site(folder / "watch", receiver.url(HOOK), poll_interval=30.0)
        with daemon(config) as proc:
            watched = latencies(site, receiver, args.commits, timeout=10)
            own, kids = idle_cpu(proc, args.idle)
            fast = hook_times(folder, 50, proc.pid)
        p50, p95, p99 = percentiles(watched)
        print(f"inotify:  {len(watched)} commits, commit→request p50 {p50 * ms:.0f} ms, "
              f"p95 {p95 * ms:.0f} ms, p99 {p99 * ms:.0f} ms, max {max(watched) * ms:.0f} ms "
              f"(targets: p50 ≤ 100, p99 ≤ 300) {'OK' if p50 <= 0.1 and p99 <= 0.3 else 'MISSED'}")
        print(f"idle CPU: {own:.2f} % of a core over {args.idle:.0f} s (+ {kids:.2f} % in git "
              f"children) (target < 1 %) {'OK' if own + kids < 1 else 'MISSED'}")

        site, config = make_site(folder / "poll", receiver.url(HOOK),
                                 poll_interval=args.poll_interval)
        with daemon(config, "--no-watch"):
            polled = latencies(site, receiver, args.poll_commits,
                               timeout=args.poll_interval * 3 + 10, jitter=args.poll_interval)
        p50, p95, p99 = percentiles(polled)
        print(f"polling:  {len(polled)} commits, poll_interval {args.poll_interval:g} s, "
              f"p50 {p50 * ms:.0f} ms, p95 {p95 * ms:.0f} ms, p99 {p99 * ms:.0f} ms "
              f"(expected about poll_interval / 2)")

        # Remote mode: a long fetch_interval, so only the push request can explain a fast
        # delivery; then the fetch interval alone, at --fetch-interval.
        upstream, config, port = make_remote_site(folder / "push", receiver.url(HOOK), 3600.0)
        with daemon(config):
            pushed = push_latencies(upstream, receiver, args.push_commits, timeout=10,
                                    port=port)
        p50, p95, p99 = percentiles(pushed)
        print(f"push:     {len(pushed)} pushes to a local bare remote, each followed by a signed "
              f"GitHub push request; push→request p50 {p50 * ms:.0f} ms, p95 {p95 * ms:.0f} ms, "
              f"p99 {p99 * ms:.0f} ms, max {max(pushed) * ms:.0f} ms (target p50 ≤ 100) "
              f"{'OK' if p50 <= 0.1 else 'MISSED'}")
        upstream, config, port = make_remote_site(folder / "fetch", receiver.url(HOOK),
                                                  args.fetch_interval)
        with daemon(config):
            fetched = push_latencies(upstream, receiver, args.fetch_commits,
                                     timeout=args.fetch_interval * 3 + 10, port=None,
                                     jitter=args.fetch_interval)
        p50, p95, p99 = percentiles(fetched)
        print(f"fetch:    {len(fetched)} pushes, no push request, fetch_interval "
              f"{args.fetch_interval:g} s: p50 {p50 * ms:.0f} ms, p95 {p95 * ms:.0f} ms, "
              f"p99 {p99 * ms:.0f} ms (expected about fetch_interval / 2 plus a fetch)")

        (folder / "stub").mkdir()
        stub = folder / "stub" / "cometwatch"
        stub.write_text("#!/bin/sh\ntrue\n")
        stub.chmod(0o755)
        shell = []
        for _ in range(50):
            started = time.perf_counter()
            subprocess.run(["sh", "-c", "true"], check=True)
            shell.append(time.perf_counter() - started)
        slow = hook_times(folder, 50, None)
        print(f"hooks:    baseline `sh -c true` p50 {percentiles(shell)[0] * ms:.1f} ms; "
              f"post-commit with a daemon (kill -USR1) p50 {percentiles(fast)[0] * ms:.1f} ms, "
              f"max {max(fast) * ms:.1f} ms; without one (background scan started) p50 "
              f"{percentiles(slow)[0] * ms:.1f} ms, max {max(slow) * ms:.1f} ms "
              f"(target < 50 ms) {'OK' if max(fast + slow) < 0.05 else 'MISSED'}")
    except SystemExit:
        args.keep = True
        for log in sorted(folder.glob("*/daemon.log")):
            tail = log.read_text(errors="replace").splitlines()[-15:]
            print(f"{log}:\n  " + "\n  ".join(tail), file=sys.stderr)
        raise
    finally:
        receiver.shutdown()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
