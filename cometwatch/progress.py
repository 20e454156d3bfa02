"""What people read of long work: a progress line for backfills (on a terminal only, quiet
otherwise), and counts with their nouns."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def noun(count: int, singular: str, plural: str | None = None) -> str:
    """The noun for `count`: `plural` when it is not singular + s."""
    return singular if count == 1 else plural or singular + "s"


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """`1 delivery`, `2 deliveries`."""
    return f"{count} {noun(count, singular, plural)}"


class Progress:
    """Counts commits; redraws at most ten times a second, and only when `stream` is a tty."""

    def __init__(self, total: int | Callable[[], int] | None, label: str,
                 stream: TextIO | None = None, minimum: int = 200) -> None:
        """`total` may be a function: it is only asked when there is a bar to draw (counting
        a history costs a git run)."""
        self.stream = stream if stream is not None else sys.stderr
        shown = self.stream.isatty()
        if callable(total):
            total = total() if shown else None
        self.total, self.label = total, label
        self.done = 0
        self._last = 0.0
        self.enabled = (total is None or total >= minimum) and shown

    def __call__(self, step: int = 1) -> None:
        self.done += step
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.1 and self.done != self.total:
            return
        self._last = now
        if self.total:
            width = 30
            filled = int(width * self.done / self.total)
            bar = "#" * filled + "-" * (width - filled)
            text = f"\r{self.label} [{bar}] {self.done}/{self.total} commits"
        else:
            text = f"\r{self.label} {self.done} commits"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
