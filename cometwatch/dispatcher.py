"""Which deliveries go out when: per-entry order, in-flight limits, coalescing, retries.

The coordinator (the thread calling `run`, `drain` or `send_due_once`) asks the store, per
webhook, for a page of due deliveries that head their entry's queue, and hands them to that
webhook's lane: worker threads of its own that only send. A recorder thread
(cometwatch.recorder), with its own SQLite connection, writes the answered attempts in batches
and schedules the retries; a delivery counts as in flight until its attempt is recorded, so its
entry's next event is never sent before it. A slow or dead endpoint only ever fills its own
lane. `close(timeout)` lets the requests in flight be answered, cuts the rest (left due) and
joins every thread.

One process dispatches from a state file at a time (an flock next to it): a `scan` from cron
while the daemon runs stores its events and leaves the sending to the daemon, so nothing is
sent twice by two senders racing.
"""

from __future__ import annotations

import fcntl
import logging
import random
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from queue import SimpleQueue
from typing import IO, TYPE_CHECKING

from cometwatch.config import Config, Webhook
from cometwatch.errors import CometwatchError, StateError
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
from cometwatch.recorder import Answered, Recorder
from cometwatch.retry import next_attempt_at
from cometwatch.store import Store
from cometwatch.utc import iso as utc_iso

if TYPE_CHECKING:
    from cometwatch.delivery import Sender

log = logging.getLogger("cometwatch.dispatch")

PAGE = 100  # due deliveries read per query: a backlog is never loaded whole
IDLE_POLL = 1.0  # seconds: a replay or a scan by another process is picked up this soon
PURGE_EVERY = 3600.0
RETRY_STATE = 5.0  # seconds before the daemon's loop reads a failing state database again
CUT_GRACE = 0.5  # seconds close() gives the workers of cut requests to end


class _Lane:
    """One webhook's workers and what they hold."""

    def __init__(self, hook: Webhook) -> None:
        self.hook = hook
        self.jobs: SimpleQueue[tuple[Webhook, Delivery] | None] = SimpleQueue()
        self.threads = 0
        self.in_flight: set[int] = set()  # handed to a worker and not recorded yet
        self.retired = False  # closed: whatever its workers still bring back is not recorded
        self.sending = 0  # of those, requests not answered yet: what max_in_flight limits
        # Settled since the last query started: that query's snapshot may predate the commit.
        self.settled: set[int] = set()
        self.buffer: deque[Delivery] = deque()  # due heads of distinct entries, not sent yet


class Dispatcher:
    def __init__(self, config: Config, store_path: Path, sender: Sender,
                 clock: Callable[[], float] = time.time,
                 rand: Callable[[], float] = random.random,
                 observer: Observer = NO_OBSERVER) -> None:
        self._config = config
        self._observer = observer
        self._path = store_path
        self._sender = sender
        self._clock = clock
        self._rand = rand
        self._cond = threading.Condition()
        self._writer = threading.RLock()  # this process's SQLite writes, one at a time
        self._recorder = Recorder(store_path, self._writer, self._cond, self._sending,
                                  self._recorded)
        self._stopping = False  # close() has begun: nothing more is handed out
        self._workers: list[threading.Thread] = []
        self._lanes: dict[str, _Lane] = {}
        self._local = threading.local()
        self._lock: IO[bytes] | None = None
        self._signal = threading.Event()  # set by workers when an attempt is settled
        self._purged_at = float("-inf")
        self._disabled: tuple[float, set[str]] = (float("-inf"), set())  # (read at, names)
        self._tell_held = True  # say which open deliveries wait for a webhook not configured
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
                    self._pump(now)
                    delay = self._idle_delay(now)
                except CometwatchError as exc:  # a locked or full disk: try again shortly
                    log.error("delivering: %s; trying again in %.0f s", exc, RETRY_STATE)
                    delay = RETRY_STATE
                wake.wait(delay)
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
        with self._cond:
            self._config = config
            self._tell_held = True
            self._idle_lanes(config)

    def close(self, timeout: float = 0.0) -> None:
        """Stop: hand out nothing more, give the requests in flight `timeout` seconds to be
        answered, record the answers, and cut the requests still waiting after that. A cut
        request is not recorded: its delivery stays open and is sent again by the next
        dispatcher (at-least-once; the receiver may have seen it). Every thread is joined (a
        worker still resolving or connecting is left after CUT_GRACE), then this thread's
        connection is closed and another process may dispatch. The dispatcher can be used
        again afterwards."""
        with self._cond:
            self._stopping = True
            for lane in self._lanes.values():
                lane.buffer.clear()
            self._cond.wait_for(lambda: not self._sending(), timeout)
            cut = self._sending()
            lanes, self._lanes = list(self._lanes.values()), {}
            for lane in lanes:  # what their workers bring back from now on is dropped
                lane.retired = True
                for _ in range(lane.threads):
                    lane.jobs.put(None)
            workers, self._workers = self._workers, []
        if cut:
            log.warning("stopping with %d %s unanswered%s: cut, %s due and %s sent again "
                        "next time", cut, noun(cut, "request"),
                        f" after {timeout:g} s" if timeout else "",
                        "it stays" if cut == 1 else "they stay", "is" if cut == 1 else "are")
            self._sender.abort()
        self._join(workers)
        self._recorder.stop()
        with self._cond:
            self._stopping = False
        store = getattr(self._local, "store", None)
        if store is not None:
            store.close()
            self._local.store = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

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
            self._pump(now)
            if self._flying():
                delay = IDLE_POLL
            else:  # nothing in flight after a pump: nothing is due now
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
            signal.wait(max(delay, 0.0))
        return self.settled - start

    def _pump(self, now: float) -> None:
        store = self._store()
        disabled = self._disabled_webhooks(store)
        with self._cond:
            config, tell, self._tell_held = self._config, self._tell_held, False
            hooks = config.webhooks
        if tell:
            self._tell_held_deliveries(store, config)
        for hook in hooks:
            lane = self._lane(hook)
            if not hook.enabled or hook.name in disabled:
                with self._cond:
                    lane.buffer.clear()
                continue
            if hook.coalesce:
                self._pump_coalescing(store, lane, hook, now)
            else:
                self._pump_lane(store, lane, hook, now)
        with self._cond:
            if self._config is not config:  # reloaded meanwhile: undo what this pump read
                self._idle_lanes(self._config)

    def _pump_lane(self, store: Store, lane: _Lane, hook: Webhook, now: float) -> None:
        with self._cond:
            room = hook.max_in_flight - lane.sending
            refill = room > 0 and not lane.buffer
            if refill:
                lane.settled.clear()
        if room <= 0:
            return
        for _ in range(5 if refill else 0):
            rows = store.due(hook.name, now, PAGE)
            with self._cond:
                # A delivery recorded since the query started: the query's snapshot may
                # predate that commit, and so miss the deliveries it unblocked. Ask again.
                stale = any(row.id in lane.settled for row in rows)
                lane.settled.clear()
                if not stale:
                    lane.buffer.extend(row for row in rows if row.id not in lane.in_flight)
                    break
        while room > 0:
            with self._cond:
                if not lane.buffer:
                    return
                delivery = lane.buffer.popleft()
            self._submit(lane, hook, delivery, threads=hook.max_in_flight)
            room -= 1

    def _pump_coalescing(self, store: Store, lane: _Lane, hook: Webhook, now: float) -> None:
        """At most one request in flight; the newest open delivery carries the burst. A
        redelivered one goes first, by itself: `redeliver` asked for that one, now."""
        with self._cond:
            if lane.in_flight:
                return
        alone = store.due_alone(hook.name, now)
        if alone is not None:
            self._submit(lane, hook, alone, threads=1)
            return
        latest = store.latest_open(hook.name)
        if latest is None or latest.next_at is None or latest.next_at > now:
            return
        merged = store.coalesce(hook.name, latest.id, now)
        if merged:
            log.info("%s: %d %s coalesced into #%d (%s)", hook.name, merged,
                     noun(merged, "delivery", "deliveries"), latest.id, latest.event.name)
        self._submit(lane, hook, latest, threads=1)

    def _submit(self, lane: _Lane, hook: Webhook, delivery: Delivery, threads: int) -> None:
        with self._cond:
            if self._stopping:
                return
            lane.in_flight.add(delivery.id)
            lane.sending += 1
            # A thread per request handed out, up to the limit: never more than the work.
            while lane.threads < min(threads, lane.sending):
                lane.threads += 1
                worker = threading.Thread(target=self._work, args=(lane,), daemon=True,
                                          name=f"cometwatch-{hook.name}-{lane.threads}")
                worker.start()
                self._workers = [w for w in self._workers if w.is_alive()] + [worker]
        lane.jobs.put((hook, delivery))

    def _idle_lanes(self, config: Config) -> None:
        """Hand out nothing more to a webhook gone from the config or off in it (what was
        read for it stays open in the store) and let its idle workers end. Holding _cond."""
        for name, lane in self._lanes.items():
            hook = config.webhook(name)
            if hook is not None and hook.enabled:
                continue
            lane.buffer.clear()
            for _ in range(lane.threads):
                lane.jobs.put(None)
            lane.threads = 0

    @staticmethod
    def _tell_held_deliveries(store: Store, config: Config) -> None:
        for name, count in sorted(store.open_counts().items()):
            why = held(name, config.webhook(name))
            if why:
                log.warning("%d open %s for webhook %r, %s", count,
                            noun(count, "delivery", "deliveries"), name, why)

    def _disabled_webhooks(self, store: Store) -> set[str]:
        # Read at most once a second: `webhooks disable` from another process is seen that
        # soon; a disable by one of our workers resets it at once.
        read_at, names = self._disabled
        moment = time.monotonic()
        if moment - read_at >= IDLE_POLL:
            names = store.disabled_webhooks()
            self._disabled = (moment, names)
        return names

    def _flying(self) -> int:
        with self._cond:
            return sum(len(lane.in_flight) for lane in self._lanes.values())

    def _lane(self, hook: Webhook) -> _Lane:
        with self._cond:
            lane = self._lanes.get(hook.name)
            if lane is None:
                lane = self._lanes[hook.name] = _Lane(hook)
            lane.hook = hook
            return lane

    def _active(self) -> list[str]:
        with self._cond:
            return [hook.name for hook in self._config.webhooks if hook.enabled]

    def _next_due(self, now: float, fresh_only: bool) -> float | None:
        return self._store().next_due(self._active(), now, fresh_only=fresh_only)

    def _idle_delay(self, now: float) -> float:
        later = self._next_due(now, fresh_only=False)
        return IDLE_POLL if later is None else min(max(later - now, 0.0), IDLE_POLL)

    def _sending(self) -> int:
        """Requests handed to workers and not answered yet. Holding _cond."""
        return sum(lane.sending for lane in self._lanes.values())

    def _maybe_purge(self, now: float) -> None:
        if now - self._purged_at < PURGE_EVERY:
            return
        self._purged_at = now
        purged = self._store().purge(now - self._config.delivery.dead_retention)
        if purged:
            log.info("purged %d settled %s older than the retention", purged,
                     noun(purged, "delivery", "deliveries"))

    def _store(self) -> Store:
        store: Store | None = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store.open(self._path, writer=self._writer)
        return store

    def _acquire(self) -> bool:
        """Become the one process sending from this state file; False while another is."""
        if self._lock is not None:
            return True
        path = self._path.with_name(self._path.name + ".lock")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = path.open("ab")
        except OSError as exc:
            raise StateError(f"{path}: cannot open the dispatch lock: {exc.strerror}") from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        except OSError as exc:
            handle.close()
            raise StateError(f"{path}: cannot lock: {exc.strerror}") from exc
        self._lock = handle
        self.busy = False
        return True

    # -- the workers and the recorder ---------------------------------------------------

    def _work(self, lane: _Lane) -> None:
        job: tuple[Webhook, Delivery] | None = None
        while True:
            if job is None:
                job = lane.jobs.get()
                if job is None:
                    return
                if self._withdrawn(lane, job[1]):
                    job = None
                    continue
            hook, delivery = job
            try:
                result = self._deliver(lane, hook, delivery)
                if result is None:  # cut by a stop: no attempt, it stays due
                    self._withdraw(lane, delivery)
                    job = None
                    continue
            except Exception as exc:  # a bug, not an answer: recorded as a failed attempt
                log.exception("%s: delivery #%d failed unexpectedly", hook.name, delivery.id)
                now = self._clock()
                retry = next_attempt_at(hook.retry_schedule, delivery.tries + 1, now, None,
                                        self._rand)
                error = f"internal error: {type(exc).__name__}: {exc}"
                result = Answered(lane, hook, delivery, Attempt(now, None, 0.0, error, b""),
                                 Verdict(DeliveryStatus.DEAD if retry is None else
                                         DeliveryStatus.FAILED, retry, None), error, now)
            job = self._answered(lane, result)

    def _deliver(self, lane: _Lane, hook: Webhook, delivery: Delivery) -> Answered | None:
        event = delivery.event
        started = self._clock()
        outcome = self._sender.send(hook, event.event_id, event.name, body(event))
        if outcome.cut:
            return None
        now = self._clock()
        verdict = judge(hook, delivery, outcome, now, self._rand)
        attempt = Attempt(started, outcome.status, outcome.duration, outcome.error,
                          outcome.answer)
        return Answered(lane, hook, delivery, attempt, verdict,
                        outcome.error or str(outcome.status), now, outcome.timed_out)

    def _withdrawn(self, lane: _Lane, delivery: Delivery) -> bool:
        """A job still queued when close() began is not sent: it stays open."""
        with self._cond:
            if not (self._stopping or lane.retired):
                return False
        self._withdraw(lane, delivery)
        return True

    def _withdraw(self, lane: _Lane, delivery: Delivery) -> None:
        with self._cond:
            lane.sending -= 1
            lane.in_flight.discard(delivery.id)
            self._cond.notify_all()

    def _answered(self, lane: _Lane, result: Answered) -> tuple[Webhook, Delivery] | None:
        """Hand the result to the recorder (which wakes close() too when nothing is being
        sent any more), and the request slot to the next buffered
        delivery (another entry's: the buffer holds heads of distinct entries), which this
        worker sends next itself. The delivery answered stays in flight until its attempt is
        recorded."""
        mine: tuple[Webhook, Delivery] | None = None
        with self._cond:
            lane.sending -= 1
            if lane.retired:  # cut at close(): not recorded, its delivery stays open
                lane.in_flight.discard(result.delivery.id)
                return None
            self._recorder.add(result)
            hook = lane.hook
            if result.verdict.disable:  # 410: nothing more goes there
                lane.buffer.clear()
            while (lane.buffer and not hook.coalesce and hook.enabled and not self._stopping
                   and lane.sending < hook.max_in_flight):
                delivery = lane.buffer.popleft()
                lane.in_flight.add(delivery.id)
                lane.sending += 1
                if mine is None:
                    mine = (hook, delivery)
                else:
                    lane.jobs.put((hook, delivery))
            refill = not lane.buffer
        if refill:
            self._signal.set()
        return mine

    def _recorded(self, batch: list[Answered], store: Store | None,
                  states: dict[str, WebhookState] | None) -> None:
        """After a batch, in the recorder's thread: disable a webhook that asked for it or has
        failed too long, then release the deliveries. Only once recorded does a due query see
        them settled (and their entries' next events due); unrecorded, they stay due."""
        try:
            if store is not None and states is not None:
                self._observe(batch)
                self._disable_failing(store, batch, states)
        except CometwatchError as exc:
            log.error("disabling a webhook: %s", exc)
        except Exception:
            log.exception("disabling a webhook failed unexpectedly")
        finally:
            with self._cond:
                for result in batch:
                    result.lane.in_flight.discard(result.delivery.id)
                    result.lane.settled.add(result.delivery.id)
                    if states is not None:
                        self.settled += 1
                        self.outcomes[result.verdict.status.value] += 1
                # The coordinator is needed when a lane has nothing buffered (the next events
                # of these entries may be due now) or may send its next coalesced burst.
                needed = any(not r.lane.buffer or r.hook.coalesce for r in batch)
            if needed:
                self._signal.set()

    def _observe(self, batch: list[Answered]) -> None:
        try:
            for result in batch:
                name, attempt = result.hook.name, result.attempt
                self._observer.attempt(name, result_class(attempt.code, result.timed_out),
                                       attempt.duration)
                self._observer.settled(name, result.verdict.status.value)
                if result.verdict.status is DeliveryStatus.OK and result.delivery.retry_base == 0:
                    self._observer.first_success(name, result.delivery.event.occurred_at,
                                                 result.now)
        except Exception:  # metrics never stop a delivery
            log.exception("the delivery observer failed")

    def _disable_failing(self, store: Store, batch: list[Answered],
                         states: dict[str, WebhookState]) -> None:
        for result in batch:
            state = states[result.hook.name]
            reason = result.verdict.disable or failing_too_long(result.hook, state, result.now)
            if reason and state.disabled_at is None:
                # what it missed: since its first failure after the last success
                since = min(state.failing_since or result.attempt.started_at,
                            result.attempt.started_at)
                self._disable(store, result.hook.name, reason, result.now, since)
                states[result.hook.name] = replace(state, disabled_at=result.now)

    def _disable(self, store: Store, name: str, reason: str, now: float, since: float) -> None:
        skipped = store.disable_webhook(name, reason, now)
        with self._cond:
            lane = self._lanes.get(name)
            if lane is not None:
                lane.buffer.clear()
            self._disabled = (float("-inf"), set())
        log.warning("webhook %s disabled: %s; %d open %s skipped (`cometwatch webhooks enable "
                    "%s` turns it back on, then `cometwatch recover --webhook %s --since %s` "
                    "sends them)", name, reason, skipped,
                    noun(skipped, "delivery", "deliveries"), name, name, utc_iso(since))


