"""SendPool: delivery threads shared by many dispatchers, fair per webhook; and real
Dispatchers sending through one pool to a real receiver."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from receiver import Answer, Receiver
from test_dispatch import SECRET, Rig
from testing import patience

from cometwatch.delivery import Sender
from cometwatch.dispatcher import Dispatcher
from cometwatch.sendpool import SendPool
from cometwatch.store import DeliveryStatus


def wait_until(check: object, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + patience(timeout)
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


class Lane:
    """A lane whose requests block until released, counting how many run at once."""

    def __init__(self, pool: SendPool, name: str, limit: int, log: list[str]) -> None:
        self.pool, self.name, self.limit, self.log = pool, name, limit, log
        self.release = threading.Event()
        self.running = self.most = self.done = 0
        self.lock = threading.Lock()

    def submit(self, count: int = 1) -> None:
        for _ in range(count):
            self.pool.submit(self, self.limit, self.run)

    def run(self) -> None:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.log.append(self.name)
        self.release.wait(20)
        with self.lock:
            self.running -= 1
            self.done += 1


@pytest.fixture
def pool() -> Iterator[SendPool]:
    made = SendPool(threads=5)
    yield made
    made.close()


def test_a_lane_with_a_backlog_holds_at_most_its_limit_and_others_still_run(
        pool: SendPool) -> None:
    log: list[str] = []
    backlog, other = Lane(pool, "backlog", 4, log), Lane(pool, "other", 4, log)
    backlog.submit(1000)  # an endpoint that hangs, with a thousand waiting
    wait_until(lambda: backlog.running == 4, "the backlog's four requests")
    other.submit()
    other.release.set()
    wait_until(lambda: other.done == 1, "the other lane's request")
    assert backlog.most == 4
    assert pool.in_flight(backlog) == 4
    backlog.release.set()
    wait_until(lambda: backlog.done == 1000, "the backlog to drain")
    assert backlog.most == 4


def test_lanes_take_turns(tmp_path: Path) -> None:
    pool = SendPool(threads=1)
    log: list[str] = []
    gate = Lane(pool, "gate", 1, log)
    try:
        gate.submit()  # holds the one thread while the others queue up
        wait_until(lambda: gate.running == 1, "the gate")
        lanes = [Lane(pool, name, 4, log) for name in ("a", "b", "c")]
        for lane in lanes:
            lane.release.set()
            lane.submit(3)
        gate.release.set()
        wait_until(lambda: all(lane.done == 3 for lane in lanes), "every lane")
    finally:
        pool.close()
    assert log[1:] == ["a", "b", "c"] * 3


def test_threads_start_only_as_work_needs_them() -> None:
    pool = SendPool(threads=8)
    log: list[str] = []
    try:
        lane = Lane(pool, "one", 1, log)
        lane.release.set()
        lane.submit(20)
        wait_until(lambda: lane.done == 20, "the lane")
        assert threading.active_count() < 8 + 20  # never a thread per request
        assert len(pool._threads) <= 2
    finally:
        pool.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(SECRET) as running:
        yield running


def test_dispatchers_sharing_a_pool_deliver_in_order_and_a_hung_site_starves_no_other(
        tmp_path: Path, receiver: Receiver) -> None:
    pool = SendPool(threads=3)
    rigs = []
    for name in ("hung", "fine"):
        rig = Rig(tmp_path / name, receiver)
        (tmp_path / name).mkdir()
        rig.config_file = tmp_path / name / "webhooks.toml"
        rig.state = tmp_path / name / "state.db"
        rig.configure(rig.hook(name, max_in_flight="2"))
        rigs.append(rig)
    receiver.script("/hung", *[Answer(hang=True)] * 40)
    hung, fine = rigs
    hung.store([f"h{n}" for n in range(40)])
    events = fine.store(["x", "x", "x", "y"])  # x's three events in order
    dispatchers = []
    try:
        for rig in rigs:
            sender = Sender(clock=rig.clock)
            rig.senders.append(sender)
            dispatcher = Dispatcher(rig.config, rig.state, sender, clock=rig.clock,
                                    rand=lambda: 0.5, pool=pool)
            rig.dispatchers.append(dispatcher)
            dispatchers.append(dispatcher)
        stop = threading.Event()
        wakes = [threading.Event() for _ in dispatchers]
        threads = [threading.Thread(target=d.run, args=(stop, wake))
                   for d, wake in zip(dispatchers, wakes, strict=True)]
        for thread in threads:
            thread.start()
        wait_until(lambda: receiver.hanging >= 2, "the hung site's two requests")
        wait_until(lambda: len(receiver.requests("/fine")) == 4, "the other site's four")
        assert [r.event_id for r in receiver.requests("/fine") if r.event_id in
                {e.event_id for e in events[:3]}] == [e.event_id for e in events[:3]]
        assert receiver.hanging == 2  # the hung webhook never holds more than its limit
        receiver.script("/hung")  # what the hung lane sends from now on is answered
        stop.set()
        for wake in wakes:  # as the daemon does: a prompt return, not the next idle look
            wake.set()
        # A request the hung lane sent before holds until a release(): keep releasing until
        # the dispatchers have stopped, or each waits out its close timeout.
        deadline = time.monotonic() + patience(30)
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
            receiver.release()
            threads[0].join(0.01)
        for thread in threads:
            thread.join(1)
        assert fine.deliveries("fine") == [(e.event_id, DeliveryStatus.OK) for e in events]
    finally:
        receiver.release()
        for rig in rigs:
            rig.close()
        pool.close()
