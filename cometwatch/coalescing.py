"""Pure: the coalescing rule of a build hook, decided here and nowhere else.

A webhook with `coalesce = "30s"` gets a burst of deliveries as one request. Its fresh
deliveries (pending, never attempted, not redelivered) all fall due together: `window` after
the newest, but no later than `max_wait` after the oldest (without `max_wait`, `window` after
the oldest: max_wait = window). When the burst is due, the newest open delivery carries it and
the older open ones are settled as coalesced into it. A delivery `redeliver` reopened goes
first and by itself, never merged: it was asked for, now. At most one request is in flight.

The scanner asks `windows` which webhooks coalesce, the store sets `burst_due` on their fresh
deliveries when it stores a scan, and the dispatcher asks `next_request` what to send.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple, Protocol, TypeVar


class Window(NamedTuple):
    window: float  # seconds after the newest fresh delivery
    max_wait: float  # seconds after the oldest, at most


class _Coalescing(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def coalesce(self) -> float | None: ...
    @property
    def max_wait(self) -> float | None: ...


def windows(hooks: Iterable[_Coalescing]) -> dict[str, Window]:
    """The coalescing webhooks among `hooks`, by name, with their windows."""
    return {hook.name: Window(hook.coalesce, hook.coalesce if hook.max_wait is None
                              else hook.max_wait)
            for hook in hooks if hook.coalesce}


def burst_due(oldest: float, newest: float, window: Window) -> float:
    """When a burst whose fresh deliveries were stored from `oldest` to `newest` goes out."""
    return min(newest + window.window, oldest + window.max_wait)


D = TypeVar("D")


def next_request(alone: D | None, latest: D | None, latest_due: float | None,
                 now: float) -> tuple[D, bool] | None:
    """What a coalescing webhook sends now, with nothing in flight: a redelivered delivery due
    (`alone`) by itself, else the newest open one (`latest`, due at `latest_due`) once due,
    carrying the burst; the bool says whether the older open ones are coalesced into it."""
    if alone is not None:
        return alone, False
    if latest is None or latest_due is None or latest_due > now:
        return None
    return latest, True
