"""Pure: when a failed delivery is tried again, what a `Retry-After` answer asks for, and
when a webhook that keeps failing is disabled.

A schedule is the delay before each attempt, the first one included: the default
(0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h) is ten attempts over about three days.
Each delay is spread by ±20 % so that a receiver coming back after an outage is not hit by every
retry of the backlog in the same second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC
from email.utils import parsedate_to_datetime

JITTER = 0.2  # each scheduled delay is drawn from [delay × 0.8, delay × 1.2]
MAX_RETRY_AFTER = 6 * 3600.0  # a receiver may ask us to wait, but not to drop out for a day


def next_attempt_at(schedule: tuple[float, ...], attempts_made: int, now: float,
                    retry_after: float | None, rand: Callable[[], float]) -> float | None:
    """When to try again after `attempts_made` attempts have failed, the last one at `now`.

    `schedule[attempts_made]` is the delay before the next attempt, jittered with `rand()`
    (uniform in [0, 1): 0.5 is the delay itself). A `retry_after` (seconds, from a 429 or 503)
    wins when it is later, capped at six hours. None: no attempts are left, the delivery is dead.
    """
    if attempts_made < 0:
        raise ValueError(f"attempts_made must be 0 or more, not {attempts_made}")
    if attempts_made >= len(schedule):
        return None
    delay = schedule[attempts_made] * (1.0 + JITTER * (2.0 * rand() - 1.0))
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, 0.0), MAX_RETRY_AFTER))
    return now + delay


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """A `Retry-After` header (delay-seconds or an HTTP date) → seconds from `now`, capped at
    six hours; None when absent or unreadable (then the schedule alone decides)."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        seconds = float(text)
    else:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if moment.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
            moment = moment.replace(tzinfo=UTC)
        try:
            seconds = moment.timestamp() - now
        except (OverflowError, OSError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


# -- a webhook's health: when it has failed for too long ------------------------------------

def health_after(failing_since: float | None, last_success: float | None,
                 attempts: Iterable[tuple[float, bool]]) -> tuple[float | None, float | None]:
    """A webhook's (failing since, last success) after `attempts` (started at, succeeded),
    in the order they were made: a success ends the failure streak, the first failure after
    one starts it."""
    for started_at, succeeded in attempts:
        if succeeded:
            failing_since = None
            last_success = started_at if last_success is None else max(last_success,
                                                                        started_at)
        elif failing_since is None:
            failing_since = started_at
    return failing_since, last_success


def failing_too_long(failing_since: float | None, disable_after: float, now: float) -> bool:
    """Whether a webhook failing since `failing_since`, without one success, is to be
    disabled: it has been so for `disable_after` seconds (0: never)."""
    return failing_since is not None and disable_after > 0 and \
        now - failing_since >= disable_after


# -- a task that keeps failing (the daemon's scans, fetches, opening the repository) ------

FIRST_RETRY = 0.5  # seconds before a failed task is tried again; doubles


class Backoff:
    """How long to wait after each failure in a row: FIRST_RETRY, doubling, up to a cap; and
    whether a failure's message is new (worth telling) or the same as the last one's."""

    def __init__(self) -> None:
        self.failures = 0
        self._last = ""

    def failed(self, message: str, cap: float) -> tuple[float, bool]:
        self.failures += 1
        delay = min(FIRST_RETRY * 2.0 ** min(self.failures - 1, 30), max(cap, FIRST_RETRY))
        new, self._last = message != self._last, message
        return delay, new

    def succeeded(self) -> int:
        """The task works again; returns how many failures there were in a row."""
        failures, self.failures, self._last = self.failures, 0, ""
        return failures
