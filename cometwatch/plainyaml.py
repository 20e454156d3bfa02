"""Pure: the plain shape most YAML front matter has, read without the whole YAML machinery.

Front matter is nearly always a flat mapping, one `key: value` a line: quoted strings, plain
words, dates, booleans, a `[a, b]` list. PyYAML (even over libyaml) spends ~30 µs on such a
block, most of it building and walking a node graph; reading the lines directly takes a
third of that, and front matter is parsed for every blob a history changes. `mapping` reads a
block of that shape, and only of that shape: at the first line it does not fully recognise
(a comment, an indented line, a tab, an escape, an anchor, a multi-line value, `\r`, a
character YAML does not print...) it gives up and returns None, and the caller gives the
block to PyYAML. What it reads it reads as PyYAML does: a plain scalar's type is decided by
PyYAML's own resolver and built by PyYAML's own constructors, so `on` is True, `2024-01-02` a
date and `012` an octal int, exactly as before. tests/test_plainyaml.py holds it to that,
value and type, against libyaml on generated blocks.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

import yaml
from yaml.nodes import ScalarNode

_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_PLAIN_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?")
_RESOLVE: Callable[[type, str, tuple[bool, bool]], str] = yaml.resolver.Resolver().resolve
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_BUILD = {
    "tag:yaml.org,2002:null": _CONSTRUCTOR.construct_yaml_null,
    "tag:yaml.org,2002:bool": _CONSTRUCTOR.construct_yaml_bool,
    "tag:yaml.org,2002:int": _CONSTRUCTOR.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONSTRUCTOR.construct_yaml_float,
    "tag:yaml.org,2002:timestamp": _CONSTRUCTOR.construct_yaml_timestamp,
}
_NOT_PLAIN = object()  # a scalar this module leaves to PyYAML (a tag it has no builder for)

# Never in a plain scalar here: what YAML does not print, its line breaks (\x85, \u2028,
# \u2029), the BOM, spaces and tabs (negated classes: they compile in microseconds, where the
# same set spelt out as ranges takes milliseconds at every start).
_NEVER = r"\x00-\x20\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff"
# A plain scalar here starts with a letter or digit (no indicator, no sign, no dot), has no
# `#`, no `: ` and no `:` at its end, and single spaces only between its words; in a list it
# has no `,[]{}` either.
_FIRST = rf"[^{_NEVER}!-/:-@\[-`{{-~]"
_INNER = rf"[^{_NEVER}#:]"
_IN_LIST = rf"[^{_NEVER}#:,\[\]{{}}]"
_PLAIN = rf"{_FIRST}(?:[ ]?(?:{_INNER}|:(?={_INNER})))*"
# (libyaml refuses a `:` in a list item before any of `,?[]{}:`)
_ITEM = re.compile(rf"{_FIRST}(?:[ ]?(?:{_IN_LIST}|:(?=[^{_NEVER}#:,?\[\]{{}}])))*")
_QUOTED = r"[^\"\\\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]*"
_QUOTED_ITEM = re.compile(_QUOTED)
_LINE = re.compile(
    # a blank line, or a key (libyaml's simple keys are at most 1024 characters)...
    r"[ ]*\n|([A-Za-z_][A-Za-z0-9_]{0,127}(?:-[A-Za-z0-9_]{1,64}){0,8}):"
    # ...then nothing, a quoted string without escapes, a one-line list, or a plain scalar
    rf"(?:[ ]+(?:\"({_QUOTED})\"|'({_QUOTED.replace(chr(34), chr(39))})'|\[([^\]\n]*)\]|"
    rf"({_PLAIN})))?[ ]*\n")
_MEMO: dict[str, Any] = {}  # plain scalar → its value: front matter repeats `draft: false`


def mapping(source: str) -> dict[Any, Any] | None:
    """The mapping a flat block of `key: value` lines holds, as PyYAML gives it, or None
    when the block has any other shape (then PyYAML must read it: it may be valid YAML of a
    richer kind, or broken)."""
    if not source.endswith("\n"):
        source += "\n"
    fields: dict[Any, Any] = {}
    pos, end, line = 0, len(source), _LINE.match
    while pos < end:
        found = line(source, pos)
        if found is None:
            return None
        pos = found.end()
        key, double, single, items, plain = found.groups()
        if key is None:
            continue  # a blank line
        if not isinstance(_scalar(key), str):
            return None  # a key that is not a string (`on:`, `null:`): PyYAML's to build
        if double is not None:
            value: Any = double
        elif single is not None:
            value = single
        elif items is not None:
            value = _items(items)
            if value is None:
                return None
        elif plain is not None:
            value = _scalar(plain)
        else:
            value = None
        if value is _NOT_PLAIN:
            return None
        fields[key] = value
    return fields


def _items(text: str) -> list[Any] | None:
    """A one-line list's items, or None when one is not plain."""
    if not text.strip(" "):
        return []
    values: list[Any] = []
    for item in text.split(","):
        item = item.strip(" ")
        if len(item) >= 2 and item[0] == item[-1] and item[0] in "\"'" and \
                _QUOTED_ITEM.fullmatch(item[1:-1]) and item[0] not in item[1:-1]:
            values.append(item[1:-1])
        elif _ITEM.fullmatch(item):
            value = _scalar(item)
            if value is _NOT_PLAIN:
                return None
            values.append(value)
        else:
            return None  # an empty item, a nested list or mapping, a comma in quotes
    return values


def _scalar(text: str) -> Any:
    """A plain scalar's value, typed by PyYAML's resolver and built by its constructor."""
    try:
        return _MEMO[text]
    except KeyError:
        pass
    tag = _RESOLVE(ScalarNode, text, (True, False))
    if tag == _STR:
        value: Any = text
    elif tag == _TIMESTAMP and _PLAIN_DATE.fullmatch(text):
        # the two shapes front matter dates nearly always have, built as PyYAML builds them
        # (a date, or a datetime in UTC): datetime's own parser is ten times faster
        try:
            value = (datetime.datetime.fromisoformat(text) if len(text) > 10
                     else datetime.date.fromisoformat(text))
        except ValueError:  # e.g. month 13: PyYAML says how it is broken
            value = _NOT_PLAIN
    elif tag in _BUILD:
        try:
            value = _BUILD[tag](ScalarNode(tag, text))
        except Exception:  # e.g. a date with month 13: PyYAML says how it is broken
            value = _NOT_PLAIN
    else:
        value = _NOT_PLAIN
    if len(text) <= 64:  # a title-long value at most: the memo stays small, whatever a
        if len(_MEMO) >= 16384:  # repository holds
            _MEMO.clear()
        _MEMO[text] = value
    return value
