"""The kinds of value a config key holds, each with its range: TOML value → Python value.

A kind refuses a value with `Bad(problem, fix)`; the reader adds the file and the key. Every
number and duration has a finite range, so nothing past the load ever meets nan, inf, a
negative number or a value that overflows a date.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
DURATION_FIX = 'use a number of seconds or "500ms", "30s", "5m", "2h", "1d"'
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


class Bad(Exception):
    """A value a key cannot take: what is wrong and how to fix it."""

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem, self.fix = problem, fix


def parse_duration(value: object) -> float:
    """"5s", "5m", "2h", "1d", "250ms" or a number of seconds → seconds (finite, not
    negative)."""
    if isinstance(value, bool):
        raise ValueError(value)
    seconds: float | None = None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise ValueError(value)
    return seconds


def shown(seconds: float) -> str:
    """A duration as it would be written: 30d, 5m, 1.5s."""
    for unit, size in (("d", DAY), ("h", HOUR), ("m", MINUTE)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


class Kind:
    """Reads one key's TOML value; `default` is what a missing key gives (for the fix)."""

    def read(self, value: object, name: str, default: Any) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Text(Kind):
    choices: tuple[str, ...] = ()
    noun: str = "value"
    fix: str = ""
    check: Callable[[str], str] | None = None  # normalises, or raises Bad

    def read(self, value: object, name: str, default: Any) -> str:
        if not isinstance(value, str):
            raise Bad("must be a string", f'write it as {name} = "…"')
        if self.choices and value not in self.choices:
            raise Bad(f"unknown {self.noun} {value!r}",
                      self.fix or "use one of: " + ", ".join(self.choices))
        return self.check(value) if self.check else value


@dataclass(frozen=True, slots=True)
class Flag(Kind):
    def read(self, value: object, name: str, default: Any) -> bool:
        if not isinstance(value, bool):
            raise Bad("must be true or false")
        return value


@dataclass(frozen=True, slots=True)
class Whole(Kind):
    minimum: int
    maximum: int

    def read(self, value: object, name: str, default: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or \
                not self.minimum <= value <= self.maximum:
            raise Bad(f"must be a whole number, at least {self.minimum} and at most "
                      f"{self.maximum}", f"remove it for the default ({default})")
        return value


@dataclass(frozen=True, slots=True)
class Duration(Kind):
    maximum: float
    zero: bool = False  # zero is a value (disable_after = 0: never), not a mistake

    def read(self, value: object, name: str, default: Any) -> float:
        try:
            seconds = parse_duration(value)
        except ValueError:
            raise Bad(f"not a duration: {value!r}", DURATION_FIX) from None
        if not seconds and not self.zero:
            raise Bad("must be more than zero",
                      f"remove it for the default ({shown(default)}), or give a longer one"
                      if default else "remove it to turn it off")
        if seconds > self.maximum:
            raise Bad(f"must be at most {shown(self.maximum)}",
                      f"remove it for the default ({shown(default)})" if default
                      else "give a shorter one")
        return seconds


@dataclass(frozen=True, slots=True)
class Durations(Kind):
    item: Duration
    most: int

    def read(self, value: object, name: str, default: Any) -> tuple[float, ...]:
        if not isinstance(value, list) or not value or len(value) > self.most:
            raise Bad(f"must be a non-empty list of at most {self.most} durations",
                      'for example ["0s", "5s", "5m", "2h"]')
        out = []
        for item in value:
            try:
                seconds = parse_duration(item)
            except ValueError:
                raise Bad(f"not a duration: {item!r}", DURATION_FIX) from None
            if seconds > self.item.maximum:
                raise Bad(f"{item!r} is more than {shown(self.item.maximum)}",
                          "give a shorter delay")
            out.append(seconds)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Strings(Kind):
    choices: tuple[str, ...] = ()
    noun: str = "value"
    empty: str = ""  # the problem when the list is empty ("" = an empty list is fine)
    example: str = ""
    each: Callable[[str], str] | None = None  # normalises one item
    fix: str = ""  # for an item not in choices

    def read(self, value: object, name: str, default: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise Bad("must be a list of strings", f'write it as {name} = ["…"]')
        for item in value:
            if self.choices and item not in self.choices:
                raise Bad(f"unknown {self.noun} {item!r}",
                          self.fix or "known: " + ", ".join(self.choices))
        if self.empty and not value:
            raise Bad(self.empty, self.example)
        return tuple(self.each(v) for v in value) if self.each else tuple(value)


@dataclass(frozen=True, slots=True)
class Table(Kind):
    """A table of string = string (collections, headers)."""

    shape: str
    example: str
    check: Callable[[str, str], None] | None = None  # raises Bad for one pair

    def read(self, value: object, name: str, default: Any) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise Bad(f"must be a table of {self.shape}", f"write it as {self.example}")
        if self.check:
            for pair in value.items():
                self.check(*pair)
        return tuple(value.items())


@dataclass(frozen=True, slots=True)
class Custom(Kind):
    """A key its section reads itself (secrets, nested rules): declared for the key set."""

    also: tuple[str, ...] = ()  # further TOML keys it is read from

    def read(self, value: object, name: str, default: Any) -> Any:
        raise AssertionError("read by its section")
