"""Which deliveries go out when: per-entry order, in-flight limits, coalescing, retries.

The delivery state has one owner, the coordinator: the thread calling `run`, `drain` or
`send_due_once`. It reads, per webhook, a page of due deliveries that head their entry's queue
and hands them to that webhook's lane, a queue read by worker threads of its own (no more
threads than requests handed out, at most `max_in_flight`; cometwatch.lanes). A worker only
sends: it takes a delivery, makes the request and puts what came back on the answer queue. The
coordinator records the answers in batches, one transaction each (a group commit: the workers
go on sending meanwhile), updates its lanes, disables a webhook that asked for it or failed too
long, then reads what is due next. A delivery counts as in flight until its attempt is
recorded, so its entry's next event is never sent before it; and since the coordinator records
and reads on one connection, what it reads always includes what it recorded. A slow or dead
endpoint only ever fills its own lane. `close(timeout)` lets the requests in flight be
answered, cuts the rest (left due, never recorded as attempts) and joins every thread.

One process dispatches from a state file at a time (an flock next to it): a `scan` from cron
while the daemon runs stores its events and leaves the sending to the daemon, so nothing is
sent twice by two senders racing.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING

from cometwatch import coalescing
from cometwatch.config import Config, Webhook
from cometwatch.errors import CometwatchError
from cometwatch.lanes import BATCH, Lane, Returned, Workers
from cometwatch.locks import FileLock
from cometwatch.observe import NO_OBSERVER, Observer, result_class
from cometwatch.outbox import (
    Attempt,
    Delivery,
    DeliveryStatus,
    Verdict,
    WebhookState,
    failing_too_long,
    held,
    judge,
)
from cometwatch.progress import noun
from cometwatch.store import Store
from cometwatch.utc import iso as utc_iso

if TYPE_CHECKING:
    from cometwatch.delivery import Sender
    from cometwatch.sendpool import SendPool

log = logging.getLogger("cometwatch.dispatch")

PAGE = 100  # due deliveries handed to a lane at most: a backlog is never loaded whole
IDLE_POLL = 1.0  # seconds: a replay or a scan by another process is picked up this soon
PURGE_EVERY = 3600.0
RETRY_STATE = 5.0  # seconds before the daemon's loop reads a failing state database again
BATCH_WINDOW = 0.003  # seconds answers are gathered for a batch (lanes.BATCH at most)


class Dispatcher:
    def __init__(self, config: Config, store_path: Path, sender: Sender,
                 clock: Callable[[], float] = time.time,
                 rand: Callable[[], float] = random.random,
                 observer: Observer = NO_OBSERVER, pool: SendPool | None = None) -> None:
        """`pool`: send through threads shared with other dispatchers (a fleet's sites)
        instead of threads of each lane's own."""
        self._config = config
        self._reloads: SimpleQueue[Config] = SimpleQueue()
        self._path = store_path
        self._clock = clock
        self._rand = rand
        self._observer = observer
        self._workers = Workers(config, sender, clock, pool)
        self._lanes: dict[str, Lane] = {}
        self._store_handle: Store | None = None
        self._lock = FileLock(store_path.with_name(store_path.name + ".lock"),
                              "the dispatch lock")
        self._purged_at = float("-inf")
        self._disabled: tuple[float, set[str]] = (float("-inf"), set())  # (read at, names)
        self._tell_held = True  # say which open deliveries wait for a webhook not configured
        self._gathering: float | None = None  # monotonic: when the first unrecorded answer came
        self.settled = 0  # attempts recorded since this dispatcher started
        self.outcomes: Counter[str] = Counter()  # of those attempts: ok, failed, dead
        self.busy = False  # another process was dispatching from the same state file

    # -- public ---------------------------------------------------------------------------

    def run(self, stop: threading.Event, wake: threading.Event) -> None:
        """Send what is due until `stop` is set; `wake` makes it look again at once (set it
        after a scan, and after setting `stop` for a prompt return)."""
        warned = False
        while True:
            try:
                if self._acquire():
                    break
                if not warned:
                    log.warning("another cometwatch process is delivering from %s; waiting "
                                "for it to stop", self._path)
                    warned = True
            except CometwatchError as exc:
                log.error("delivering: %s; trying again in %.0f s", exc, RETRY_STATE)
            if stop.wait(RETRY_STATE):
                return
        self._workers.signal = wake
        try:
            while not stop.is_set():
                wake.clear()
                now = self._clock()
                try:
                    self._maybe_purge(now)
                    delay = self._step(now)
                    if delay is None:
                        delay = self._idle_delay(now)
                except CometwatchError as exc:  # a locked or full disk: try again shortly
                    log.error("delivering: %s; trying again in %.0f s", exc, RETRY_STATE)
                    delay = RETRY_STATE
                self._wait(delay)
        finally:
            self.close(self._config.daemon.shutdown_timeout)

    def send_due_once(self, timeout: float | None = None) -> int:
        """Send everything due now (and what its success unblocks); returns attempts made."""
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._until_quiet(deadline, wait_for_windows=False)

    def drain(self, timeout: float | None) -> int:
        """Send until nothing is due any more, coalescing windows included, or until
        `timeout` seconds; returns attempts made. With a timeout, the retries that fall due
        before it are waited for and sent too; without, retries are left for later."""
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._until_quiet(deadline, wait_for_windows=True)

    def reload(self, config: Config) -> None:
        """Use `config` from now on (from any thread): a job not sent yet to a webhook gone
        from it, or off in it, is not sent; the coordinator takes the rest over when it next
        looks."""
        self._workers.live = config
        self._reloads.put(config)
        self._workers.signal.set()

    def close(self, timeout: float = 0.0) -> None:
        """Stop: hand out nothing more, give the requests in flight `timeout` seconds to be
        answered, record the answers, and cut the requests still waiting after that. A cut
        request is not recorded: its delivery stays open and is sent again by the next
        dispatcher (at-least-once; the receiver may have seen it). Every thread is joined (a
        worker still resolving or connecting is left after lanes.CUT_GRACE), then the connection is
        closed and another process may dispatch. Call it from the coordinator's thread; the
        dispatcher can be used again afterwards."""
        workers = self._workers
        workers.closing.set()
        for lane in self._lanes.values():
            workers.withdraw_queued(lane)
        deadline = time.monotonic() + timeout
        while self._unanswered() and time.monotonic() < deadline:
            workers.signal.clear()
            self._collect(force=True)
            if self._unanswered():
                workers.signal.wait(min(deadline - time.monotonic(), BATCH_WINDOW * 10))
        cut = self._unanswered()
        if cut:
            log.warning("stopping with %d %s unanswered%s: cut, %s due and %s sent again "
                        "next time", cut, noun(cut, "request"),
                        f" after {timeout:g} s" if timeout else "",
                        "it stays" if cut == 1 else "they stay", "is" if cut == 1 else "are")
            workers.abort()
        lanes, self._lanes = list(self._lanes.values()), {}
        workers.join(lanes)
        # What came back before the threads ended: the answers are recorded, the cut dropped.
        self._collect(force=True, lanes=lanes)
        workers.closing.clear()
        if self._store_handle is not None:
            self._store_handle.close()
            self._store_handle = None
        self._lock.release()

    # -- the coordinator ------------------------------------------------------------------

    def _until_quiet(self, deadline: float | None, wait_for_windows: bool) -> int:
        if not self._acquire():
            self.busy = True
            return 0
        self._workers.signal = signal = threading.Event()
        start = self.settled
        self._maybe_purge(self._clock())
        while True:
            signal.clear()
            now = self._clock()
            delay = self._step(now)
            if delay is None:  # nothing in flight after a pump: nothing is due now
                later = self._next_due(now, fresh_only=deadline is None) \
                    if wait_for_windows else None
                if later is None:
                    break
                delay = later - now
                if deadline is not None and delay > deadline - time.monotonic():
                    break  # due after the deadline: left for later
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                delay = min(delay, left)
            self._wait(max(delay, 0.0))
        return self.settled - start

    def _wait(self, delay: float) -> None:
        if self._gathering is not None:  # not woken by every answer while a batch gathers
            self._workers.urgent.wait(min(delay, BATCH_WINDOW))
            self._workers.urgent.clear()
        else:
            self._workers.signal.wait(delay)

    def _step(self, now: float) -> float | None:
        """Take a reload, record the answers ready to be, hand out what is due; how long to
        wait for the next answer (None: nothing in flight)."""
        self._take_reloads()
        self._collect()
        self._pump(now)
        if not any(lane.flying() for lane in self._lanes.values()):
            return None
        if self._gathering is not None:  # answers wait: record them once the window ends
            return max(self._gathering + BATCH_WINDOW - time.monotonic(), 0.0)
        return IDLE_POLL  # a worker wakes the coordinator when its answer comes

    def _take_reloads(self) -> None:
        config = None
        while True:
            try:
                config = self._reloads.get_nowait()
            except Empty:
                break
        if config is None:
            return
        self._config = config
        self._tell_held = True
        for name, lane in list(self._lanes.items()):
            hook = config.webhook(name)
            if hook is not None and hook.enabled:
                self._workers.resize(lane, hook)
                continue
            # Off or gone: what it had queued stays open in the store; its idle workers end.
            self._workers.withdraw_queued(lane)
            self._workers.end(lane, lane.threads)

    def _pump(self, now: float) -> None:
        store = self._store()
        disabled = self._disabled_webhooks(store)
        config, tell, self._tell_held = self._config, self._tell_held, False
        if tell:
            self._tell_held_deliveries(store, config)
        for hook in config.webhooks:
            if not hook.enabled:
                continue
            lane = self._lane(hook)
            if hook.name in disabled:
                self._workers.withdraw_queued(lane)
            elif hook.coalesce:
                self._pump_coalescing(store, lane, hook, now)
            else:
                self._pump_lane(store, lane, hook, now)

    def _pump_lane(self, store: Store, lane: Lane, hook: Webhook, now: float) -> None:
        """Keep the lane's queue filled with due heads of distinct entries: read more once
        fewer than its workers' worth wait unsent (the queue's size is only a hint)."""
        if len(lane.handed) >= PAGE or lane.jobs.qsize() >= max(hook.max_in_flight, 1):
            return
        room = PAGE - len(lane.handed)
        taken = lane.handed | lane.answered
        fresh = [row for row in store.due(hook.name, now, room + len(taken))
                 if row.id not in taken][:room]
        for delivery in fresh:
            self._workers.hand(lane, hook, delivery)

    def _pump_coalescing(self, store: Store, lane: Lane, hook: Webhook, now: float) -> None:
        """At most one request in flight (coalescing says what it carries)."""
        if lane.flying():
            return
        alone = store.due_alone(hook.name, now)
        latest = store.latest_open(hook.name) if alone is None else None
        chosen = coalescing.next_request(alone, latest, latest.next_at if latest else None, now)
        if chosen is None:
            return
        delivery, carries = chosen
        if carries:
            merged = store.coalesce(hook.name, delivery.id, now)
            if merged:
                log.info("%s: %d %s coalesced into #%d (%s)", hook.name, merged,
                         noun(merged, "delivery", "deliveries"), delivery.id,
                         delivery.event.name)
        self._workers.hand(lane, hook, delivery)

    def _unanswered(self) -> int:
        return sum(len(lane.handed) for lane in self._lanes.values())

    # -- answers --------------------------------------------------------------------------

    def _collect(self, force: bool = False, lanes: list[Lane] | None = None) -> None:
        """Record the answers that came back, in one transaction, once a batch is worth it:
        BATCH of them, BATCH_WINDOW after the first, or at once when no request is left
        unanswered or a lane's queue has run dry (its workers wait for what follows)."""
        waiting = self._workers.answers.qsize()
        if not waiting:
            return
        if self._gathering is None:
            self._gathering = time.monotonic()
        current = lanes if lanes is not None else list(self._lanes.values())
        if not (force or waiting >= BATCH or waiting >= self._unanswered()
                or time.monotonic() - self._gathering >= BATCH_WINDOW
                or any(lane.handed and lane.jobs.empty() for lane in current)):
            return
        self._gathering = None
        batch: list[tuple[Returned, Verdict]] = []
        for returned in self._workers.drained():
            lane, delivery = returned.lane, returned.delivery
            lane.handed.discard(delivery.id)
            if returned.attempt is None or returned.attempt.cut:
                continue  # not sent, or cut by a stop: no attempt, it stays due
            if lane not in current:
                continue  # a lane closed since: its delivery stays due
            lane.answered.add(delivery.id)
            batch.append((returned, judge(returned.hook, delivery, returned.attempt,
                                          self._clock(), self._rand)))
        if batch:
            self._record(batch)

    def _record(self, batch: list[tuple[Returned, Verdict]]) -> None:
        now = self._clock()
        try:
            states = self._store().record_many([(r.delivery, _made(r), verdict)
                                                for r, verdict in batch])
        except CometwatchError as exc:  # unrecorded, they stay due and are sent again
            log.error("recording %d attempts: %s", len(batch), exc)
            states = None
        for returned, verdict in batch:
            returned.lane.answered.discard(returned.delivery.id)
            if states is not None:
                report(returned.hook, returned.delivery, _made(returned), verdict)
        if states is None:
            return
        self.settled += len(batch)
        self.outcomes.update(verdict.status.value for _, verdict in batch)
        self._observe(batch, now)
        try:
            self._disable_failing(batch, states, now)
        except CometwatchError as exc:
            log.error("disabling a webhook: %s", exc)

    def _observe(self, batch: list[tuple[Returned, Verdict]], now: float) -> None:
        try:
            for returned, verdict in batch:
                name, attempt = returned.hook.name, _made(returned)
                self._observer.attempt(name, result_class(attempt.code, attempt.timed_out),
                                       attempt.duration)
                self._observer.settled(name, verdict.status.value)
                if verdict.status is DeliveryStatus.OK and returned.delivery.retry_base == 0:
                    self._observer.first_success(name, returned.delivery.event.occurred_at,
                                                 now)
        except Exception:  # metrics never stop a delivery
            log.exception("the delivery observer failed")

    def _disable_failing(self, batch: list[tuple[Returned, Verdict]],
                         states: dict[str, WebhookState], now: float) -> None:
        for returned, verdict in batch:
            hook = returned.hook
            state = states[hook.name]
            reason = verdict.disable or failing_too_long(hook, state, now)
            if reason and state.disabled_at is None:
                # what it missed: since its first failure after the last success
                started = _made(returned).started_at
                since = min(state.failing_since or started, started)
                self._disable(hook.name, reason, now, since)
                states[hook.name] = replace(state, disabled_at=now)

    def _disable(self, name: str, reason: str, now: float, since: float) -> None:
        skipped = self._store().disable_webhook(name, reason, now)
        lane = self._lanes.get(name)
        if lane is not None:
            self._workers.withdraw_queued(lane)
        self._disabled = (float("-inf"), set())
        log.warning("webhook %s disabled: %s; %d open %s skipped (`cometwatch webhooks enable "
                    "%s` turns it back on, then `cometwatch recover --webhook %s --since %s` "
                    "sends them)", name, reason, skipped,
                    noun(skipped, "delivery", "deliveries"), name, name, utc_iso(since))

    # -- the store and the clocks ---------------------------------------------------------

    def _lane(self, hook: Webhook) -> Lane:
        lane = self._lanes.get(hook.name)
        if lane is None:
            lane = self._lanes[hook.name] = Lane(hook)
        elif lane.hook is not hook:
            self._workers.resize(lane, hook)
        return lane

    @staticmethod
    def _tell_held_deliveries(store: Store, config: Config) -> None:
        for name, count in sorted(store.open_counts().items()):
            why = held(name, config.webhook(name))
            if why:
                log.warning("%d open %s for webhook %r, %s", count,
                            noun(count, "delivery", "deliveries"), name, why)

    def _disabled_webhooks(self, store: Store) -> set[str]:
        # Read at most once a second: `webhooks disable` from another process is seen that
        # soon; a disable by this dispatcher resets it at once.
        read_at, names = self._disabled
        moment = time.monotonic()
        if moment - read_at >= IDLE_POLL:
            names = store.disabled_webhooks()
            self._disabled = (moment, names)
        return names

    def _next_due(self, now: float, fresh_only: bool) -> float | None:
        active = [hook.name for hook in self._config.webhooks if hook.enabled]
        return self._store().next_due(active, now, fresh_only=fresh_only)

    def _idle_delay(self, now: float) -> float:
        later = self._next_due(now, fresh_only=False)
        return IDLE_POLL if later is None else min(max(later - now, 0.0), IDLE_POLL)

    def _maybe_purge(self, now: float) -> None:
        if now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        purged = self._store().purge(now - self._config.delivery.dead_retention)
        if purged:
            log.info("purged %d settled %s older than the retention", purged,
                     noun(purged, "delivery", "deliveries"))

    def _store(self) -> Store:
        if self._store_handle is None:
            self._store_handle = Store.open(self._path)
        return self._store_handle

    def _acquire(self) -> bool:
        """Become the one process sending from this state file; False while another is."""
        if not self._lock.acquire():
            return False
        self.busy = False
        return True


def _made(returned: Returned) -> Attempt:
    assert returned.attempt is not None  # what was not sent is never recorded
    return returned.attempt


def report(hook: Webhook, delivery: Delivery, attempt: Attempt, verdict: Verdict) -> None:
    """One log line for a recorded attempt (a success only with -v)."""
    status = verdict.status
    if status is DeliveryStatus.OK and not log.isEnabledFor(logging.DEBUG):
        return
    event = delivery.event
    what = f"{hook.name}: #{delivery.id} {event.name} {event.collection}/{event.slug}"
    answer = attempt.error or str(attempt.code)
    if status is DeliveryStatus.OK:
        log.debug("%s: %s in %.0f ms", what, attempt.code, attempt.duration * 1000)
    elif status is DeliveryStatus.FAILED:
        assert verdict.next_at is not None
        log.info("%s: %s; attempt %d, next at %s", what, answer, delivery.tries + 1,
                 utc_iso(verdict.next_at))
    else:
        log.warning("%s: %s; dead after %d attempts (`cometwatch redeliver %d` sends it "
                    "again)", what, answer, delivery.tries + 1, delivery.id)
