"""The dispatcher's recorder: a thread that writes answered attempts in batches.

A delivery counts as in flight until its attempt is recorded, so that its entry's next event is
never sent before it. One transaction for many attempts costs a fraction of one each: the
recorder gathers the answers on their way (up to BATCH of them, for at most BATCH_WINDOW, and
only while requests are still being answered) while the workers send the next requests. It
shares the dispatcher's condition, under which the workers add answers and count the requests
they are sending; a worker wakes it only when it may stop gathering, not at every answer (that
cost a thread switch per delivery).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cometwatch.config import Webhook
from cometwatch.errors import CometwatchError
from cometwatch.outbox import Attempt, Delivery, DeliveryStatus, Settled, Verdict, WebhookState
from cometwatch.store import Store
from cometwatch.utc import iso as utc_iso

log = logging.getLogger("cometwatch.dispatch")

BATCH, BATCH_WINDOW = 64, 0.003  # attempts recorded together; how long the recorder gathers
CLOSE_TIMEOUT = 10.0  # seconds stop() gives the recorder to write what was answered


@dataclass(frozen=True, slots=True)
class Answered:
    """One attempt made, on its way to the state database."""

    lane: Any  # the dispatcher's lane: the delivery is in flight there until recorded
    hook: Webhook
    delivery: Delivery
    attempt: Attempt
    verdict: Verdict
    answer: str  # the error, or the status code, for the log
    now: float
    timed_out: bool = False  # no answer within the webhook's timeout


# After each batch, in the recorder's thread: the batch, the recorder's store (for what follows,
# such as disabling a webhook) and the webhooks' states, both None when the batch could not be
# recorded (its deliveries stay due).
Recorded = Callable[[list[Answered], Store | None, dict[str, WebhookState] | None], None]


class Recorder:
    def __init__(self, path: Path, writer: threading.RLock, cond: threading.Condition,
                 sending: Callable[[], int], recorded: Recorded) -> None:
        self._path = path
        self._writer = writer
        self._cond = cond
        self._sending = sending  # requests not answered yet, counted holding cond
        self._recorded = recorded
        self._answers: list[Answered] = []
        self._waiting = threading.Event()  # set when answers wait
        self._thread: threading.Thread | None = None
        self._closing = False
        self._store: Store | None = None  # the thread's own connection

    def add(self, answered: Answered) -> None:
        """Queue an answer (holding the dispatcher's condition)."""
        self._answers.append(answered)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name="cometwatch-recorder")
            self._thread.start()
        if len(self._answers) >= BATCH or not self._sending():
            self._cond.notify_all()
        self._waiting.set()

    def stop(self) -> None:
        """Write what was answered and end the thread; call without the condition held."""
        with self._cond:
            thread, self._thread = self._thread, None
            self._closing = thread is not None
            self._cond.notify_all()
        if thread is None:
            return
        self._waiting.set()
        thread.join(CLOSE_TIMEOUT)
        if thread.is_alive():
            log.warning("the answers of the last requests are still being recorded (the "
                        "state database is busy)")
        with self._cond:
            self._closing = False

    def _run(self) -> None:
        closing = False
        try:
            while True:
                if not closing:
                    self._waiting.wait()
                self._waiting.clear()
                with self._cond:
                    self._cond.wait_for(lambda: self._closing or len(self._answers) >= BATCH
                                        or not self._sending(), BATCH_WINDOW)
                    batch, self._answers = self._answers, []
                    closing = self._closing
                if batch:
                    self._write(batch)
                elif closing:
                    return
        finally:
            if self._store is not None:
                self._store.close()
                self._store = None

    def _write(self, batch: list[Answered]) -> None:
        states = None
        try:
            if self._store is None:  # its own connection, in its own thread
                self._store = Store.open(self._path, writer=self._writer)
            states = self._store.record_many([Settled(a.delivery, a.attempt, a.verdict.status,
                                                      a.verdict.next_at) for a in batch])
            for answered in batch:
                report(answered)
        except CometwatchError as exc:
            log.error("recording %d attempts: %s", len(batch), exc)
        except Exception:
            log.exception("recording %d attempts failed unexpectedly", len(batch))
        finally:
            self._recorded(batch, self._store, states)


def report(answered: Answered) -> None:
    """One log line for a recorded attempt (a success only with -v)."""
    event, verdict, delivery = answered.delivery.event, answered.verdict, answered.delivery
    if verdict.status is DeliveryStatus.OK and not log.isEnabledFor(logging.DEBUG):
        return
    what = f"{answered.hook.name}: #{delivery.id} {event.name} {event.collection}/{event.slug}"
    if verdict.status is DeliveryStatus.OK:
        log.debug("%s: %s in %.0f ms", what, answered.attempt.code,
                  answered.attempt.duration * 1000)
    elif verdict.status is DeliveryStatus.FAILED:
        assert verdict.next_at is not None
        log.info("%s: %s; attempt %d, next at %s", what, answered.answer, delivery.tries + 1,
                 utc_iso(verdict.next_at))
    else:
        log.warning("%s: %s; dead after %d attempts (`cometwatch redeliver %d` sends it "
                    "again)", what, answered.answer, delivery.tries + 1, delivery.id)
