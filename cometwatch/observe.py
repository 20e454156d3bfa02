"""What the dispatcher tells an observer (metrics) about the deliveries it makes.

The dispatcher calls an Observer from the one thread that records the answers, once an
attempt's answer is recorded (never from a worker in the middle of a request), so an observer
needs no lock of its own against the dispatcher; it must be quick and must not raise (what it
raises is logged and the delivery goes on). `NO_OBSERVER` does nothing, the default.
"""

from __future__ import annotations

from typing import Literal, Protocol

# What one attempt came to, as metrics group it: the HTTP status class of the answer, or no
# answer at all (a timeout, or any other error: refused, reset, TLS, DNS).
ResultClass = Literal["2xx", "3xx", "4xx", "5xx", "timeout", "error"]


class Observer(Protocol):
    def attempt(self, webhook: str, result_class: ResultClass, seconds: float) -> None:
        """An attempt was recorded: its webhook, what it came to, how long it took."""

    def settled(self, webhook: str, status: str) -> None:
        """A delivery reached a state after an attempt (a DeliveryStatus value: ok, failed
        = a retry is scheduled, dead)."""

    def first_success(self, webhook: str, commit_time: float, now: float) -> None:
        """A delivery's first successful attempt: `commit_time` is when its event occurred
        (the commit's time, or the scheduled moment), `now` when the answer was recorded; the
        difference is the commit-to-webhook latency."""


class _Nothing:
    def attempt(self, webhook: str, result_class: ResultClass, seconds: float) -> None:
        pass

    def settled(self, webhook: str, status: str) -> None:
        pass

    def first_success(self, webhook: str, commit_time: float, now: float) -> None:
        pass


NO_OBSERVER: Observer = _Nothing()


def result_class(code: int | None, timed_out: bool) -> ResultClass:
    """An attempt's HTTP status (None: no answer) as the class metrics count it under."""
    if code is None:
        return "timeout" if timed_out else "error"
    if 200 <= code < 300:
        return "2xx"
    if 300 <= code < 400:
        return "3xx"
    if 400 <= code < 500:
        return "4xx"
    return "5xx"  # 5xx, and any status outside 100-599 an endpoint made up
