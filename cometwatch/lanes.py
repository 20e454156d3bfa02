"""The dispatcher's send side: per webhook, a lane (a queue of handed-out deliveries) and the
workers that only send.

The coordinator (cometwatch.dispatcher) owns every lane's bookkeeping; a worker reads nothing
of it but its lane's queue, the config swapped in by a reload and the closing flag. It takes a
delivery, makes the request and puts a `Returned` on the answer queue, then wakes the
coordinator: through `signal` always, through `urgent` only when a batch being gathered
should be recorded at once (a batch full, its lane run dry, an answer asking to disable).
Threads are started for the requests handed out, at most the webhook's `max_in_flight` (one
for a coalescing webhook), or the lane is served by a SendPool shared with other dispatchers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING

from cometwatch.config import Config, Webhook
from cometwatch.outbox import Attempt, Delivery
from cometwatch.payload import body
from cometwatch.progress import noun

if TYPE_CHECKING:
    from cometwatch.delivery import Sender
    from cometwatch.sendpool import SendPool

log = logging.getLogger("cometwatch.dispatch")

BATCH = 64  # answers recorded together at most
CUT_GRACE = 0.5  # seconds the workers of cut requests are given to end


@dataclass(frozen=True, slots=True)
class Returned:
    """What a worker hands back: the delivery, and its attempt (None: not sent, the
    dispatcher was closing or its webhook was gone from the config)."""

    lane: Lane
    hook: Webhook
    delivery: Delivery
    attempt: Attempt | None


class Lane:
    """One webhook's queue of handed-out deliveries; the coordinator's alone (the workers
    only read `jobs`)."""

    def __init__(self, hook: Webhook) -> None:
        self.hook = hook
        self.jobs: SimpleQueue[tuple[Webhook, Delivery] | None] = SimpleQueue()
        self.threads = 0
        self.handed: set[int] = set()  # handed to the workers, not answered yet
        self.answered: set[int] = set()  # answered, not recorded yet: still open in the store

    def flying(self) -> int:
        return len(self.handed) + len(self.answered)


def limit_of(hook: Webhook) -> int:
    """Requests in flight at most: a coalescing webhook has one."""
    return 1 if hook.coalesce else hook.max_in_flight


class Workers:
    """The threads that send, and the queue and events they answer through."""

    def __init__(self, config: Config, sender: Sender, clock: Callable[[], float],
                 pool: SendPool | None = None) -> None:
        self.live = config  # what a job is checked against before it is sent
        self.answers: SimpleQueue[Returned] = SimpleQueue()
        self.closing = threading.Event()  # the dispatcher is closing: nothing more is sent
        self.signal = threading.Event()  # set at each answer (the coordinator may swap it)
        self.urgent = threading.Event()  # set when a batch being gathered is due at once
        self._sender = sender
        self._clock = clock
        self._pool = pool
        self._threads: list[threading.Thread] = []

    # -- called by the coordinator --------------------------------------------------------

    def hand(self, lane: Lane, hook: Webhook, delivery: Delivery) -> None:
        lane.handed.add(delivery.id)
        limit = limit_of(hook)
        if self._pool is not None:  # the shared threads take the lanes in turn
            lane.jobs.put((hook, delivery))
            self._pool.submit(lane, limit, lambda: self._work_one(lane))
            return
        # A thread per request handed out, up to the limit: never more than the work.
        while lane.threads < min(limit, len(lane.handed)):
            lane.threads += 1
            worker = threading.Thread(target=self._work, args=(lane,), daemon=True,
                                      name=f"cometwatch-{hook.name}-{lane.threads}")
            worker.start()
            self._threads = [t for t in self._threads if t.is_alive()] + [worker]
        lane.jobs.put((hook, delivery))

    def resize(self, lane: Lane, hook: Webhook) -> None:
        """The lane's webhook as reloaded: fewer threads if its limit went down."""
        lane.hook = hook
        if lane.threads > limit_of(hook):
            self.end(lane, lane.threads - limit_of(hook))

    @staticmethod
    def end(lane: Lane, count: int) -> None:
        """Let `count` of the lane's threads end once idle."""
        for _ in range(count):
            lane.jobs.put(None)
        lane.threads -= count

    def withdraw_queued(self, lane: Lane) -> None:
        """Take back the jobs no worker has taken yet: they stay open, not sent."""
        if self._pool is not None:
            self._pool.forget(lane)
        stopped = 0
        while True:
            try:
                job = lane.jobs.get_nowait()
            except Empty:
                break
            if job is None:
                stopped += 1
            else:
                lane.handed.discard(job[1].id)
        for _ in range(stopped):  # a stop meant for a worker still goes to one
            lane.jobs.put(None)

    def drained(self) -> Iterator[Returned]:
        """The answers waiting, taken off the queue."""
        while True:
            try:
                yield self.answers.get_nowait()
            except Empty:
                return

    def abort(self) -> None:
        """Cut every request waiting for its answer (the stop that cannot wait)."""
        self._sender.abort()

    def join(self, lanes: list[Lane]) -> None:
        """End these lanes' threads: each gets its stop, and CUT_GRACE to take it (a worker
        still resolving or connecting is left behind)."""
        for lane in lanes:
            self.end(lane, lane.threads)
        threads, self._threads = self._threads, []
        deadline = time.monotonic() + CUT_GRACE
        for thread in threads:
            thread.join(max(deadline - time.monotonic(), 0.0))
        stuck = sum(thread.is_alive() for thread in threads)
        if stuck:  # in getaddrinfo or connect(): nothing to cut yet; daemon threads
            log.warning("%d delivery %s still connecting %s left behind; what %s is not "
                        "recorded", stuck, noun(stuck, "thread"), "is" if stuck == 1 else "are",
                        "it sends" if stuck == 1 else "they send")
        if self._pool is not None:  # the shared threads' requests of these lanes end too
            while any(self._pool.in_flight(lane) for lane in lanes) and \
                    time.monotonic() < deadline:
                time.sleep(0.01)  # a poll with a deadline: the pool's threads are not ours

    # -- the worker threads ---------------------------------------------------------------

    def _work(self, lane: Lane) -> None:
        """Send what the lane's queue holds, hand each answer back; nothing else."""
        while True:
            job = lane.jobs.get()
            if job is None:
                return
            self._do(lane, *job)

    def _work_one(self, lane: Lane) -> None:
        """A shared thread's turn at the lane: one request, if one still waits (the
        coordinator may have taken it back)."""
        try:
            job = lane.jobs.get_nowait()
        except Empty:
            return
        if job is not None:
            self._do(lane, *job)

    def _do(self, lane: Lane, hook: Webhook, delivery: Delivery) -> None:
        live = self.live.webhook(hook.name)
        if self.closing.is_set() or live is None or not live.enabled:
            attempt = None
        else:
            attempt = self._send(hook, delivery)
        self.answers.put(Returned(lane, hook, delivery, attempt))
        self.signal.set()
        if self.answers.qsize() >= BATCH or lane.jobs.empty() or \
                (attempt is not None and attempt.disable):
            self.urgent.set()

    def _send(self, hook: Webhook, delivery: Delivery) -> Attempt:
        event = delivery.event
        started = self._clock()
        try:
            return self._sender.send(hook, event.event_id, event.name, body(event))
        except Exception as exc:  # a bug, not an answer: recorded as a failed attempt
            log.exception("%s: delivery #%d failed unexpectedly", hook.name, delivery.id)
            return Attempt(started, None, 0.0, f"internal error: {type(exc).__name__}: {exc}",
                           b"")
