"""How long a `GET /metrics` scrape takes with a large outbox.

    .venv/bin/python benchmarks/metrics.py [--open 100000] [--settled 200000] [--scrapes 50]

A state with `--open` open deliveries (pending and failed, over 5 webhooks) and `--settled`
settled ones (ok and dead) is served on 127.0.0.1 and scraped over HTTP. Measured in the same
run: the same scrape of an empty state (the floor: counters, the HTTP round trip) and of the
large state with migration 5's indexes dropped (what the indexes buy). Target: p50 ≤ 50 ms at
100,000 open deliveries.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from cometwatch.config import ServerConfig, load_config
from cometwatch.store import Store
from cometwatch.web.app import create_app
from cometwatch.web.context import SiteContext
from cometwatch.web.server import Server

HOOKS = ("search", "cache", "build", "audit", "mirror")
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def make_site(folder: Path, state: Path) -> Path:
    site = folder / "site"
    (site / "posts").mkdir(parents=True)
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=site, env=env, check=True)
    (site / "posts" / "a.md").write_text("---\ntitle: A\n---\nA.\n")
    subprocess.run(["git", "add", "-A"], cwd=site, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "a"], cwd=site, env=env, check=True)
    config = folder / "webhooks.toml"
    hooks = "".join(f'[[webhooks]]\nname = "{name}"\nurl = "https://example.org/{name}"\n'
                    f'secret = "s"\n' for name in HOOKS)
    config.write_text(f'[repository]\npath = "{site}"\n[state]\npath = "{state}"\n{hooks}')
    return config


def fill(state: Path, open_count: int, settled: int) -> None:
    """Rows as the dispatcher leaves them, written straight into the schema (quicker than
    deriving 300,000 events from git, and the same rows for the queries measured)."""
    Store.open(state).close()  # the schema, all migrations
    db = sqlite3.connect(state)
    rand = random.Random(1)
    now = time.time()
    total = open_count + settled
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO events (id, event_id, name, occurred_at, collection, entry_id, slug, "
        "commit_sha, path, stored_at) VALUES (?, ?, 'content.updated', ?, 'posts', ?, ?, "
        "'0123456789abcdef0123456789abcdef01234567', ?, ?)",
        ((n, f"evt_{n:08d}", int(now) - total + n, f"entry{n}", f"slug{n}", f"posts/{n}.md",
          now) for n in range(1, total + 1)))
    rows = []
    for n in range(1, total + 1):
        hook = HOOKS[n % len(HOOKS)]
        if n <= settled:
            status, next_at = ("dead" if n % 20 == 0 else "ok"), None
        else:
            status = "failed" if rand.random() < 0.3 else "pending"
            next_at = now - rand.uniform(-3600, 3600)
        rows.append((n, hook, f"entry{n}", status, next_at, now, now))
    db.executemany("INSERT INTO deliveries (event, webhook, entry_id, status, next_at, "
                   "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    db.executemany("INSERT INTO webhooks (name, last_success) VALUES (?, ?)",
                   ((name, now - 60) for name in HOOKS))
    db.execute("COMMIT")
    db.execute("ANALYZE")
    db.close()


def scrape_times(config_file: Path, scrapes: int) -> list[float]:
    config = load_config(str(config_file))
    context = SiteContext.open(config, server=ServerConfig(workspace="bench"))
    try:
        with Server(create_app(context), "127.0.0.1", 0) as server, \
                httpx.Client(base_url=server.url, timeout=30) as client:
            client.get("/metrics").raise_for_status()  # warm: connection, caches
            out = []
            for _ in range(scrapes):
                started = time.perf_counter()
                answer = client.get("/metrics")
                out.append(time.perf_counter() - started)
                answer.raise_for_status()
            return out
    finally:
        context.close()


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--settled", type=int, default=200_000)
    parser.add_argument("--scrapes", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cometwatch-metrics-"))
    ms = 1000.0
    try:
        empty = folder / "empty" / "state.db"
        empty.parent.mkdir()
        Store.open(empty).close()
        floor = scrape_times(make_site(folder / "empty", empty), args.scrapes)
        print(f"baseline: empty state, scrape p50 {pct(floor, 0.5) * ms:.1f} ms, "
              f"p99 {pct(floor, 0.99) * ms:.1f} ms")

        big = folder / "big" / "state.db"
        big.parent.mkdir()
        started = time.perf_counter()
        fill(big, args.open, args.settled)
        print(f"state:    {args.open:,} open and {args.settled:,} settled deliveries over "
              f"{len(HOOKS)} webhooks (written in {time.perf_counter() - started:.1f} s)")
        config = make_site(folder / "big", big)
        indexed = scrape_times(config, args.scrapes)
        p50 = pct(indexed, 0.5)
        print(f"indexed:  scrape p50 {p50 * ms:.1f} ms, p99 {pct(indexed, 0.99) * ms:.1f} ms "
              f"(target p50 ≤ 50 ms) {'OK' if p50 <= 0.05 else 'MISSED'}")

        db = sqlite3.connect(big)
        db.execute("DROP INDEX deliveries_open_status")
        db.execute("DROP INDEX deliveries_dead")
        db.close()
        plain = scrape_times(config, max(args.scrapes // 5, 5))
        print(f"without migration 5's indexes: scrape p50 {pct(plain, 0.5) * ms:.1f} ms, "
              f"p99 {pct(plain, 0.99) * ms:.1f} ms")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
