"""The Public API's speed and memory, against a bare waitress "hello world" in the same run.

    .venv/bin/python benchmarks/api.py [--entries 10000] [--requests 3000]

A site of N entries (10 categories, one commit) is scanned into a state, then served by
`cometwatch serve` in its own process. A load generator, a third process, speaks HTTP/1.1
keep-alive over one connection (one client on loopback) and times every request:

1. Single-entry GETs (random slugs, anonymous) against the same loop on a bare waitress app
   answering "hello world": requests/s of each and the ratio (target: at least 0.5x), and
   cometwatch's p50/p99 (target: p99 at most 5 ms).
2. A filtered, sorted list of 1,000 entries (`filter[category]=c3&sort=-title`, bodies and
   all): median and p95 time (target: median at most 20 ms) after a first request, which
   reads and renders the bodies; a list answer is kept whole per catalog, so the same list
   asked with other parameters shows the cost of filtering and sorting 10,000 entries.
3. The serving process's peak RSS after all of it (target: under 150 MB).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

READY = "listening on "
ROUNDS = 5


# -- the processes ------------------------------------------------------------------------

def hello() -> None:
    """A bare waitress app, as cometwatch's server module configures waitress."""
    from cometwatch.web.server import Server

    def app(environ: dict[str, object], start_response: object) -> list[bytes]:
        body = b'{"hello":"world"}'
        start_response("200 OK", [("Content-Type", "application/json"),  # type: ignore[operator]
                                  ("Content-Length", str(len(body)))])
        return [body]

    server = Server(app, "127.0.0.1", 0)
    server.start()
    print(f"{READY}{server.port}", flush=True)
    sys.stdin.read()  # until the benchmark closes it


def load(port: int, paths: list[str]) -> None:
    """Ask for each path in turn over one keep-alive connection; print the timings (s)."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    timings = []
    for path in paths:
        start = time.perf_counter()
        connection.request("GET", path)
        answer = connection.getresponse()
        answer.read()
        timings.append(time.perf_counter() - start)
        if answer.status != 200:
            raise SystemExit(f"{path}: {answer.status}")
    print(json.dumps(timings))


def run_load(port: int, paths: list[str]) -> list[float]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(paths, handle)
    try:
        out = subprocess.run([sys.executable, __file__, "--load", str(port), handle.name],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(handle.name)
    return list(json.loads(out))


def start(args: list[str], ready: re.Pattern[str]) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        found = ready.search(line)
        if found:
            return proc, int(found.group(1))
    proc.kill()
    raise SystemExit(f"{args}: did not start")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- the site -----------------------------------------------------------------------------

def make_site(root: Path, entries: int) -> None:
    site = root / "site"
    (site / "posts").mkdir(parents=True)
    words = ("alpha", "beta", "gamma", "delta", "comet", "orbit", "tail", "nucleus")
    rng = random.Random(7)
    for n in range(entries):
        title = " ".join(rng.choice(words) for _ in range(3)).title()
        body = " ".join(rng.choice(words) for _ in range(60))
        (site / "posts" / f"post-{n:05}.md").write_text(
            f"---\ntitle: {title} {n}\ncategory: c{n % 10}\nrank: {rng.randint(1, 999)}\n"
            f"tags: [{rng.choice(words)}, {rng.choice(words)}]\n---\n{body}\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.org",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.org"}
    for command in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                    ["git", "commit", "-qm", "site"]):
        subprocess.run(command, cwd=site, env=env, check=True)
    (root / "webhooks.toml").write_text(
        f'[repository]\npath = "{site}"\n[state]\npath = "{root / "state.db"}"\n'
        '[server]\nworkspace = "bench"\n')


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--hello", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.hello:
        hello()
        return 0
    if args.load:
        load(int(args.load[0]), json.loads(Path(args.load[1]).read_text()))
        return 0

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        began = time.perf_counter()
        make_site(root, args.entries)
        made = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cometwatch", "--config",
                        str(root / "webhooks.toml"), "scan"], check=True,
                       capture_output=True)
        scanned = time.perf_counter()
        print(f"site: {args.entries} entries written and committed in {made - began:.1f} s; "
              f"baseline scan with the entry projection in {scanned - made:.1f} s")

        serve, port = start([sys.executable, "-m", "cometwatch", "--config",
                             str(root / "webhooks.toml"), "serve", "--listen", "127.0.0.1:0"],
                            re.compile(r"on http://127\.0\.0\.1:(\d+):"))
        bare, bare_port = start([sys.executable, __file__, "--hello"],
                                re.compile(re.escape(READY) + r"(\d+)"))
        try:
            rng = random.Random(11)
            base = "/api/v1/workspaces/bench/content/posts"
            entry_paths = [f"{base}/post-{rng.randrange(args.entries):05}"
                           for _ in range(args.requests)]
            first = time.perf_counter()
            run_load(port, [f"{base}/post-00000"])
            print(f"first request (loads the catalog of {args.entries} entries): "
                  f"{(time.perf_counter() - first) * 1000:.0f} ms incl. process start")
            run_load(port, entry_paths[: args.requests // 10])  # warm: rendered, cached
            # Alternating rounds, so that load from elsewhere on the machine falls on both
            # alike; each side's rate is its median round.
            ours: list[float] = []
            theirs: list[float] = []
            ours_rates, theirs_rates = [], []
            size = max(args.requests // ROUNDS, 1)
            for round_ in range(ROUNDS):
                mine = run_load(port, entry_paths[round_ * size:(round_ + 1) * size])
                bare_round = run_load(bare_port, ["/"] * size)
                ours += mine
                theirs += bare_round
                ours_rates.append(len(mine) / sum(mine))
                theirs_rates.append(len(bare_round) / sum(bare_round))
            ours_rate = statistics.median(ours_rates)
            theirs_rate = statistics.median(theirs_rates)
            print(f"single-entry GET: {ours_rate:,.0f} req/s vs bare waitress "
                  f"{theirs_rate:,.0f} req/s = {ours_rate / theirs_rate:.2f}x (target >= 0.5x; "
                  f"median of {ROUNDS} alternating rounds)")
            print(f"  latency, one client: p50 {statistics.median(ours) * 1000:.2f} ms, "
                  f"p99 {percentile(ours, 0.99) * 1000:.2f} ms (target p99 <= 5 ms); bare "
                  f"waitress p50 {statistics.median(theirs) * 1000:.2f} ms, p99 "
                  f"{percentile(theirs, 0.99) * 1000:.2f} ms")

            listing = f"{base}?filter[category]=c3&sort=-title"
            cold = run_load(port, [listing])[0]
            lists = run_load(port, [listing] * 40)
            count = len(json.loads(_get(port, listing))["data"])
            print(f"filtered, sorted list of {count} entries: median "
                  f"{statistics.median(lists) * 1000:.1f} ms, p95 "
                  f"{percentile(lists, 0.95) * 1000:.1f} ms (target <= 20 ms); first "
                  f"{cold * 1000:.0f} ms (reads and renders the bodies)")
            fresh = run_load(port, [f"{listing}&n={n}" for n in range(20)])
            print(f"  the same list asked in 20 other ways (no whole answer kept for them, "
                  f"entries rendered already): median {statistics.median(fresh) * 1000:.1f} ms")
            print(f"peak RSS of the serving process: {peak_rss_mb(serve.pid):.0f} MB "
                  "(target < 150 MB)")
        finally:
            for proc in (serve, bare):
                if proc.stdin:
                    proc.stdin.close()
                proc.terminate()
                proc.wait(30)
    return 0


def _get(port: int, path: str) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    connection.request("GET", path)
    return connection.getresponse().read()


if __name__ == "__main__":
    sys.exit(main())
