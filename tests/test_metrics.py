"""GET /metrics on a real server, parsed with prometheus_client's own parser: each counter,
histogram and gauge moves when it should, labels stay bounded, the token is enforced."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Site, post
from prometheus_client.parser import text_string_to_metric_families
from receiver import Answer, Receiver
from test_dispatch import SECRET, Rig
from test_forges import HEADERS, push_body

from cometwatch import __version__
from cometwatch.config import Config, Secret, ServerConfig, load_config
from cometwatch.daemon import FETCH_FAILING
from cometwatch.delivery import Sender
from cometwatch.dispatcher import Dispatcher
from cometwatch.forges import Forge
from cometwatch.scanner import Scanner
from cometwatch.source import Source
from cometwatch.store import Store
from cometwatch.web.app import create_app
from cometwatch.web.context import SiteContext
from cometwatch.web.metrics import Metrics, attempt_buckets
from cometwatch.web.server import Server

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of a scrape, keyed by its name and labels."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(SECRET) as running:
        yield running


@pytest.fixture
def rig(tmp_path: Path, receiver: Receiver, site: Site) -> Iterator[Rig]:
    site.write("posts/hello.md", post("title: Hello"))
    site.commit()
    made = Rig(tmp_path, receiver)
    made.configure(made.hook("a") + made.hook("b"), repository=site.root)
    yield made
    made.close()


class Served:
    """A SiteContext for the rig's config, its app on a real server, and a scrape."""

    def __init__(self, config: Config, context: SiteContext, server: Server) -> None:
        self.config, self.context, self.server = config, context, server

    def scrape(self, token: str | None = None) -> Samples:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = httpx.get(f"{self.server.url}/metrics", headers=headers, timeout=10)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
        self.text = answer.text
        return parse(answer.text)


def serve(config: Config, clock: Callable[[], float] = time.time,
          **server: Any) -> Iterator[Served]:
    context = SiteContext.open(config, clock=clock,
                               server=ServerConfig(workspace="site", **server),
                               metrics=Metrics(attempt_timeout=5.0))
    try:
        with Server(create_app(context), "127.0.0.1", 0, threads=2) as running:
            yield Served(config, context, running)
    finally:
        context.close()


def observed(rig: Rig, served: Served) -> Dispatcher:
    """A dispatcher of the rig's config whose observer is the served site's Metrics."""
    sender = Sender(clock=rig.clock)
    rig.senders.append(sender)
    dispatcher = Dispatcher(rig.config, rig.state, sender, clock=rig.clock, rand=lambda: 0.5,
                            observer=served.context.metrics)
    rig.dispatchers.append(dispatcher)
    return dispatcher


@pytest.fixture
def served(rig: Rig) -> Iterator[Served]:
    rig.store([])  # the state exists, empty
    yield from serve(rig.config, rig.clock)


def test_the_outbox_gauges_count_open_deliveries_and_the_oldest_due_age(
        rig: Rig, served: Served) -> None:
    before = served.scrape()
    for hook in ("a", "b"):
        for status in ("pending", "failed", "dead"):
            assert value(before, "cometwatch_outbox_deliveries", webhook=hook,
                         status=status) == 0
        assert value(before, "cometwatch_outbox_oldest_due_age_seconds", webhook=hook) == 0
    rig.store(["x", "y", "z"])
    rig.clock.now += 90
    after = served.scrape()
    assert value(after, "cometwatch_outbox_deliveries", webhook="a", status="pending") == 3
    assert value(after, "cometwatch_outbox_deliveries", webhook="b", status="pending") == 3
    assert value(after, "cometwatch_outbox_oldest_due_age_seconds", webhook="a") == 90


def test_attempts_settlements_durations_and_latency_move_with_real_deliveries(
        rig: Rig, served: Served) -> None:
    rig.receiver.script("/a", 503, 200)
    (event,) = rig.store(["x"], hooks=("a",))
    dispatcher = observed(rig, served)
    dispatcher.send_due_once()
    failed = served.scrape()
    assert value(failed, "cometwatch_delivery_attempts_total", webhook="a", result="5xx") == 1
    assert value(failed, "cometwatch_deliveries_settled_total", webhook="a",
                 status="failed") == 1
    assert value(failed, "cometwatch_outbox_deliveries", webhook="a", status="failed") == 1
    assert value(failed, "cometwatch_webhook_last_success_timestamp_seconds",
                 webhook="a") is None
    assert value(failed, "cometwatch_commit_to_delivery_seconds_count") == 0

    rig.clock.now = rig.one(event.event_id, "a")[0].next_at or rig.clock.now
    dispatcher.send_due_once()
    ok = served.scrape()
    assert value(ok, "cometwatch_delivery_attempts_total", webhook="a", result="2xx") == 1
    assert value(ok, "cometwatch_deliveries_settled_total", webhook="a", status="ok") == 1
    assert value(ok, "cometwatch_delivery_attempt_duration_seconds_count", webhook="a") == 2
    assert value(ok, "cometwatch_delivery_attempt_duration_seconds_bucket", webhook="a",
                 le="5.0") == 2
    assert value(ok, "cometwatch_commit_to_delivery_seconds_count") == 1
    assert value(ok, "cometwatch_commit_to_delivery_seconds_sum") == \
        pytest.approx(rig.clock.now - event.occurred_at)
    assert value(ok, "cometwatch_outbox_deliveries", webhook="a", status="failed") == 0
    assert value(ok, "cometwatch_webhook_last_success_timestamp_seconds",
                 webhook="a") == pytest.approx(rig.clock.now)


def test_dead_deliveries_and_disabled_webhooks_are_gauged(rig: Rig, served: Served) -> None:
    rig.receiver.script("/a", Answer(410))  # Gone: dead at once, the webhook disabled
    rig.store(["x"], hooks=("a",))
    dispatcher = observed(rig, served)
    assert value(served.scrape(), "cometwatch_webhook_disabled", webhook="a") == 0
    dispatcher.send_due_once()
    samples = served.scrape()
    assert value(samples, "cometwatch_outbox_deliveries", webhook="a", status="dead") == 1
    assert value(samples, "cometwatch_deliveries_settled_total", webhook="a",
                 status="dead") == 1
    assert value(samples, "cometwatch_delivery_attempts_total", webhook="a", result="4xx") == 1
    assert value(samples, "cometwatch_webhook_disabled", webhook="a") == 1
    assert value(samples, "cometwatch_webhook_disabled", webhook="b") == 0


def test_a_webhook_with_enabled_false_reads_as_disabled(rig: Rig) -> None:
    rig.configure(rig.hook("a", enabled="false"), repository=rig.config.repository.path)
    rig.store([])
    for served in serve(rig.config, rig.clock):
        assert value(served.scrape(), "cometwatch_webhook_disabled", webhook="a") == 1


def test_push_requests_are_counted_by_forge_and_result(rig: Rig) -> None:
    rig.store([])
    secrets = (("github", Secret("push-secret")),)
    for served in serve(rig.config, rig.clock, push_secrets=secrets):
        body = push_body(Forge.GITHUB)
        url = f"{served.server.url}/hooks/push"
        assert httpx.post(url, content=body, headers=HEADERS[Forge.GITHUB](
            body, secret="push-secret")).status_code == 202
        assert httpx.post(url, content=body, headers=HEADERS[Forge.GITHUB](
            body, secret="wrong")).status_code == 401
        assert httpx.post(url, content=b"{}").status_code == 400
        samples = served.scrape()
    assert value(samples, "cometwatch_push_requests_total", forge="github", result="fetch") == 1
    assert value(samples, "cometwatch_push_requests_total", forge="github",
                 result="unauthorized") == 1
    assert value(samples, "cometwatch_push_requests_total", forge="unknown",
                 result="unknown_sender") == 1


def test_scans_and_stored_events_are_counted(site: Site, tmp_path: Path) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    config_file = tmp_path / "webhooks.toml"
    config_file.write_text(f'[repository]\npath = "{site.root}"\n'
                           f'[state]\npath = "{tmp_path / "state.db"}"\n'
                           '[[webhooks]]\nname = "a"\nurl = "http://127.0.0.1:9/a"\n'
                           'secret = "s"\nallow_http = true\n')
    config = load_config(str(config_file))
    with Source.open(config) as source, Store.open(tmp_path / "state.db") as store:
        scanner = Scanner(config, store, source)
        scanner.scan(1_700_000_000.0)  # the baseline
        before = store.last_event_id()
        site.write("posts/b.md", post("title: B"))
        site.write("posts/c.md", post("title: C"))
        site.write("posts/a.md", post("title: A again"))
        site.commit()
        scanner.scan(1_700_000_100.0)
        names = store.event_names_after(before)
    assert names == {"content.created": 2, "content.published": 2, "content.updated": 1}
    metrics = Metrics()
    metrics.prepare(["a"], ["content.created", "content.deleted"])
    metrics.scanned(0.25, names)
    from prometheus_client import generate_latest

    samples = parse(generate_latest(metrics.registry).decode())
    assert value(samples, "cometwatch_events_stored_total", event="content.created") == 2
    assert value(samples, "cometwatch_events_stored_total", event="content.updated") == 1
    assert value(samples, "cometwatch_events_stored_total", event="content.deleted") == 0
    assert value(samples, "cometwatch_scan_duration_seconds_count") == 1
    assert value(samples, "cometwatch_scan_duration_seconds_bucket", le="0.25") == 1
    assert value(samples, "cometwatch_delivery_attempts_total", webhook="a",
                 result="timeout") == 0


def test_the_cursor_lag_counts_commits_not_scanned_yet(site: Site, tmp_path: Path) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    config_file = tmp_path / "webhooks.toml"
    config_file.write_text(f'[repository]\npath = "{site.root}"\n'
                           f'[state]\npath = "{tmp_path / "state.db"}"\n')
    config = load_config(str(config_file), secrets=False)
    with Source.open(config) as source, Store.open(tmp_path / "state.db") as store:
        Scanner(config, store, source).scan(1_700_000_000.0)
    for served in serve(config):
        samples = served.scrape()
        assert value(samples, "cometwatch_cursor_lag_commits") == 0
        assert value(samples, "cometwatch_fetch_failing") == 0
        for n in range(3):
            site.write(f"posts/n{n}.md", post(f"title: N{n}"))
            site.commit()
        assert value(served.scrape(), "cometwatch_cursor_lag_commits") == 3


def test_fetch_failing_reads_the_daemons_record_in_remote_mode(site: Site,
                                                               tmp_path: Path) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(site.root), str(clone)], check=True)
    state = tmp_path / "state" / "state.db"
    state.parent.mkdir()
    config_file = tmp_path / "webhooks.toml"
    config_file.write_text(f'[repository]\npath = "{clone}"\nremote = "origin"\n'
                           f'[state]\npath = "{state}"\n')
    config = load_config(str(config_file), secrets=False)
    Store.open(state).close()
    for served in serve(config):
        assert value(served.scrape(), "cometwatch_fetch_failing") == 0
        (state.parent / FETCH_FAILING).write_text(json.dumps(
            {"since": 1.0, "last_try": 2.0, "error": "fetching main from origin failed"}))
        assert value(served.scrape(), "cometwatch_fetch_failing") == 1


def test_without_a_state_yet_the_counters_still_serve(rig: Rig) -> None:
    for served in serve(rig.config, rig.clock):  # no rig.store: no state file
        samples = served.scrape()
    assert value(samples, "cometwatch_build_info", version=__version__) == 1
    assert not any(name == "cometwatch_outbox_deliveries" for name, _ in samples)


@pytest.mark.parametrize(("header", "message"), [
    (None, "Missing bearer token."),
    ("Bearer", "Missing bearer token."),
    ("Basic bWV0cmljczp0b2tlbg==", "Missing bearer token."),
    ("Bearer not-the-token", "Invalid bearer token."),
    ("Bearer metrics-tokenx", "Invalid bearer token."),
])
def test_with_a_metrics_token_a_scrape_without_it_is_401(rig: Rig, header: str | None,
                                                         message: str) -> None:
    rig.store([])
    for served in serve(rig.config, rig.clock, metrics_token=Secret("metrics-token")):
        answer = httpx.get(f"{served.server.url}/metrics",
                           headers={"Authorization": header} if header else {})
        assert answer.status_code == 401
        assert answer.json()["error"] == {"code": "unauthorized", "message": message}
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        samples = served.scrape(token="metrics-token")
        assert value(samples, "cometwatch_build_info", version=__version__) == 1


def test_no_label_holds_a_url_an_entry_id_or_a_path(rig: Rig, served: Served) -> None:
    rig.receiver.script("/a", 500)
    events = rig.store(["entry-one", "entry-two"])
    dispatcher = observed(rig, served)
    dispatcher.send_due_once()
    samples = served.scrape()
    labels = {v for _, pairs in samples for _, v in pairs}
    for forbidden in [rig.receiver.url, "127.0.0.1", "entry-one", "posts/", events[0].event_id,
                      events[0].commit]:
        assert not any(forbidden in label for label in labels), forbidden
    assert "127.0.0.1" not in served.text


def test_attempt_buckets_end_at_the_timeout() -> None:
    assert attempt_buckets(15.0)[-1] == 15.0
    assert attempt_buckets(1.0) == (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
    assert attempt_buckets(0.3)[-1] == 0.3
