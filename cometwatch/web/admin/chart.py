"""Pure: a webhook's last 24 hours as the geometry of a small SVG picture.

Per hour, a stacked bar of the deliveries made in it by what became of them (ok; open: pending
or waiting for a retry; dead; set aside: skipped or coalesced), and a line of the slowest
attempt's duration. The template draws it (autoescaped, no script, classes styled by the page's
CSS), so no chart library runs anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

HOURS = 24
WIDTH, HEIGHT = 480, 120
BAR_AREA = 90  # px of HEIGHT for the bars (under a 14 px scale line); then the hour labels
OUTCOMES = ("ok", "open", "dead", "aside")
_OUTCOME_OF = {"ok": "ok", "pending": "open", "failed": "open", "dead": "dead",
               "skipped": "aside", "coalesced": "aside"}


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    outcome: str  # a CSS class


@dataclass(frozen=True, slots=True)
class Hour:
    label: str  # "09:00"
    x: float
    counts: dict[str, int]
    slowest: float | None  # seconds
    title: str  # what a screen reader (and a hover) says of this hour


@dataclass(frozen=True, slots=True)
class Picture:
    width: int
    height: int
    bars: tuple[Bar, ...]
    hours: tuple[Hour, ...]
    latency: str  # polyline points; "" without attempts
    most: int  # deliveries of the busiest hour (the bars' scale)
    slowest: float  # seconds (the line's scale)
    summary: str  # one sentence for the picture's <desc>


def picture(deliveries: Iterable[tuple[float, str]], attempts: Iterable[tuple[float, float]],
            now: float) -> Picture:
    """`deliveries`: (created_at, status); `attempts`: (started_at, duration); of one webhook,
    from the last 24 hours before `now`."""
    start = (int(now) // 3600 - HOURS + 1) * 3600  # the oldest hour shown, whole
    counts = [dict.fromkeys(OUTCOMES, 0) for _ in range(HOURS)]
    slowest: list[float | None] = [None] * HOURS
    for created, status in deliveries:
        slot = int(created - start) // 3600
        if 0 <= slot < HOURS:
            counts[slot][_OUTCOME_OF.get(status, "open")] += 1
    for started, duration in attempts:
        slot = int(started - start) // 3600
        if 0 <= slot < HOURS:
            held = slowest[slot]
            slowest[slot] = duration if held is None else max(held, duration)
    most = max((sum(c.values()) for c in counts), default=0)
    top = max((s for s in slowest if s is not None), default=0.0)
    step = WIDTH / HOURS
    bars: list[Bar] = []
    hours: list[Hour] = []
    points: list[str] = []
    for slot in range(HOURS):
        x = slot * step
        base = float(BAR_AREA)
        for outcome in OUTCOMES:
            n = counts[slot][outcome]
            if n and most:
                height = n / most * (BAR_AREA - 16)
                base -= height
                bars.append(Bar(round(x + 2, 1), round(base, 1), round(step - 4, 1),
                                round(height, 1), outcome))
        label = datetime.fromtimestamp(start + slot * 3600, tz=UTC).strftime("%H:00")
        took = slowest[slot]
        if took is not None and top:
            y = BAR_AREA - took / top * (BAR_AREA - 16)
            points.append(f"{x + step / 2:.1f},{y:.1f}")
        said = ", ".join(f"{n} {outcome}" for outcome, n in counts[slot].items() if n)
        title = f"{label} UTC: " + (said or "no deliveries") + (
            f"; slowest attempt {_ms(took)}" if took is not None else "")
        hours.append(Hour(label, round(x, 1), counts[slot], took, title))
    total = {outcome: sum(c[outcome] for c in counts) for outcome in OUTCOMES}
    summary = ("Last 24 hours: " + (", ".join(f"{n} {o}" for o, n in total.items() if n)
                                    or "no deliveries")
               + (f"; slowest attempt {_ms(top)}" if top else "") + ".")
    return Picture(WIDTH, HEIGHT, tuple(bars), tuple(hours), " ".join(points), most, top,
                   summary)


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"
