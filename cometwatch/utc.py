"""Pure: moments in time as cometwatch writes and reads them.

A moment is seconds since the epoch (a float). cometwatch writes it in UTC as
`YYYY-MM-DDTHH:MM:SSZ` (payloads, logs, every command) and reads ISO 8601 / RFC 3339 text
back (a config's `expires`, `--since`, hook-scan.log), a date without a zone in UTC; a
front matter date without a zone is read in the site's zone (`local`).
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime, time, tzinfo

FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_SPACED_OFFSET = re.compile(r"\s+([+-]\d{2}:?\d{2})$")
_ZONE_WORD = re.compile(r"\s*\b(?:UTC|GMT|Z)$")


def iso(moment: float) -> str:
    """`2025-05-03T12:00:00Z`, to the second (CometCMS's `occurred_at`)."""
    return _iso(int(moment))


@functools.lru_cache(maxsize=4096)  # a save's events share their second
def _iso(second: int) -> str:
    return datetime.fromtimestamp(second, tz=UTC).strftime(FORMAT)


def parse(text: str) -> float | None:
    """ISO 8601 text (`2026-05-01`, `2026-05-01T10:00`, with `Z` or an offset) → seconds;
    without a zone, UTC. None when it is no date."""
    return local(text, UTC)


def local(value: object, zone: tzinfo) -> float | None:
    """A date (datetime, date or ISO 8601 text, `2024-05-03 14:00` too, and Jekyll's (Ruby's)
    `2023-01-29 18:30:22 -0800` or `… UTC`) → seconds; a date or time without a zone is read
    in `zone`. None for anything else (a number is no date)."""
    if isinstance(value, str):
        text = _ZONE_WORD.sub("+00:00", _SPACED_OFFSET.sub(r"\1", value.strip()))
        try:
            value = datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
        except ValueError:
            try:
                value = date.fromisoformat(text)
            except ValueError:
                return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).timestamp()
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=zone).timestamp()
    return None
