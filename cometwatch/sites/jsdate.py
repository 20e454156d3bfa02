"""Pure: a date string as JavaScript's `new Date(text)` reads it (V8), for the tools whose
front matter dates go through it (Astro's `z.coerce.date()`: `pubDate: 'Aug 02 2022'`).

First the ECMAScript date-time format: `2022-08-02` (a date alone is UTC), `2022-08-02T10:00`
(local time), `…Z` or `…+02:00`. Else V8's legacy parser: month names (`Aug`, `August`), day
names ignored, `MM/DD/YYYY` and `YYYY/MM/DD`, `10:30[:15] [AM|PM]`, `GMT+0200`, `UTC`, `Z`,
parenthesised comments; without a zone, local time. "Local" is the zone given (the site's
`timezone`): the machine that builds the site is not ours to know.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

_ISO = re.compile(
    r"(?P<y>[+-]\d{6}|\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2}))?)?"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?P<z>Z|[+-]\d{2}:\d{2})?)?\Z")
_TOKEN = re.compile(r"\s*(?:(?P<num>\d+)|(?P<word>[A-Za-z]+)|(?P<sign>[+-])|(?P<comment>\([^)]*\))"
                    r"|(?P<punct>[:/.,-]))")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_UTC_WORDS = ("z", "ut", "utc", "gmt")


def parse_js_date(text: str, local: tzinfo) -> float | None:
    """Seconds since the epoch, or None where JavaScript gives an Invalid Date."""
    text = text.strip()
    iso = _ISO.match(text)
    if iso is not None:
        return _iso(iso, local)
    return _legacy(text, local)


def _iso(found: re.Match[str], local: tzinfo) -> float | None:
    year = int(found["y"])
    month, day = int(found["m"] or 1), int(found["d"] or 1)
    hour, minute, second = int(found["H"] or 0), int(found["M"] or 0), int(found["S"] or 0)
    millis = int((found["f"] or "0")[:3].ljust(3, "0"))
    zone: tzinfo = local if found["H"] is not None and found["z"] is None else UTC
    if found["z"] and found["z"] != "Z":
        sign = -1 if found["z"][0] == "-" else 1
        zone = _offset(sign * (int(found["z"][1:3]) * 60 + int(found["z"][4:6])))
    if hour == 24 and minute == second == millis == 0:
        return _moment(year, month, day, 0, 0, 0, 0, zone, extra_days=1)
    return _moment(year, month, day, hour, minute, second, millis, zone)


def _legacy(text: str, local: tzinfo) -> float | None:
    numbers: list[int] = []
    widths: list[int] = []
    month: int | None = None
    time: list[int] = []
    pm: bool | None = None
    zone: tzinfo | None = None
    position = 0
    tokens: list[tuple[str, str]] = []
    while position < len(text):
        found = _TOKEN.match(text, position)
        if found is None or found.end() == position:
            return None
        position = found.end()
        kind = found.lastgroup or ""
        if kind != "comment":
            tokens.append((kind, found.group(kind)))
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "num" and following == ("punct", ":") and not time:
            time = [int(value)]
            i += 2
            while i < len(tokens) and tokens[i][0] == "num" and len(time) < 3:
                time.append(int(tokens[i][1]))
                if i + 1 < len(tokens) and tokens[i + 1][1] in (":", ".") and len(time) < 3:
                    i += 2
                else:
                    i += 1
                    break
            if i < len(tokens) and tokens[i] == ("punct", ".") and i + 1 < len(tokens):
                i += 2  # milliseconds
            continue
        if kind == "sign" and (zone is not None or time) and following[0] == "num":
            digits = following[1]
            hours, minutes = (int(digits[:-2] or 0), int(digits[-2:])) if len(digits) > 2 \
                else (int(digits), 0)
            i += 2
            if len(digits) <= 2 and i + 1 < len(tokens) and tokens[i] == ("punct", ":") and \
                    tokens[i + 1][0] == "num":
                minutes = int(tokens[i + 1][1])
                i += 2
            zone = _offset((1 if value == "+" else -1) * (hours * 60 + minutes))
            continue
        if kind == "num":
            numbers.append(int(value))
            widths.append(len(value))
        elif kind == "word":
            word = value.lower()
            if word in ("am", "pm"):
                pm = word == "pm"
            elif word in _UTC_WORDS:
                zone = UTC
            elif word[:3] in _MONTHS and len(word) >= 3:
                month = _MONTHS.index(word[:3]) + 1  # V8: the last month named wins
            elif word[:3] in _DAYS or word == "t":
                pass
            elif numbers or month is not None:
                return None  # V8: an unknown word after the date has begun
        elif kind == "sign" and numbers:
            pass  # a dash between date numbers: `08-02-2022`
        i += 1
    date = _date(numbers, widths, month)
    if date is None:
        return None
    year, month_number, day = date
    hour, minute, second = [*time, 0, 0, 0][:3]
    if pm is not None:
        if not time or hour > 12:
            return None
        hour = hour % 12 + (12 if pm else 0)
    return _moment(year, month_number, day, hour, minute, second, 0, zone or local)


def _date(numbers: list[int], widths: list[int], month: int | None
          ) -> tuple[int, int, int] | None:
    if month is not None:
        if len(numbers) == 1:
            return None if numbers[0] <= 31 else (numbers[0], month, 1)
        if len(numbers) != 2:
            return None
        first, second = numbers
        if widths[0] >= 3 or first > 31:  # `2022 Aug 02`
            return _year(first, widths[0]), month, second
        return _year(second, widths[1]), month, first
    if len(numbers) != 3:
        return None
    if widths[0] >= 3 or numbers[0] > 31:  # `2022/08/02`
        return _year(numbers[0], widths[0]), numbers[1], numbers[2]
    return _year(numbers[2], widths[2]), numbers[0], numbers[1]  # `08/02/2022`: M/D/Y


def _year(value: int, width: int) -> int:
    if width <= 2:
        return value + (2000 if value < 50 else 1900)
    return value


def _offset(minutes: int) -> tzinfo:
    from datetime import timezone

    return timezone(timedelta(minutes=minutes))


def _moment(year: int, month: int, day: int, hour: int, minute: int, second: int, millis: int,
            zone: tzinfo, extra_days: int = 0) -> float | None:
    try:
        moment = datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=zone)
    except (ValueError, OverflowError):
        return None
    return (moment + timedelta(days=extra_days)).timestamp()
