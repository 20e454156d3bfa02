"""Pure: the values a JavaScript config is read into (see jsconfig): literals as Python values,
objects as `JSObject`, calls not run as `Call`, and what cannot be read as `Unknown`, each
saying where it is; and the literal conversions JavaScript applies (String(), truthiness,
===, number and string-escape syntax).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TypeAlias

Key: TypeAlias = str | int
Value: TypeAlias = "str | int | float | bool | tuple[Value, ...] | JSObject | Call | Unknown | None"

_IDENT = re.compile(r"[A-Za-z_$][\w$]*\Z")


def key_path(path: tuple[Key, ...]) -> str:
    """`presets[0][1].docs.path`, as a reader of the config would write it."""
    out = []
    for part in path:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENT.match(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{part!r}]")
    return "".join(out) or "(the exported value)"


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value that cannot be read without running the config."""

    file: str
    line: int  # 1-based
    path: tuple[Key, ...]
    reason: str  # what is there instead, e.g. "process.env.DOCS_DIR", "imported from './x'"
    alternatives: tuple[Value, ...] = ()  # a condition's possible values, when each is known

    def message(self, default: str, override: str) -> str:
        """One warning line: where, what, the default used instead, and the key to set."""
        return (f"{self.file}:{self.line}: {key_path(self.path)} is not a literal "
                f"({self.reason}); using {default}; set {override} in webhooks.toml to choose")


@dataclass(frozen=True, slots=True)
class Call:
    """`glob({pattern: '**/*.md'})`: a call the reader does not run, with its arguments read."""

    callee: str  # dotted: "glob", "require.resolve"; "(expression)" when not a name
    args: tuple[Value, ...]
    file: str
    line: int
    path: tuple[Key, ...]


class JSObject(Mapping[str, Value]):
    """An object literal: its keys in order, the line of each, and the spreads it could not
    read (a key absent here may come from one of those)."""

    __slots__ = ("_items", "_lines", "file", "line", "path", "spreads")

    def __init__(self, items: dict[str, Value], lines: dict[str, int], file: str, line: int,
                 path: tuple[Key, ...], spreads: tuple[Unknown, ...] = ()) -> None:
        self._items = items
        self._lines = lines
        self.file = file
        self.line = line
        self.path = path
        self.spreads = spreads

    def __getitem__(self, key: str) -> Value:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"JSObject({self._items!r})"

    def line_of(self, key: str) -> int:
        return self._lines.get(key, self.line)

    def read(self, key: str) -> Value:
        """The key's value; None when absent, an Unknown when an unread spread may set it."""
        if key in self._items:
            return self._items[key]
        if self.spreads:
            spread = self.spreads[-1]
            return Unknown(self.file, spread.line, (*self.path, key),
                           f"may be set by ...{spread.reason}")
        return None

    def unreadable(self, key: str, want: str) -> Unknown:
        """An Unknown for a key whose value is there but not the kind the caller needs."""
        value = self.read(key)
        if isinstance(value, Unknown):
            return value
        what = f"the result of {value.callee}()" if isinstance(value, Call) else f"not {want}"
        return Unknown(self.file, self.line_of(key), (*self.path, key), what)


@dataclass(frozen=True, slots=True)
class Module:
    """What a config file exports, read statically."""

    file: str
    exports: Mapping[str, Value]  # "default" and the named exports
    setup: tuple[Call, ...] = ()  # calls a config function makes on its parameter, in order,
    # callee relative to it: "setInputDirectory", "ignores.add"
    error: str | None = None  # a syntax error ("FILE:LINE: syntax error"); exports are empty

    @property
    def default(self) -> Value:
        return self.exports.get("default")


class Absent:
    pass


ABSENT = Absent()


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


def unescape(escape: str) -> str:
    body = escape[1:]
    if not body or body[0] in "\r\n\u2028\u2029":
        return ""  # a line continuation
    if body[0] == "u":
        digits = body[2:-1] if body.startswith("u{") else body[1:5]
        try:
            point = int(digits, 16)
        except ValueError:
            return body
        return chr(point) if point <= 0x10FFFF else "\ufffd"
    if body[0] == "x":
        try:
            return chr(int(body[1:3], 16))
        except ValueError:
            return body
    return _ESCAPES.get(body, body)


def fix_surrogates(text: str) -> str:
    """`"\\uD83D\\uDE00"` is one character in JavaScript; a lone surrogate is no text at all."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def parse_number(text: str) -> int | float | None:
    text = text.replace("_", "").rstrip("n")
    try:
        return int(text, 0)
    except ValueError:
        pass
    try:
        return normal(float(text))
    except ValueError:
        return None


def normal(number: int | float) -> int | float:
    if isinstance(number, float) and number.is_integer() and abs(number) < 2 ** 53:
        return int(number)
    return number


def to_string(value: Value) -> str | None:
    """String(value) for the values a key or template could hold; None for the rest."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    return None


def truthy(value: Value) -> bool:
    if isinstance(value, (JSObject, tuple, Call)):
        return True
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


def same(a: Value | Absent, b: Value | Absent) -> bool:
    """Equal as JavaScript's === sees literals (1 is not true), objects compared by content."""
    return type(a) is type(b) and a == b
