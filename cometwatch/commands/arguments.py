"""The types of the values a command line takes, range-checked while it is parsed.

Each is an argparse `type=`: a value out of range is a usage error (exit 2, one line naming
the option) before a command runs, so no number from a command line reaches SQLite, a clock
or a datetime that cannot hold it. Standard library only, as every command module at import.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass

ROW_ID_MAX = 2**63 - 1  # SQLite's largest integer: no delivery id is above it
LIMIT_MAX = 1_000_000
DURATION_MAX = 100 * 365 * 86400.0  # a hundred years: more is a typo, not a wish
SHAPES = "30, 30s, 5m, 2h or 3d"


def delivery_id(text: str) -> int:
    """A delivery id, as `cometwatch deliveries` lists them."""
    return _integer(text, 1, ROW_ID_MAX, "a delivery id")


def limit(text: str) -> int:
    """How many rows at most."""
    return _integer(text, 1, LIMIT_MAX, "a count")


def duration(text: str) -> float:
    """A duration in seconds (30, 30s, 5m, 2h, 3d, 250ms)."""
    seconds = _duration(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (use {SHAPES})")
    return seconds


@dataclass(frozen=True, slots=True)
class Since:
    """A moment as `--since` takes it: a time (UTC seconds) or a revision to look up."""

    moment: float | None  # from a duration ago or an ISO time
    revision: str | None  # anything else: a commit, resolved by the command


def since(text: str) -> Since:
    """A UTC time (2026-05-01, 2026-05-01T10:00, with an offset or Z), a duration ago, or
    (anything else) a revision."""
    from cometwatch import utc

    seconds = _duration(text)
    if seconds is not None:
        return Since(time.time() - seconds, None)
    moment = utc.parse(text)
    return Since(None, text) if moment is None else Since(moment, None)


def _integer(text: str, low: int, high: int, what: str) -> int:
    stripped = text.strip()
    if not (stripped.isascii() and stripped.isdigit()) or len(stripped) > 30:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what} (a whole number from {low})")
    value = int(stripped)
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text} is out of range ({what} is from {low} to "
                                         f"{high})")
    return value


def _duration(text: str) -> float | None:
    """Seconds, or None when `text` is not shaped as a duration; raises when it is one out
    of range."""
    from cometwatch.config import parse_duration

    try:
        seconds = parse_duration(text)
    except (ValueError, OverflowError):
        return None
    if not math.isfinite(seconds) or seconds > DURATION_MAX:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range (a duration is at most "
                                         f"{DURATION_MAX / 86400 / 365:.0f} years)")
    return seconds
