"""Pure: a query string parsed as PHP's parse_str() parses it, since CometCMS reads `$_GET`.

`a=1&b[]=2&b[]=3&c[x][y]=4` gives {"a": "1", "b": {"0": "2", "1": "3"}, "c": {"x": {"y": "4"}}}:
brackets nest, `[]` appends at the next integer index, the last duplicate wins, `+` is a
space, a `%` not followed by two hex digits stays as it is. As in PHP, spaces and dots in the
base name become `_`, an unclosed first bracket becomes `_` too, anything after a closing
bracket that does not open another is dropped, and a name nested deeper than 64 levels, or past
the 1,000th variable, is ignored (max_input_nesting_level, max_input_vars).

Arrays are dicts with text keys (an integer index as its decimal text). Bytes that are not
UTF-8 raise QueryError: the API answers 400.
"""

from __future__ import annotations

import re
from typing import Any

MAX_VARS = 1000
MAX_DEPTH = 64
_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
_INT_KEY = re.compile(r"^(?:0|-?[1-9][0-9]{0,18})$")


class QueryError(ValueError):
    """The query string holds bytes that are not UTF-8 text."""


def parse_query(raw: bytes | str) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = raw.encode("latin-1", "replace")  # WSGI strings carry bytes as latin-1
    out: dict[str, Any] = {}
    count = 0
    for pair in raw.split(b"&"):
        if not pair:
            continue
        count += 1
        if count > MAX_VARS:
            break
        name_raw, _, value_raw = pair.partition(b"=")
        name, value = _decode(name_raw), _decode(value_raw)
        _register(out, name, value)
    return out


def _decode(raw: bytes) -> str:
    data = _ESCAPE.sub(lambda m: bytes((int(m.group(1), 16),)), raw.replace(b"+", b" "))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise QueryError("the query string is not UTF-8") from exc


def is_int_key(key: str) -> bool:
    """PHP turns such an array key into an integer (so CometCMS skips it as a field name)."""
    return bool(_INT_KEY.match(key)) and -(2**63) <= int(key) < 2**63


def _register(out: dict[str, Any], name: str, value: str) -> None:
    name = name.lstrip(" ")
    bracket = name.find("[")
    head = (name if bracket < 0 else name[:bracket]).replace(" ", "_").replace(".", "_")
    if bracket < 0:
        base, rest = head, ""
    elif "]" not in name[bracket:]:
        base, rest = f"{head}_{name[bracket + 1:]}", ""  # an unclosed bracket: a plain name
    else:
        base, rest = head, name[bracket:]
    if not base:
        return
    keys: list[str | None] = []  # None: `[]`, append
    while rest.startswith("["):
        close = rest.find("]")
        if close < 0:
            break
        keys.append(rest[1:close] or None)
        if len(keys) > MAX_DEPTH:
            return  # nested too deep: PHP drops the variable
        rest = rest[close + 1:]
    if not keys:
        out[base] = value
        return
    target: dict[str, Any] = out
    parent_key: str | None = base
    for key in keys:
        assert parent_key is not None
        node = target.get(parent_key)
        if not isinstance(node, dict):
            node = {}
            target[parent_key] = node
        target = node
        parent_key = _next_index(target) if key is None else key
    assert parent_key is not None
    target[parent_key] = value


def _next_index(array: dict[str, Any]) -> str:
    ints = [int(k) for k in array if is_int_key(k)]
    return str(max(max(ints) + 1, 0) if ints else 0)
