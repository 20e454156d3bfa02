"""Which deliveries go out when: per-entry order, in-flight limits, coalescing, retries.

The delivery state has one owner, the coordinator: the thread calling `run`, `drain` or
`send_due_once`. It reads, per webhook, a page of due deliveries that head their entry's queue
and hands them to that webhook's lane, a queue read by worker threads of its own (no more
threads than requests handed out, at most `max_in_flight`). A worker only sends: it takes a
delivery, makes the request and puts what came back on the coordinator's answer queue. The
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import TYPE_CHECKING

from cometwatch import coalescing
from cometwatch.config import Config, Webhook
from cometwatch.errors import CometwatchError
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
from cometwatch.payload import body
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
CUT_GRACE = 0.5  # seconds close() gives the workers of cut requests to end
BATCH, BATCH_WINDOW = 64, 0.003  # answers recorded together; how long they are gathered


@dataclass(frozen=True, slots=True)
class _Returned:
    """What a worker hands back: the delivery, and its attempt (None: not sent, the
    dispatcher was closing or its webhook was gone from the config)."""

    lane: _Lane
    hook: Webhook
    delivery: Delivery
    attempt: Attempt | None


class _Lane:
    """One webhook's queue of handed-out deliveries and its workers; the coordinator's alone
    (the workers only read `jobs`)."""

    def __init__(self, hook: Webhook) -> None:
        self.hook = hook
        self.jobs: SimpleQueue[tuple[Webhook, Delivery] | None] = SimpleQueue()
        self.threads = 0
        self.handed: set[int] = set()  # handed to the workers, not answered yet
        self.answered: set[int] = set()  # answered, not recorded yet: still open in the store

    def flying(self) -> int:
        return len(self.handed) + len(self.answered)


class Dispatcher:
    def __init__(self, config: Config, store_path: Path, sender: Sender,
                 clock: Callable[[], float] = time.time,
                 rand: Callable[[], float] = random.random,
                 observer: Observer = NO_OBSERVER, pool: SendPool | None = None) -> None:
        """`pool`: send through threads shared with other dispatchers (a fleet's sites)
        instead of threads of each lane's own."""
        self._config = config
        self._pool = pool
        self._live = config  # what the workers check a job against: reload() replaces it
        self._reloads: SimpleQueue[Config] = SimpleQueue()
        self._path = store_path
        self._sender = sender
        self._clock = clock
        self._rand = rand
        self._observer = observer
        self._answers: SimpleQueue[_Returned] = SimpleQueue()
        self._closing = threading.Event()  # close() has begun: workers send nothing more
        self._signal = threading.Event()  # set by workers at each answer, and by reload()
        # While answers are gathered for a batch the coordinator waits on this one instead,
        # set only when it is needed at once: a batch full, a lane run dry, a 410.
        self._urgent = threading.Event()
        self._lanes: dict[str, _Lane] = {}
        self._workers: list[threading.Thread] = []
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
        self._signal = wake
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
        self._live = config
        self._reloads.put(config)
        self._signal.set()

    def close(self, timeout: float = 0.0) -> None:
        """Stop: hand out nothing more, give the requests in flight `timeout` seconds to be
        answered, record the answers, and cut the requests still waiting after that. A cut
        request is not recorded: its delivery stays open and is sent again by the next
        dispatcher (at-least-once; the receiver may have seen it). Every thread is joined (a
        worker still resolving or connecting is left after CUT_GRACE), then the connection is
        closed and another process may dispatch. Call it from the coordinator's thread; the
        dispatcher can be used again afterwards."""
        self._closing.set()
        for lane in self._lanes.values():
            self._withdraw_queued(lane)
        deadline = time.monotonic() + timeout
        while self._unanswered() and time.monotonic() < deadline:
            self._signal.clear()
            self._collect(force=True)
            if self._unanswered():
                self._signal.wait(min(deadline - time.monotonic(), BATCH_WINDOW * 10))
        cut = self._unanswered()
        if cut:
            log.warning("stopping with %d %s unanswered%s: cut, %s due and %s sent again "
                        "next time", cut, noun(cut, "request"),
                        f" after {timeout:g} s" if timeout else "",
                        "it stays" if cut == 1 else "they stay", "is" if cut == 1 else "are")
            self._sender.abort()
        lanes, self._lanes = list(self._lanes.values()), {}
        for lane in lanes:
            for _ in range(lane.threads):
                lane.jobs.put(None)
        workers, self._workers = self._workers, []
        self._join(workers)
        if self._pool is not None:
            self._join_pooled(lanes)
        # What came back before the threads ended: the answers are recorded, the cut dropped.
        self._collect(force=True, lanes=lanes)
        self._closing.clear()
        if self._store_handle is not None:
            self._store_handle.close()
            self._store_handle = None
        self._lock.release()

    @staticmethod
    def _join(workers: list[threading.Thread]) -> None:
        deadline = time.monotonic() + CUT_GRACE
        for worker in workers:
            worker.join(max(deadline - time.monotonic(), 0.0))
        stuck = sum(worker.is_alive() for worker in workers)
        if stuck:  # in getaddrinfo or connect(): nothing to cut yet; daemon threads
            log.warning("%d delivery %s still connecting %s left behind; what %s is not "
                        "recorded", stuck, noun(stuck, "thread"), "is" if stuck == 1 else "are",
                        "it sends" if stuck == 1 else "they send")

    # -- the coordinator ------------------------------------------------------------------

    def _until_quiet(self, deadline: float | None, wait_for_windows: bool) -> int:
        if not self._acquire():
            self.busy = True
            return 0
        self._signal = signal = threading.Event()
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
            self._urgent.wait(delay)
            self._urgent.clear()
        else:
            self._signal.wait(delay)

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
                self._resize(lane, hook)
                continue
            # Off or gone: what it had queued stays open in the store; its idle workers end.
            self._withdraw_queued(lane)
            self._end_workers(lane, lane.threads)

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
                self._withdraw_queued(lane)
            elif hook.coalesce:
                self._pump_coalescing(store, lane, hook, now)
            else:
                self._pump_lane(store, lane, hook, now)

    def _pump_lane(self, store: Store, lane: _Lane, hook: Webhook, now: float) -> None:
        """Keep the lane's queue filled with due heads of distinct entries: read more once
        fewer than its workers' worth wait unsent (the queue's size is only a hint)."""
        if len(lane.handed) >= PAGE or lane.jobs.qsize() >= max(hook.max_in_flight, 1):
            return
        room = PAGE - len(lane.handed)
        taken = lane.handed | lane.answered
        fresh = [row for row in store.due(hook.name, now, room + len(taken))
                 if row.id not in taken][:room]
        for delivery in fresh:
            self._hand(lane, hook, delivery)

    def _pump_coalescing(self, store: Store, lane: _Lane, hook: Webhook, now: float) -> None:
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
        self._hand(lane, hook, delivery)

    def _hand(self, lane: _Lane, hook: Webhook, delivery: Delivery) -> None:
        lane.handed.add(delivery.id)
        # A thread per request handed out, up to the limit: never more than the work.
        limit = 1 if hook.coalesce else hook.max_in_flight
        if self._pool is not None:  # the shared threads take the lanes in turn
            lane.jobs.put((hook, delivery))
            self._pool.submit(lane, limit, lambda: self._work_one(lane))
            return
        while lane.threads < min(limit, len(lane.handed)):
            lane.threads += 1
            worker = threading.Thread(target=self._work, args=(lane,), daemon=True,
                                      name=f"cometwatch-{hook.name}-{lane.threads}")
            worker.start()
            self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        lane.jobs.put((hook, delivery))

    def _resize(self, lane: _Lane, hook: Webhook) -> None:
        lane.hook = hook
        limit = 1 if hook.coalesce else hook.max_in_flight
        if lane.threads > limit:
            self._end_workers(lane, lane.threads - limit)

    @staticmethod
    def _end_workers(lane: _Lane, count: int) -> None:
        for _ in range(count):
            lane.jobs.put(None)
        lane.threads -= count

    def _withdraw_queued(self, lane: _Lane) -> None:
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

    def _unanswered(self) -> int:
        return sum(len(lane.handed) for lane in self._lanes.values())

    # -- answers --------------------------------------------------------------------------

    def _collect(self, force: bool = False, lanes: list[_Lane] | None = None) -> None:
        """Record the answers that came back, in one transaction, once a batch is worth it:
        BATCH of them, BATCH_WINDOW after the first, or at once when no request is left
        unanswered or a lane's queue has run dry (its workers wait for what follows)."""
        waiting = self._answers.qsize()
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
        batch: list[tuple[_Returned, Verdict]] = []
        for returned in self._drained():
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

    def _drained(self) -> Iterator[_Returned]:
        while True:
            try:
                yield self._answers.get_nowait()
            except Empty:
                return

    def _record(self, batch: list[tuple[_Returned, Verdict]]) -> None:
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

    def _observe(self, batch: list[tuple[_Returned, Verdict]], now: float) -> None:
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

    def _disable_failing(self, batch: list[tuple[_Returned, Verdict]],
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
            self._withdraw_queued(lane)
        self._disabled = (float("-inf"), set())
        log.warning("webhook %s disabled: %s; %d open %s skipped (`cometwatch webhooks enable "
                    "%s` turns it back on, then `cometwatch recover --webhook %s --since %s` "
                    "sends them)", name, reason, skipped,
                    noun(skipped, "delivery", "deliveries"), name, name, utc_iso(since))

    # -- the workers ----------------------------------------------------------------------

    def _work(self, lane: _Lane) -> None:
        """Send what the lane's queue holds, hand each answer back; nothing else."""
        while True:
            job = lane.jobs.get()
            if job is None:
                return
            self._do(lane, *job)

    def _work_one(self, lane: _Lane) -> None:
        """A shared thread's turn at the lane: one request, if one still waits (the
        coordinator may have taken it back)."""
        try:
            job = lane.jobs.get_nowait()
        except Empty:
            return
        if job is not None:
            self._do(lane, *job)

    def _do(self, lane: _Lane, hook: Webhook, delivery: Delivery) -> None:
        live = self._live.webhook(hook.name)
        if self._closing.is_set() or live is None or not live.enabled:
            attempt = None
        else:
            attempt = self._send(hook, delivery)
        self._answers.put(_Returned(lane, hook, delivery, attempt))
        self._signal.set()
        if self._answers.qsize() >= BATCH or lane.jobs.empty() or \
                (attempt is not None and attempt.disable):
            self._urgent.set()

    def _join_pooled(self, lanes: list[_Lane]) -> None:
        """The shared threads' requests of these lanes end (answered or cut) within
        CUT_GRACE; what they send after that is not recorded."""
        assert self._pool is not None
        deadline = time.monotonic() + CUT_GRACE
        while any(self._pool.in_flight(lane) for lane in lanes) and \
                time.monotonic() < deadline:
            time.sleep(0.01)  # a poll with a deadline: the pool's threads are not ours

    def _send(self, hook: Webhook, delivery: Delivery) -> Attempt:
        event = delivery.event
        started = self._clock()
        try:
            return self._sender.send(hook, event.event_id, event.name, body(event))
        except Exception as exc:  # a bug, not an answer: recorded as a failed attempt
            log.exception("%s: delivery #%d failed unexpectedly", hook.name, delivery.id)
            return Attempt(started, None, 0.0, f"internal error: {type(exc).__name__}: {exc}",
                           b"")

    # -- the store and the clocks ---------------------------------------------------------

    def _lane(self, hook: Webhook) -> _Lane:
        lane = self._lanes.get(hook.name)
        if lane is None:
            lane = self._lanes[hook.name] = _Lane(hook)
        elif lane.hook is not hook:
            self._resize(lane, hook)
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


def _made(returned: _Returned) -> Attempt:
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
