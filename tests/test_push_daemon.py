"""`cometwatch run` with [server] listen, as a subprocess: a signed push fetches at once (the
poll interval and fetch interval are an hour), and /metrics counts what the daemon did."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Site, post
from receiver import Receiver, unused_port
from test_daemon import SECRET, Daemon, wait_for, write_config
from test_forges import HEADERS, push_body
from test_metrics import parse, value

from cometwatch.forges import Forge

PUSH_SECRET = "push-test-secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(SECRET) as running:
        yield running


@pytest.fixture
def daemon_of() -> Iterator[list[Daemon]]:
    made: list[Daemon] = []
    yield made
    for daemon in made:
        daemon.close()


def test_a_signed_push_makes_the_daemon_fetch_now_and_metrics_count_it(
        tmp_path: Path, receiver: Receiver, daemon_of: list[Daemon]) -> None:
    upstream = Site(tmp_path / "upstream")
    upstream.write("posts/a.md", post("title: A"))
    upstream.commit("a")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(upstream.root), str(origin)], check=True)
    upstream.git("remote", "add", "origin", str(origin))
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    port = unused_port()
    config = write_config(
        clone, receiver.url,
        repository='remote = "origin"\nfetch_interval = "1h"\npoll_interval = "1h"',
        more=f'[server]\nlisten = "127.0.0.1:{port}"\n'
             f'[server.push_secrets]\ngithub = {{ value = "{PUSH_SECRET}" }}\n')
    daemon_of.append(Daemon(config))
    daemon = daemon_of[0].start()
    base = f"http://127.0.0.1:{port}"

    upstream.write("posts/a.md", post("title: A, edited"))
    upstream.commit("edit a")
    upstream.git("push", "-q", "origin", "main")
    other = push_body(Forge.GITHUB, "refs/heads/feature")
    answer = httpx.post(f"{base}/hooks/push", content=other,
                        headers=HEADERS[Forge.GITHUB](other, secret=PUSH_SECRET))
    assert answer.status_code == 200  # another branch: nothing fetched for it
    body = push_body(Forge.GITHUB, "refs/heads/main")
    answer = httpx.post(f"{base}/hooks/push", content=body,
                        headers=HEADERS[Forge.GITHUB](body, secret=PUSH_SECRET))
    assert answer.status_code == 202, answer.text
    wait_for(lambda: len(receiver.arrivals) >= 1, "the pushed commit's webhook",
             alive=daemon.proc)
    [arrival] = receiver.arrivals
    assert (arrival.event, json.loads(arrival.body)["data"]["slug"]) == ("content.updated", "a")

    def delivered() -> bool:
        samples = parse(httpx.get(f"{base}/metrics").text)
        return value(samples, "cometwatch_deliveries_settled_total", webhook="site",
                     status="ok") == 1

    wait_for(delivered, "the delivery counted in /metrics", alive=daemon.proc)
    samples = parse(httpx.get(f"{base}/metrics").text)
    assert value(samples, "cometwatch_push_requests_total", forge="github", result="fetch") == 1
    assert value(samples, "cometwatch_push_requests_total", forge="github",
                 result="other-ref") == 1
    assert value(samples, "cometwatch_delivery_attempts_total", webhook="site",
                 result="2xx") == 1
    assert value(samples, "cometwatch_events_stored_total", event="content.updated") == 1
    assert (value(samples, "cometwatch_scan_duration_seconds_count") or 0) >= 2
    assert value(samples, "cometwatch_commit_to_delivery_seconds_count") == 1
    assert value(samples, "cometwatch_cursor_lag_commits") == 0
    assert value(samples, "cometwatch_fetch_failing") == 0
    assert value(samples, "cometwatch_outbox_deliveries", webhook="site", status="pending") == 0
    assert daemon.stop() == 0
