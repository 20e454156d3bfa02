"""Delivering from the outbox to real HTTP receivers on 127.0.0.1, with an injectable clock.

Every scenario runs the real Dispatcher and Sender against a real threaded HTTP server that
verifies each signature with CometCMS's Python verifier (docs/contract.md §3); retry schedules
are driven by moving a fake clock, never by waiting.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Site, post
from receiver import Answer, Receiver, unused_port
from testing import run_cli

from cometwatch import coalescing
from cometwatch.config import Config, Webhook, load_config
from cometwatch.delivery import Sender
from cometwatch.dispatcher import Dispatcher
from cometwatch.outbox import Attempt, Delivery, WebhookState, failing_too_long, held, judge
from cometwatch.payload import ContentEvent
from cometwatch.store import DeliveryStatus, Store

SECRET = "dispatch-test-secret"
T0 = 1_750_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Rig:
    """A receiver, a config whose webhooks point at it, a state file and a fake clock."""

    def __init__(self, tmp_path: Path, receiver: Receiver) -> None:
        self.tmp_path = tmp_path
        self.receiver = receiver
        self.state = tmp_path / "state.db"
        self.clock = Clock()
        self.config_file = tmp_path / "webhooks.toml"
        self.serial = 0
        self.dispatchers: list[Dispatcher] = []
        self.senders: list[Sender] = []

    def configure(self, hooks: str, repository: Path | None = None) -> Config:
        where = f'[repository]\npath = "{repository}"\n' if repository else ""
        self.config_file.write_text(f'{where}[state]\npath = "{self.state}"\n{hooks}')
        self.config = load_config(str(self.config_file))
        return self.config

    def hook(self, name: str, path: str | None = None, **keys: str) -> str:
        url = keys.pop("url", None) or self.receiver.url_for(path or f"/{name}")
        extra = "".join(f"{key} = {value}\n" for key, value in keys.items())
        return f'[[webhooks]]\nname = "{name}"\nurl = "{url}"\nsecret = "{SECRET}"\n{extra}'

    def store(self, entries: list[str], hooks: tuple[str, ...] | None = None,
              name: str = "content.updated") -> list[ContentEvent]:
        """New events (one per entry given, in order) stored as a scan stores them."""
        events = []
        for entry in entries:
            self.serial += 1
            events.append(ContentEvent(f"evt_{self.serial:04d}", name, int(self.clock.now),
                                       "posts", entry, f"slug-{entry}", f"c{self.serial}",
                                       f"posts/{entry}.md"))
        names = hooks if hooks is not None else tuple(h.name for h in self.config.webhooks)
        windows = coalescing.windows(self.config.webhooks)
        with Store.open(self.state) as store:
            cursor = store.cursor("main")
            store.save_scan("main", cursor.generation if cursor else None, "tip", None, None,
                            events, [(e.event_id, h) for e in events for h in names], windows,
                            self.clock.now)
        return events

    def dispatcher(self) -> Dispatcher:
        sender = Sender(clock=self.clock)
        dispatcher = Dispatcher(self.config, self.state, sender, clock=self.clock,
                                rand=lambda: 0.5)
        self.senders.append(sender)
        self.dispatchers.append(dispatcher)
        return dispatcher

    def deliveries(self, hook: str) -> list[tuple[str, DeliveryStatus]]:
        with Store.open(self.state) as store:
            rows = store.deliveries(webhook=hook, limit=10_000)
        return [(d.event.event_id, d.status) for d in reversed(rows)]

    def one(self, event_id: str, hook: str) -> tuple[Any, list[Any]]:
        with Store.open(self.state) as store:
            found = [d for d in store.deliveries(webhook=hook, limit=10_000)
                     if d.event.event_id == event_id]
            assert len(found) == 1
            return found[0], store.attempts(found[0].id)

    def close(self) -> None:
        for dispatcher in self.dispatchers:
            dispatcher.close()
        for sender in self.senders:
            sender.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(SECRET) as running:
        yield running


@pytest.fixture
def rig(tmp_path: Path, receiver: Receiver) -> Iterator[Rig]:
    made = Rig(tmp_path, receiver)
    yield made
    made.close()


def ids(receiver: Receiver, path: str) -> list[str]:
    return [request.event_id for request in receiver.requests(path)]


# -- the policy, table by table ---------------------------------------------------------------

HOOK = Webhook("h", "https://example.org/h", (), retry_schedule=(0.0, 10.0, 100.0),
               disable_after=3600.0)


class Running:
    """`dispatcher.run` in a thread of its own, as the daemon runs it."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.stop, self.wake = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=dispatcher.run, args=(self.stop, self.wake))
        self.thread.start()

    def end(self, wait: float = 30.0) -> None:
        """Ask it to stop, and wait up to `wait` seconds for it."""
        self.stop.set()
        self.wake.set()
        self.thread.join(wait)


def delivery(tries: int, replays: int = 0) -> Delivery:
    event = ContentEvent("evt_1", "content.updated", 0, "posts", "x", "x", "c", "p")
    return Delivery(1, "h", DeliveryStatus.PENDING, T0, tries + replays, replays, None, None,
                    None, T0, T0, event)


def outcome(status: int | None, retry_after: float | None = None,
            disable: bool = False) -> Attempt:
    return Attempt(T0, status, 0.1, None if status and status < 300 else "failed", b"",
                   retry_after, disable)


@pytest.mark.parametrize(("answer", "tries", "expected"), [
    (outcome(200), 0, (DeliveryStatus.OK, None, None)),
    (outcome(204), 2, (DeliveryStatus.OK, None, None)),
    (outcome(500), 0, (DeliveryStatus.FAILED, T0 + 10, None)),  # after attempt 1: 10 s
    (outcome(None), 1, (DeliveryStatus.FAILED, T0 + 100, None)),
    (outcome(500), 2, (DeliveryStatus.DEAD, None, None)),  # the third was the last
    (outcome(404), 0, (DeliveryStatus.FAILED, T0 + 10, None)),
    (outcome(429, retry_after=600), 0, (DeliveryStatus.FAILED, T0 + 600, None)),
    (outcome(503, retry_after=1), 1, (DeliveryStatus.FAILED, T0 + 100, None)),
    (outcome(410, disable=True), 0, (DeliveryStatus.DEAD, None, "410 Gone")),
    (outcome(200, disable=True), 0, (DeliveryStatus.OK, None,
                                     "the endpoint answered `webhook-delivery: disable`")),
    (outcome(400, disable=True), 0, (DeliveryStatus.DEAD, None,
                                     "the endpoint answered `webhook-delivery: disable`")),
])
def test_judge_turns_an_outcome_into_the_deliverys_next_state(
        answer: Attempt, tries: int, expected: tuple[DeliveryStatus, float | None, str | None]
        ) -> None:
    verdict = judge(HOOK, delivery(tries), answer, T0, lambda: 0.5)
    assert (verdict.status, verdict.next_at, verdict.disable) == expected


def test_a_replayed_delivery_starts_its_schedule_again() -> None:
    verdict = judge(HOOK, delivery(0, replays=3), outcome(500), T0, lambda: 0.5)
    assert (verdict.status, verdict.next_at) == (DeliveryStatus.FAILED, T0 + 10)


@pytest.mark.parametrize(("failing_since", "disabled_at", "now", "expected"), [
    (None, None, T0, False),
    (T0, None, T0 + 3599, False),
    (T0, None, T0 + 3600, True),
    (T0, T0 + 10, T0 + 7200, False),  # already disabled
])
def test_a_webhook_failing_for_disable_after_is_to_be_disabled(
        failing_since: float | None, disabled_at: float | None, now: float,
        expected: bool) -> None:
    state = WebhookState("h", disabled_at, None, failing_since, None)
    assert (failing_too_long(HOOK, state, now) is not None) == expected


# -- answers and retries --------------------------------------------------------------------

def test_a_500_is_retried_on_schedule_with_the_same_event_id_until_a_200(rig: Rig) -> None:
    rig.configure(rig.hook("h"))
    rig.receiver.script("/h", 500, 200)
    (event,) = rig.store(["x"])
    dispatcher = rig.dispatcher()
    assert dispatcher.send_due_once() == 1
    delivery, attempts = rig.one(event.event_id, "h")
    assert delivery.status is DeliveryStatus.FAILED
    assert [a.code for a in attempts] == [500]
    assert T0 + 4 <= delivery.next_at <= T0 + 6  # the schedule's 5 s, jitter held at the middle
    assert dispatcher.send_due_once() == 0  # not due yet
    rig.clock.now = delivery.next_at
    assert dispatcher.send_due_once() == 1
    delivery, attempts = rig.one(event.event_id, "h")
    assert delivery.status is DeliveryStatus.OK and [a.code for a in attempts] == [500, 200]
    assert ids(rig.receiver, "/h") == [event.event_id, event.event_id]
    assert all(request.verified for request in rig.receiver.requests("/h"))


class Recording:
    """An Observer that keeps what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def attempt(self, webhook: str, result_class: str, seconds: float) -> None:
        self.calls.append(("attempt", webhook, result_class))

    def settled(self, webhook: str, status: str) -> None:
        self.calls.append(("settled", webhook, status))

    def first_success(self, webhook: str, commit_time: float, now: float) -> None:
        self.calls.append(("first_success", webhook, commit_time, now))


def test_the_observer_is_told_each_attempt_its_settlement_and_the_first_success(
        rig: Rig) -> None:
    rig.configure(rig.hook("h", timeout='"500ms"'))
    rig.receiver.script("/h", 503, Answer(hang=True), 204)
    (event,) = rig.store(["x"])
    observer, sender = Recording(), Sender(clock=rig.clock)
    dispatcher = Dispatcher(rig.config, rig.state, sender, clock=rig.clock, rand=lambda: 0.5,
                            observer=observer)
    rig.dispatchers.append(dispatcher)
    rig.senders.append(sender)
    for _ in range(3):
        try:
            dispatcher.send_due_once()
        finally:
            rig.receiver.release()
        rig.clock.now = rig.one(event.event_id, "h")[0].next_at or rig.clock.now
    assert observer.calls == [
        ("attempt", "h", "5xx"), ("settled", "h", "failed"),
        ("attempt", "h", "timeout"), ("settled", "h", "failed"),
        ("attempt", "h", "2xx"), ("settled", "h", "ok"),
        ("first_success", "h", event.occurred_at, rig.clock.now)]


def test_a_4xx_is_a_failure_retried_like_any_other(rig: Rig) -> None:
    rig.configure(rig.hook("h"))
    rig.receiver.script("/h", 422)
    (event,) = rig.store(["x"])
    rig.dispatcher().send_due_once()
    delivery, attempts = rig.one(event.event_id, "h")
    assert delivery.status is DeliveryStatus.FAILED and delivery.next_at is not None
    assert attempts[0].code == 422


def test_after_the_last_attempt_a_delivery_is_dead_and_redeliver_sends_it_again(
        rig: Rig) -> None:
    rig.configure(rig.hook("h", retry_schedule='["0s", "0s"]'))
    rig.receiver.script("/h", 503, 503, 200)
    (event,) = rig.store(["x"])
    dispatcher = rig.dispatcher()
    dispatcher.send_due_once()
    delivery, attempts = rig.one(event.event_id, "h")
    assert delivery.status is DeliveryStatus.DEAD and len(attempts) == 2
    with Store.open(rig.state) as store:
        assert store.replay([delivery.id], rig.clock.now) == [delivery.id]
    dispatcher.send_due_once()
    delivery, attempts = rig.one(event.event_id, "h")
    assert delivery.status is DeliveryStatus.OK and len(attempts) == 3
    assert ids(rig.receiver, "/h") == [event.event_id] * 3


def test_410_gone_disables_the_webhook_and_its_later_deliveries_are_skipped(rig: Rig) -> None:
    rig.configure(rig.hook("gone", retry_schedule='["0s"]') + rig.hook("fine"))
    rig.receiver.script("/gone", 410)
    (first,) = rig.store(["x"])
    dispatcher = rig.dispatcher()
    dispatcher.send_due_once()
    assert rig.deliveries("gone") == [(first.event_id, DeliveryStatus.DEAD)]
    (second,) = rig.store(["y"])
    assert dispatcher.send_due_once() == 1  # only `fine`
    assert rig.deliveries("gone")[-1] == (second.event_id, DeliveryStatus.SKIPPED)
    assert ids(rig.receiver, "/gone") == [first.event_id]
    assert ids(rig.receiver, "/fine") == [first.event_id, second.event_id]
    with Store.open(rig.state) as store:
        assert store.webhook_states()["gone"].disabled_reason == "410 Gone"


def test_a_2xx_carrying_webhook_delivery_disable_is_delivered_and_disables_the_webhook(
        rig: Rig) -> None:
    rig.configure(rig.hook("done") + rig.hook("fine"))
    rig.receiver.script("/done", Answer(200, {"webhook-delivery": "disable"}))
    (first,) = rig.store(["x"])
    dispatcher = rig.dispatcher()
    dispatcher.send_due_once()
    assert rig.deliveries("done") == [(first.event_id, DeliveryStatus.OK)]
    (second,) = rig.store(["y"])
    assert dispatcher.send_due_once() == 1  # only `fine`
    assert rig.deliveries("done")[-1] == (second.event_id, DeliveryStatus.SKIPPED)
    assert ids(rig.receiver, "/done") == [first.event_id]
    with Store.open(rig.state) as store:
        assert store.webhook_states()["done"].disabled_reason == \
            "the endpoint answered `webhook-delivery: disable`"


def test_429_with_retry_after_waits_as_long_as_asked(rig: Rig) -> None:
    rig.configure(rig.hook("h"))
    rig.receiver.script("/h", Answer(429, {"Retry-After": "120"}), 200)
    (event,) = rig.store(["x"])
    dispatcher = rig.dispatcher()
    dispatcher.send_due_once()
    delivery, _ = rig.one(event.event_id, "h")
    assert delivery.next_at is not None and delivery.next_at >= T0 + 120
    rig.clock.now = T0 + 60
    assert dispatcher.send_due_once() == 0
    rig.clock.now = delivery.next_at
    assert dispatcher.send_due_once() == 1
    assert rig.one(event.event_id, "h")[0].status is DeliveryStatus.OK


def test_a_hanging_endpoint_times_out_and_the_attempt_says_so(rig: Rig) -> None:
    rig.configure(rig.hook("h", timeout='"200ms"'))
    rig.receiver.script("/h", Answer(hang=True))
    (event,) = rig.store(["x"])
    try:
        rig.dispatcher().send_due_once()
    finally:
        rig.receiver.release()
    delivery, attempts = rig.one(event.event_id, "h")
    assert delivery.status is DeliveryStatus.FAILED
    assert attempts[0].code is None and "timed out" in (attempts[0].error or "")


def test_a_refused_connection_is_recorded_and_retried(rig: Rig) -> None:
    rig.configure(rig.hook("h", url=f"http://127.0.0.1:{unused_port()}/h"))
    (event,) = rig.store(["x"])
    rig.dispatcher().send_due_once()
    delivery, attempts = rig.one(event.event_id, "h")
    assert delivery.status is DeliveryStatus.FAILED and attempts[0].code is None
    assert "refused" in (attempts[0].error or "")


def test_a_redirect_is_not_followed(rig: Rig) -> None:
    rig.configure(rig.hook("h"))
    rig.receiver.script("/h", Answer(302, {"Location": rig.receiver.url_for("/elsewhere")}))
    (event,) = rig.store(["x"])
    rig.dispatcher().send_due_once()
    delivery, attempts = rig.one(event.event_id, "h")
    assert delivery.status is DeliveryStatus.FAILED and attempts[0].code == 302
    assert "redirect" in (attempts[0].error or "")
    assert rig.receiver.requests("/elsewhere") == []


def test_a_webhook_failing_for_disable_after_is_disabled(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.configure(rig.hook("h", disable_after='"1h"'))
    rig.receiver.script("/h", *([500] * 10))
    (event,) = rig.store(["x"])
    dispatcher = rig.dispatcher()
    while True:
        dispatcher.send_due_once()
        delivery, _ = rig.one(event.event_id, "h")
        if delivery.next_at is None:
            break
        rig.clock.now = delivery.next_at
    with Store.open(rig.state) as store:
        state = store.webhook_states()["h"]
    assert state.disabled_at is not None and state.disabled_at - T0 >= 3600
    assert "no successful delivery since" in (state.disabled_reason or "")
    # the hint is a whole command, from the first failure on: what the webhook missed
    (warning,) = [r.getMessage() for r in caplog.records if "disabled:" in r.getMessage()]
    assert ("`cometwatch webhooks enable h` turns it back on, then `cometwatch recover "
            "--webhook h --since 2025-06-15T15:06:40Z` sends them") in warning
    # `webhooks enable` names the same moment: the streak's start, not the disabling
    code, enabled, _ = cli(rig, "webhooks", "enable", "h")
    assert code == 0 and "--webhook h --since 2025-06-15T15:06:40Z" in enabled
    with Store.open(rig.state) as store:
        assert store.recover("h", T0, rig.clock.now).reopened == [delivery.id]


# -- order and isolation ----------------------------------------------------------------------

def test_the_events_of_one_entry_arrive_in_order_while_entries_go_in_parallel(
        rig: Rig) -> None:
    rig.configure(rig.hook("h"))
    rig.receiver.script("/h", *[Answer(delay=0.02)] * 40)
    events = rig.store([f"entry{n % 8}" for n in range(40)])
    assert rig.dispatcher().send_due_once() == 40
    arrived = ids(rig.receiver, "/h")
    assert sorted(arrived) == sorted(e.event_id for e in events)
    for n in range(8):
        mine = [e.event_id for e in events if e.entry_id == f"entry{n}"]
        assert [i for i in arrived if i in mine] == mine
    # A pooled connection is reused once free: more than one means requests went in
    # parallel, more than max_in_flight would mean too many did.
    assert 1 < len({request.peer for request in rig.receiver.requests("/h")}) <= 4


def test_a_later_event_waits_while_an_earlier_one_is_retried(rig: Rig) -> None:
    rig.configure(rig.hook("h"))
    rig.receiver.script("/h", 500, 200, 200)
    first, second = rig.store(["x", "x"])
    dispatcher = rig.dispatcher()
    assert dispatcher.send_due_once() == 1
    assert ids(rig.receiver, "/h") == [first.event_id]
    delivery, _ = rig.one(first.event_id, "h")
    rig.clock.now = delivery.next_at
    assert dispatcher.send_due_once() == 2
    assert ids(rig.receiver, "/h") == [first.event_id, first.event_id, second.event_id]


def test_a_dead_delivery_no_longer_blocks_its_entry(rig: Rig) -> None:
    rig.configure(rig.hook("h", retry_schedule='["0s"]'))
    rig.receiver.script("/h", 500, 200)
    first, second = rig.store(["x", "x"])
    assert rig.dispatcher().send_due_once() == 2
    assert rig.deliveries("h") == [(first.event_id, DeliveryStatus.DEAD),
                                   (second.event_id, DeliveryStatus.OK)]


def test_threads_are_started_for_the_requests_made_not_up_to_max_in_flight(
        rig: Rig) -> None:
    rig.configure(rig.hook("few", max_in_flight="64", timeout='"60s"'))
    rig.store(["a", "b"])
    rig.receiver.hang.set()
    runner = Running(rig.dispatcher())
    try:
        rig.receiver.wait_for(2, path="/few", timeout=20)
        assert len(delivery_threads("few")) == 2
    finally:
        rig.receiver.hang.clear()
        runner.end()


def test_scan_wait_with_a_timeout_sends_the_retries_that_fall_due_before_it(
        rig: Rig) -> None:
    rig.configure(rig.hook("h", retry_schedule='["0s", "100ms", "150ms"]'))
    rig.receiver.script("/h", 503, 503, 200)
    (event,) = rig.store(["x"])
    sender = Sender()
    rig.senders.append(sender)
    dispatcher = Dispatcher(rig.config, rig.state, sender)  # the wall clock: real waits
    rig.dispatchers.append(dispatcher)
    assert dispatcher.drain(60) == 3
    assert rig.one(event.event_id, "h")[0].status is DeliveryStatus.OK


def test_scan_wait_without_a_timeout_leaves_a_retry_for_later(rig: Rig) -> None:
    rig.configure(rig.hook("h", retry_schedule='["0s", "200ms"]'))
    rig.receiver.script("/h", 503, 200)
    (event,) = rig.store(["x"])
    sender = Sender()
    rig.senders.append(sender)
    dispatcher = Dispatcher(rig.config, rig.state, sender)
    rig.dispatchers.append(dispatcher)
    assert dispatcher.drain(None) == 1
    assert rig.one(event.event_id, "h")[0].status is DeliveryStatus.FAILED


def test_a_retry_due_after_the_timeout_is_left_for_later(rig: Rig) -> None:
    rig.configure(rig.hook("h", retry_schedule='["0s", "1h"]'))
    rig.receiver.script("/h", 503, 200)
    (event,) = rig.store(["x"])
    sender = Sender()
    rig.senders.append(sender)
    dispatcher = Dispatcher(rig.config, rig.state, sender)
    rig.dispatchers.append(dispatcher)
    assert dispatcher.drain(60) == 1  # at once, not after 60 s
    assert rig.one(event.event_id, "h")[0].status is DeliveryStatus.FAILED


def test_a_slow_endpoint_never_delays_another_webhook(rig: Rig) -> None:
    rig.configure(rig.hook("slow", timeout='"30s"') + rig.hook("fast"))
    rig.receiver.script("/slow", *[Answer(hang=True)] * 12)
    events = rig.store([f"e{n}" for n in range(12)])
    dispatcher = rig.dispatcher()
    worker = threading.Thread(target=dispatcher.send_due_once)
    worker.start()
    try:
        rig.receiver.wait_for(4, path="/slow", timeout=20)  # max_in_flight of them, held
        rig.receiver.wait_for(12, path="/fast", timeout=20)
        assert all(r.status is None for r in rig.receiver.requests("/slow"))  # still held
        assert sorted(ids(rig.receiver, "/fast")) == sorted(e.event_id for e in events)
    finally:
        rig.receiver.script("/slow")  # the rest are answered at once
        rig.receiver.release()
        worker.join(60)
    assert not worker.is_alive()


# -- webhooks gone from the config ------------------------------------------------------------

@pytest.mark.parametrize(("configured", "expected"), [
    ("absent", "which is no longer in the config: kept, not sent; a webhook of that name added "
               "back sends them, `cometwatch webhooks disable old` sets them aside (skipped)"),
    ("off", "which has enabled = false in the config: kept, not sent; enabled = true sends "
            "them, `cometwatch webhooks disable old` sets them aside (skipped)"),
    ("on", None),
])
def test_open_deliveries_of_a_webhook_not_configured_are_held_and_say_why(
        configured: str, expected: str | None) -> None:
    hook = {"absent": None, "off": Webhook("old", "https://example.org/h", (), enabled=False),
            "on": Webhook("old", "https://example.org/h", ())}[configured]
    assert held("old", hook) == expected


def test_deliveries_of_a_removed_webhook_are_kept_unsent_and_go_out_when_it_is_back(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.configure(rig.hook("old") + rig.hook("other"))
    first = rig.store(["a", "b", "a"])
    rig.configure(rig.hook("other"))  # "old" removed (or renamed)
    dispatcher = rig.dispatcher()
    assert dispatcher.drain(None) == 3  # returns: the held ones are not due, not spun on
    assert dispatcher.send_due_once() == 0
    assert rig.receiver.requests("/old") == []
    assert [status for _, status in rig.deliveries("old")] == [DeliveryStatus.PENDING] * 3
    assert "3 open deliveries for webhook 'old', which is no longer in the config" in caplog.text
    with Store.open(rig.state) as store:
        assert store.next_due(["other"], rig.clock.now) is None
        store.purge(rig.clock.now + 10 ** 9)  # however old: open deliveries are never purged
    second = rig.store(["a"], hooks=("other",))
    rig.clock.now += 3 * 86400
    dispatcher.reload(rig.configure(rig.hook("other") + rig.hook("old")))  # back, same name
    assert dispatcher.send_due_once() == 4
    arrived = ids(rig.receiver, "/old")
    assert sorted(arrived) == sorted(e.event_id for e in first)
    assert [i for i in arrived if i != first[1].event_id] == [first[0].event_id,
                                                              first[2].event_id]  # entry a
    assert sorted(ids(rig.receiver, "/other")) == sorted(e.event_id for e in first + second)
    assert {status for _, status in rig.deliveries("old")} == {DeliveryStatus.OK}


def test_a_webhook_removed_while_its_requests_are_in_flight_gets_nothing_more(
        rig: Rig) -> None:
    rig.configure(rig.hook("h"))
    rig.store([f"e{n}" for n in range(20)])  # 20 entries: all due at once
    dispatcher = rig.dispatcher()
    rig.receiver.hang.set()
    runner = Running(dispatcher)
    try:
        rig.receiver.wait_for(4, path="/h", timeout=20)  # max_in_flight, held
        dispatcher.reload(rig.configure(rig.hook("other")))
        rig.receiver.hang.clear()
        runner.wake.set()
    finally:
        rig.receiver.hang.clear()
        runner.end()
    assert not runner.thread.is_alive()
    assert len(rig.receiver.requests("/h")) == 4  # none of the 16 it had read ahead
    statuses = [status for _, status in rig.deliveries("h")]
    assert statuses.count(DeliveryStatus.OK) == 4
    assert statuses.count(DeliveryStatus.PENDING) == 16


def test_the_commands_name_deliveries_held_for_a_removed_webhook_until_it_is_back(
        rig: Rig, site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    rig.configure(rig.hook("old") + rig.hook("other"), repository=site.root)
    cli(rig, "scan")
    site.write("posts/b.md", post("title: B"))
    site.commit()
    assert cli(rig, "scan", "--no-deliver")[0] == 0  # 2 events each, stored
    rig.configure(rig.hook("other"), repository=site.root)  # "old" renamed away
    site.write("posts/c.md", post("title: C"))
    site.commit()
    code, out, err = cli(rig, "scan", "--wait", "--timeout", "60")
    assert code == 0, err
    told = "2 open deliveries for webhook 'old', which is no longer in the config: kept, not sent"
    assert told in err and len(err.strip().splitlines()) == 1  # one line, no traceback
    assert rig.receiver.requests("/old") == [] and len(rig.receiver.requests("/other")) == 4
    for args in (("status",), ("deliveries",), ("deliveries", "--webhook", "old")):
        code, out, err = cli(rig, *args)
        assert code == 0 and told in out, (args, out, err)
    code, out, _ = cli(rig, "deliveries", "--webhook", "other")
    assert "open deliveries for webhook" not in out
    code, out, _ = cli(rig, "status", "--json")
    (old,) = [hook for hook in json.loads(out)["webhooks"] if hook["name"] == "old"]
    assert old["held"] == 2 and not old["configured"]
    code, out, _ = cli(rig, "webhooks", "list")
    assert "old  (no longer in the config; 2 open deliveries kept" in out
    rig.configure(rig.hook("other") + rig.hook("old"), repository=site.root)  # back
    code, out, err = cli(rig, "scan", "--wait", "--timeout", "60")
    assert code == 0 and err == "", err
    assert [r.event for r in rig.receiver.requests("/old")] == ["content.created",
                                                                "content.published"]
    code, out, _ = cli(rig, "status")
    assert "open deliveries for webhook" not in out and "2 ok" in out


def test_a_removed_webhooks_held_deliveries_can_be_set_aside(rig: Rig, site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    rig.configure(rig.hook("old") + rig.hook("other"), repository=site.root)
    cli(rig, "scan")
    site.write("posts/b.md", post("title: B"))
    site.commit()
    cli(rig, "scan", "--no-deliver")
    rig.configure(rig.hook("other"), repository=site.root)
    code, out, err = cli(rig, "webhooks", "disable", "old", "--reason", "renamed")
    assert code == 0 and "2 open deliveries skipped" in out, err
    code, out, err = cli(rig, "scan", "--wait", "--timeout", "60")
    assert code == 0 and "open deliveries for webhook" not in err
    with Store.open(rig.state) as store:
        assert store.counts()["old"] == {DeliveryStatus.SKIPPED: 2}


# -- coalescing -------------------------------------------------------------------------------

def test_a_burst_to_a_coalescing_webhook_is_one_request_with_the_latest_event(
        rig: Rig) -> None:
    rig.configure(rig.hook("build", coalesce='"30s"') + rig.hook("each"))
    dispatcher = rig.dispatcher()
    burst = []
    for n in range(5):
        burst += rig.store([f"e{n}"])
        dispatcher.send_due_once()
        rig.clock.now += 5
    assert rig.receiver.requests("/build") == []
    rig.clock.now = T0 + 30
    dispatcher.send_due_once()
    assert ids(rig.receiver, "/build") == [burst[-1].event_id]
    assert len(ids(rig.receiver, "/each")) == 5
    statuses = dict(rig.deliveries("build"))
    assert statuses[burst[-1].event_id] is DeliveryStatus.OK
    assert [statuses[e.event_id] for e in burst[:-1]] == [DeliveryStatus.COALESCED] * 4


def test_a_failed_coalesced_trigger_never_blocks_the_next_burst(rig: Rig) -> None:
    rig.configure(rig.hook("build", coalesce='"30s"'))
    rig.receiver.script("/build", 500, 200)
    dispatcher = rig.dispatcher()
    (first,) = rig.store(["a"])
    rig.clock.now = T0 + 30
    dispatcher.send_due_once()
    assert rig.deliveries("build") == [(first.event_id, DeliveryStatus.FAILED)]
    rig.clock.now = T0 + 32
    (second,) = rig.store(["b"])
    rig.clock.now = T0 + 62
    dispatcher.send_due_once()
    assert ids(rig.receiver, "/build") == [first.event_id, second.event_id]
    assert rig.deliveries("build") == [(first.event_id, DeliveryStatus.COALESCED),
                                       (second.event_id, DeliveryStatus.OK)]


def test_a_redelivered_delivery_to_a_coalescing_webhook_goes_out_alone_and_at_once(
        rig: Rig) -> None:
    rig.configure(rig.hook("build", coalesce='"30s"'))
    dispatcher = rig.dispatcher()
    first = rig.store(["a", "b"])
    rig.clock.now = T0 + 30
    dispatcher.send_due_once()  # the first burst: one request, carried by b
    carried, _ = rig.one(first[1].event_id, "build")
    merged, _ = rig.one(first[0].event_id, "build")
    rig.clock.now = T0 + 40
    (later,) = rig.store(["c"])  # a second burst, its window open until T0 + 70
    with Store.open(rig.state) as store:
        assert store.replay([merged.id, carried.id], rig.clock.now) == [merged.id, carried.id]
    rig.store(["d"])  # a scan meanwhile does not pull them into its window
    dispatcher.send_due_once()
    sent = ids(rig.receiver, "/build")
    assert sent == [first[1].event_id, first[0].event_id, first[1].event_id]  # each alone, now
    rig.clock.now = T0 + 70
    dispatcher.send_due_once()
    assert len(ids(rig.receiver, "/build")) == 4  # then the burst, without them
    statuses = dict(rig.deliveries("build"))
    assert statuses[first[0].event_id] is statuses[first[1].event_id] is DeliveryStatus.OK
    assert statuses[later.event_id] is DeliveryStatus.COALESCED
    again, attempts = rig.one(first[1].event_id, "build")
    assert again.coalesced_into is None and len(attempts) == 2  # its history kept


# -- the dispatcher as the daemon runs it ----------------------------------------------------

def test_run_sends_what_a_later_scan_stores_when_woken_and_stops_when_asked(rig: Rig) -> None:
    rig.configure(rig.hook("h"))
    rig.clock.now = time.time()
    runner = Running(rig.dispatcher())
    try:
        (event,) = rig.store(["x"])
        runner.wake.set()
        rig.receiver.wait_for(1, path="/h", timeout=20)
        assert ids(rig.receiver, "/h") == [event.event_id]
    finally:
        runner.end()
    assert not runner.thread.is_alive()


def delivery_threads(hook: str) -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(f"cometwatch-{hook}-")]


def test_a_stop_lets_requests_in_flight_be_answered_records_them_and_joins_every_thread(
        rig: Rig) -> None:
    rig.configure(rig.hook("finish", timeout='"60s"'))
    events = rig.store(["a", "b", "c"])
    dispatcher = rig.dispatcher()
    rig.receiver.hang.set()
    runner = Running(dispatcher)
    try:
        rig.receiver.wait_for(3, path="/finish", timeout=20)
        runner.end(0.5)
        assert runner.thread.is_alive()  # close() waits for the answers (shutdown_timeout: 10 s)
    finally:
        rig.receiver.hang.clear()
        runner.thread.join(30)
    assert not runner.thread.is_alive()
    assert rig.deliveries("finish") == [(e.event_id, DeliveryStatus.OK) for e in events]
    assert dispatcher.settled == 3 and delivery_threads("finish") == []


def test_a_request_unanswered_when_close_times_out_is_cut_and_stays_due(rig: Rig) -> None:
    rig.configure('[daemon]\nshutdown_timeout = "200ms"\n' + rig.hook("cut", timeout='"60s"'))
    events = rig.store(["a", "b"])
    dispatcher = rig.dispatcher()
    rig.receiver.hang.set()
    runner = Running(dispatcher)
    try:
        rig.receiver.wait_for(2, path="/cut", timeout=20)
        runner.end()  # 200 ms, the cut, the threads joined: not the 60 s timeout
        assert not runner.thread.is_alive()
        assert delivery_threads("cut") == []
    finally:
        rig.receiver.hang.clear()
    # Neither recorded as sent nor given an attempt: both as they were, due.
    assert rig.deliveries("cut") == [(e.event_id, DeliveryStatus.PENDING) for e in events]
    assert [rig.one(e.event_id, "cut")[1] for e in events] == [[], []]
    assert dispatcher.settled == 0 and not dispatcher.outcomes
    assert rig.dispatcher().send_due_once() == 2  # the next start sends them again
    assert sorted(ids(rig.receiver, "/cut")) == sorted([e.event_id for e in events] * 2)
    assert rig.deliveries("cut") == [(e.event_id, DeliveryStatus.OK) for e in events]
    assert [len(rig.one(e.event_id, "cut")[1]) for e in events] == [1, 1]


def test_a_dispatcher_closed_with_nothing_in_flight_can_send_again(rig: Rig) -> None:
    rig.configure(rig.hook("again"))
    dispatcher = rig.dispatcher()
    rig.store(["a"])
    assert dispatcher.send_due_once() == 1
    dispatcher.close()
    assert delivery_threads("again") == []
    rig.store(["b"])
    assert dispatcher.send_due_once() == 1
    assert len(rig.receiver.requests("/again")) == 2


def test_only_one_process_sends_from_a_state_file_at_a_time(rig: Rig) -> None:
    rig.configure(rig.hook("h"))
    rig.store(["x"])
    holder = rig.dispatcher()
    assert holder._acquire()
    other = rig.dispatcher()
    assert other.send_due_once() == 0 and other.busy
    holder.close()
    assert other.send_due_once() == 1 and not other.busy


# -- whole scans as a cron job or git hook runs them -----------------------------------------

def cli(rig: Rig, *args: str) -> tuple[int, str, str]:
    """`cometwatch --config <the rig's> ARGS…` in this process."""
    code, out, err = run_cli("--config", str(rig.config_file), *args)
    return code, out, err


def cometwatch(rig: Rig, *args: str) -> subprocess.Popen[str]:
    """The same as a process of its own, for what only a process can show (kill -9)."""
    env = {k: v for k, v in os.environ.items() if k != "COMETWATCH_CONFIG"}
    return subprocess.Popen([sys.executable, "-m", "cometwatch", "--config",
                             str(rig.config_file), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.process
def test_kill_9_after_storing_loses_nothing_and_stores_each_event_once(
        rig: Rig, site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    rig.configure(rig.hook("h", timeout='"60s"'), repository=site.root)
    assert cli(rig, "scan")[0] == 0  # the baseline
    site.write("posts/b.md", post("title: B"))
    site.commit()
    rig.receiver.script("/h", Answer(hang=True))  # the endpoint takes it and never answers
    scan = cometwatch(rig, "scan")
    try:
        rig.receiver.wait_for(1, path="/h", timeout=60)  # stored, and being sent
        scan.send_signal(signal.SIGKILL)
        scan.wait(30)
    finally:
        rig.receiver.release()
    first = ids(rig.receiver, "/h")
    code, out, err = cli(rig, "scan", "--wait", "--timeout", "60")
    assert code == 0, err
    arrived = ids(rig.receiver, "/h")
    assert len(set(arrived)) == 2 and arrived[:len(first)] == first  # created, published
    with Store.open(rig.state) as store:
        rows = store.deliveries(webhook="h")
    assert sorted(d.event.event_id for d in rows) == sorted(set(arrived))
    assert {d.status for d in rows} == {DeliveryStatus.OK}
    code, out, _ = cli(rig, "scan", "--wait")
    assert code == 0 and "nothing new" in out
    assert ids(rig.receiver, "/h") == arrived  # a second scan sends nothing new


def test_deliveries_show_lists_the_headers_each_attempt_sent_with_credentials_masked(
        rig: Rig, site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    rig.configure(rig.hook("h", headers='{ Authorization = "Bearer hook-credential", '
                                        'X-Build = "main" }'), repository=site.root)
    cli(rig, "scan")  # the baseline
    site.write("posts/b.md", post("title: B"))
    site.commit()
    code, _, err = cli(rig, "scan", "--wait")
    assert code == 0, err
    code, shown, err = cli(rig, "deliveries", "show", "1")
    assert code == 0, err
    assert "> Authorization: ***" in shown and "> X-Build: main" in shown
    assert "> X-CometCMS-Signature: sha256=" in shown and "hook-credential" not in shown
    code, as_json, err = cli(rig, "deliveries", "show", "1", "--json")
    assert code == 0, err
    [attempt] = json.loads(as_json)["attempts"]
    sent = dict(attempt["headers"])
    assert sent["Authorization"] == "***" and sent["X-Build"] == "main"
    assert sent["X-CometCMS-Signature"] == \
        rig.receiver.arrivals[0].headers["x-cometcms-signature"]


def test_an_attempt_from_before_headers_were_kept_says_so(rig: Rig, site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    rig.configure(rig.hook("h"), repository=site.root)
    cli(rig, "scan")  # the baseline
    site.write("posts/b.md", post("title: B"))
    site.commit()
    assert cli(rig, "scan", "--wait")[0] == 0
    with sqlite3.connect(rig.state) as raw:  # as migration 10 leaves an older attempt
        raw.execute("UPDATE attempts SET headers = NULL")
    code, shown, _ = cli(rig, "deliveries", "show", "1")
    assert code == 0 and "headers not recorded" in shown
    code, as_json, _ = cli(rig, "deliveries", "show", "1", "--json")
    assert json.loads(as_json)["attempts"][0]["headers"] is None


def test_the_commands_show_deliveries_and_attempts_but_never_a_secret(
        rig: Rig, site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    rig.configure(rig.hook("h", retry_schedule='["0s"]'), repository=site.root)
    cli(rig, "scan")
    site.write("posts/b.md", post("title: B"))
    site.commit()
    rig.receiver.script("/h", Answer(500, body=b"upstream says no\x1b[31m"), 200)
    code, out, err = cli(rig, "scan", "--wait")
    assert code == 0, err
    outputs = []
    for args in (("status",), ("deliveries",), ("deliveries", "--json"),
                 ("deliveries", "--status", "dead"), ("deliveries", "show", "1"),
                 ("webhooks", "list"), ("redeliver", "1"), ("deliveries", "show", "1")):
        code, out, err = cli(rig, *args)
        assert code == 0, (args, err)
        outputs.append(out + err)
    status, listing, as_json, dead, show, hooks, redeliver, shown_again = outputs
    assert "1 dead" in status and "1 ok" in status
    assert "dead" in listing and "ok" in listing
    assert "h  http://127.0.0.1:" in hooks and "active" in hooks
    assert '"status": "dead"' in as_json
    assert dead.count("content.") == 1
    assert "500" in show and "upstream says no\\x1b[31m" in show
    assert "#1 h content.created: ok (200)" in redeliver
    assert shown_again.count("  500  ") == 1 and "200" in shown_again
    for text in outputs:
        assert SECRET not in text


def test_redeliver_of_an_unknown_id_is_an_error_after_the_others_are_queued(rig: Rig) -> None:
    rig.configure(rig.hook("h"))
    rig.store(["a", "b"])
    code, out, err = cli(rig, "redeliver", "--no-send", "1", "2", "999")
    assert code == 1
    assert out == "queued 2\n" and err == "cometwatch: error: no delivery #999\n"
    code, out, err = cli(rig, "redeliver", "--no-send", "998", "999")
    assert code == 1 and out == ""
    assert err.startswith("cometwatch: error: no delivery #998, #999 (see") and err.count("\n") == 1


def test_recover_since_what_is_no_moment_says_what_is_accepted(rig: Rig, site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    rig.configure(rig.hook("h"), repository=site.root)
    cli(rig, "scan")
    code, out, err = cli(rig, "recover", "--webhook", "h", "--since", "yesterday")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("cometwatch: error: --since 'yesterday': not a UTC time (2026-05-01")
    assert "a duration ago (30m, 2h, 3d) or a commit of" in err
    code, out, err = cli(rig, "recover", "--webhook", "h", "--since", "HEAD")
    assert code == 0, err


def test_scan_wait_sends_a_coalesced_burst_once_its_window_has_passed(
        rig: Rig, site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    rig.configure(rig.hook("build", coalesce='"200ms"'), repository=site.root)
    cli(rig, "scan")
    for name in ("b", "c", "d"):
        site.write(f"posts/{name}.md", post(f"title: {name}"))
        site.commit()
    code, out, err = cli(rig, "scan", "--wait", "--timeout", "60")
    assert code == 0, err
    (request,) = rig.receiver.requests("/build")
    assert request.event == "content.published" and b'"slug":"d"' in request.body
    assert "sent 1 (1 ok)" in out
    with Store.open(rig.state) as store:
        assert store.counts()["build"] == {DeliveryStatus.COALESCED: 5, DeliveryStatus.OK: 1}


def test_scan_without_wait_says_what_waits_for_a_coalescing_window_and_who_sends_it(
        rig: Rig, site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    rig.configure(rig.hook("build", coalesce='"1h"') + rig.hook("each"), repository=site.root)
    cli(rig, "scan")
    site.write("posts/b.md", post("title: B"))
    site.commit()
    code, out, err = cli(rig, "scan")
    assert code == 0, err
    assert rig.receiver.requests("/build") == [] and len(rig.receiver.requests("/each")) == 2
    line = out.splitlines()[-1]
    assert line.startswith("build: 2 deliveries wait for its coalescing window, which closes at ")
    assert "`cometwatch scan --wait` (or the daemon) sends them as one request" in line
    assert "each:" not in out


def test_a_webhook_disabled_by_410_is_enabled_again_and_recovers_what_it_missed(
        rig: Rig, site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    rig.configure(rig.hook("h"), repository=site.root)
    cli(rig, "scan")
    site.write("posts/b.md", post("title: B"))
    site.commit()
    rig.receiver.script("/h", 410)
    assert cli(rig, "scan")[0] == 0
    site.write("posts/c.md", post("title: C"))
    site.commit()
    cli(rig, "scan")
    code, status, _ = cli(rig, "status")
    assert "DISABLED" in status and "410 Gone" in status and "3 skipped" in status
    code, listing, _ = cli(rig, "deliveries")
    assert "webhook h is DISABLED since" in listing and listing.count("skipped") == 3
    code, enabled, _ = cli(rig, "webhooks", "enable", "h")
    assert code == 0 and "cometwatch recover --webhook h --since" in enabled
    since = enabled.split("--since ")[1].split()[0]
    code, out, err = cli(rig, "recover", "--webhook", "h", "--since", since)
    assert code == 0, err
    assert "h: 4 deliveries dead or skipped since" in out  # the one answered 410, and the rest
    assert len(rig.receiver.requests("/h")) == 5
    code, status, _ = cli(rig, "status")
    assert "DISABLED" not in status and "4 ok" in status


def test_events_stored_while_no_webhook_was_enabled_are_sent_by_recover(
        rig: Rig, site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    rig.configure(rig.hook("h", enabled="false"), repository=site.root)  # as `init` writes it
    assert cli(rig, "scan")[0] == 0  # the baseline
    site.write("posts/b.md", post("title: B"))
    site.commit()
    site.write("posts/b.md", post("title: B2"))
    site.commit()
    code, out, err = cli(rig, "scan")
    assert code == 0 and "3 events, 0 deliveries" in out
    assert err.count("\n") == 1 and "3 events stored while no webhook is enabled" in err
    command = err.split("`")[1]
    assert command.startswith("cometwatch recover --webhook h --since ")
    rig.configure(rig.hook("h"), repository=site.root)  # enabled = true
    code, out, _ = cli(rig, "scan", "--since", "HEAD~2")
    assert code == 0 and "0 events" in out  # stored once: a backfill makes no deliveries
    assert rig.receiver.requests("/h") == []
    code, out, err = cli(rig, *command.split()[1:])
    assert code == 0, err
    assert "0 deliveries dead or skipped" in out and "3 created" in out
    assert [r.event for r in rig.receiver.requests("/h")] == [
        "content.created", "content.published", "content.updated"]  # in derivation order
    code, out, _ = cli(rig, *command.split()[1:])
    assert "0 created" in out and len(rig.receiver.requests("/h")) == 3  # never twice
