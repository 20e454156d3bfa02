"""Delivery threads shared by many dispatchers (the sites of a fleet), fair per webhook.

One daemon per site gives every webhook threads of its own. A fleet of a hundred sites would
keep hundreds of them idle, so its dispatchers hand their requests to one SendPool instead: a
fixed set of threads that take the lanes (one per webhook of each site) in turn. A thread
takes the next lane, round robin, that has a request waiting and fewer than its limit
(max_in_flight) in flight, so a site with a backlog of thousands holds at most its limit of
threads and every other webhook still gets its turn at once.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger("cometwatch.dispatch")

DEFAULT_THREADS = 16


@dataclass(slots=True)
class _Lane:
    run: Callable[[], None]  # sends the lane's next request, if it still has one
    limit: int
    waiting: int = 0
    running: int = 0


class SendPool:
    def __init__(self, threads: int = DEFAULT_THREADS) -> None:
        self._size = max(threads, 1)
        self._cond = threading.Condition()
        self._lanes: dict[object, _Lane] = {}
        self._turns: deque[object] = deque()  # lanes with a request waiting, in turn order
        self._threads: list[threading.Thread] = []
        self._closed = False

    def submit(self, key: object, limit: int, run: Callable[[], None]) -> None:
        """One more request waits in the lane `key`; `run()` sends one (from a pool thread)
        and must not raise. Threads start as work needs them, up to the pool's size."""
        with self._cond:
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = _Lane(run, max(limit, 1))
            lane.run, lane.limit = run, max(limit, 1)
            lane.waiting += 1
            if key not in self._turns:
                self._turns.append(key)
            # As many threads as requests could run at once now, up to the pool's size.
            wanted = sum(min(entry.waiting + entry.running, entry.limit)
                         for entry in self._lanes.values())
            while len(self._threads) < min(self._size, wanted):
                thread = threading.Thread(target=self._work, daemon=True,
                                          name=f"cometwatch-send-{len(self._threads) + 1}")
                self._threads.append(thread)
                thread.start()
            self._cond.notify()

    def forget(self, key: object) -> None:
        """The lane's queued requests were taken back (its dispatcher stopped, its webhook
        went): drop what still waits; requests running finish."""
        with self._cond:
            lane = self._lanes.get(key)
            if lane is None:
                return
            lane.waiting = 0
            if key in self._turns:
                self._turns.remove(key)
            if not lane.running:
                del self._lanes[key]

    def in_flight(self, key: object) -> int:
        with self._cond:
            lane = self._lanes.get(key)
            return lane.running if lane else 0

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def _next(self) -> tuple[object, _Lane] | None:
        """The next lane in turn that may run one more request (called holding the lock)."""
        for _ in range(len(self._turns)):
            key = self._turns.popleft()
            lane = self._lanes[key]
            if lane.running < lane.limit:
                lane.waiting -= 1
                lane.running += 1
                if lane.waiting > 0:
                    self._turns.append(key)  # back of the line: the others go first
                return key, lane
            self._turns.append(key)  # at its limit: it waits its next turn
        return None

    def _work(self) -> None:
        while True:
            with self._cond:
                chosen = self._next()
                while chosen is None:
                    if self._closed:
                        return
                    self._cond.wait()
                    chosen = self._next()
            key, lane = chosen
            try:
                lane.run()
            except Exception:  # run() must not raise; if it does, the pool goes on
                log.exception("a delivery thread failed unexpectedly")
            finally:
                with self._cond:
                    lane.running -= 1
                    if not lane.running and not lane.waiting and key not in self._turns:
                        self._lanes.pop(key, None)
                    self._cond.notify_all()
