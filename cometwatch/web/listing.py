"""Pure: CometCMS's list semantics (ContentRepository::query) over entries of any shape.

Given the parsed query (cometwatch.web.phpquery) and a `value_at(entry, field)` reader:
`q` search, `filter[field]` and `filter[field][op]` (eq, in, ne, gt, gte, lt, lte, contains),
`sort` (`-field` descending; default `-created_at`) and `order`, `offset` and `limit` clamped
as CometCMS clamps them. Values compare as PHP compares them there: booleans accept
true/false/1/0 (and yes/no/on/off), numeric text compares as numbers, an array matches when
any item does.

Two decisions of ours, both compatible: a value that is not a number has no leading digits
(`limit=abc`) counts as absent, where PHP would read 0 (and clamp `limit` to 1); and sorting
is a total order (empty values, then numbers, then ISO dates, then text without case), with
the entry id as the final tie-break, so offset pagination never skips or repeats an entry.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from cometwatch.web.phpquery import is_int_key

T = TypeVar("T")
ValueAt = Callable[[T, str], Any]

INT_MAX = 2**63 - 1  # PHP_INT_MAX: where PHP's (int) saturates
DEFAULT_SORT = "-created_at"
_LEADING_INT = re.compile(r"^[ \t\n\r\v\f]*([+-]?\d+)")
_NUMERIC = re.compile(r"^[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
                      r"[ \t\n\r\v\f]*$")
_SORT_JUNK = re.compile(r"[^A-Za-z0-9_.-]")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    limit: int
    offset: int
    sort: str
    order: str


def page_of(entries: Sequence[T], params: dict[str, Any], value_at: ValueAt[T],
            entry_id: Callable[[T], str], filterable: Callable[[str], bool],
            search: Callable[[T, str], bool]) -> tuple[list[T], Page]:
    """The entries of one list request, and its `meta`."""
    query = params.get("q")
    needle = query.strip().lower() if isinstance(query, str) else ""
    chosen: Iterable[T] = entries
    if needle:
        chosen = [e for e in chosen if search(e, needle)]
    raw_filters = params.get("filter")
    if isinstance(raw_filters, dict):
        for field, condition in raw_filters.items():
            if is_int_key(field) or not filterable(field):
                continue
            test = predicate(condition)
            chosen = [e for e in chosen if test(value_at(e, field))]
    found = list(chosen)
    total = len(found)

    sort_raw = params.get("sort")
    sort_param = _SORT_JUNK.sub("", sort_raw) if isinstance(sort_raw, str) else ""
    sort_param = sort_param or DEFAULT_SORT
    order_raw = params.get("order")
    order = "asc" if isinstance(order_raw, str) and order_raw.lower() == "asc" else "desc"
    sort = sort_param.lstrip("-")
    if sort_param.startswith("-"):
        order = "desc"
    elif "order" not in params:
        order = "asc"
    found.sort(key=entry_id)  # the tie-break, kept by the stable sort below
    found.sort(key=lambda e: sort_key(value_at(e, sort)), reverse=order == "desc")

    offset = max(0, php_int(params.get("offset"), None) or 0)
    limit_value = php_int(params.get("limit"), None) if "limit" in params else None
    limit = max(1, limit_value) if limit_value is not None else max(0, total - offset)
    end = offset + limit if offset + limit <= total else total
    return found[offset:end], Page(total, limit, offset, sort, order)


def php_int(value: Any, default: int | None) -> int | None:
    """PHP's (int) of a query value, saturated at PHP_INT_MAX; `default` for no number."""
    if not isinstance(value, str):
        return default
    match = _LEADING_INT.match(value)
    if match is None:
        return default
    number = int(match.group(1)) if len(match.group(1)) < 40 else (
        INT_MAX if not match.group(1).startswith("-") else -INT_MAX - 1)
    return max(-INT_MAX - 1, min(INT_MAX, number))


# -- filters ------------------------------------------------------------------------------

def predicate(condition: Any) -> Callable[[Any], bool]:
    """`matches(value, condition)` as a function of the value, with a fast path for the
    common case: plain text compared with text (what `equals` does for two strings)."""
    if isinstance(condition, str):
        number = float(condition) if is_numeric(condition) else None

        def equal_text(value: Any) -> bool:
            if type(value) is str:
                if value == condition:
                    return True
                return number is not None and is_numeric(value) and float(value) == number
            return equals(value, condition)

        return equal_text
    return lambda value: matches(value, condition)


def matches(value: Any, condition: Any) -> bool:
    if not isinstance(condition, dict):
        return compare(value, "eq", condition)
    return all(compare(value, str(op), expected) for op, expected in condition.items())


def compare(value: Any, operator: str, expected: Any) -> bool:
    if operator == "ne":
        return not equals(value, expected)
    if operator in ("gt", "gte", "lt", "lte"):
        result = ordered(value, expected)
        return {"gt": result > 0, "gte": result >= 0, "lt": result < 0,
                "lte": result <= 0}[operator]
    if operator == "contains":
        needle = php_str(expected).lower()
        return any(needle in php_str(item).lower() for item in _items(value))
    if operator == "in":
        wanted = list(expected.values()) if isinstance(expected, dict) else \
            [part.strip() for part in php_str(expected).split(",")]
        return any(equals(item, one) for item in _items(value) for one in wanted)
    return equals(value, expected)


def equals(value: Any, expected: Any) -> bool:
    if isinstance(value, (list, dict)):
        return any(equals(item, expected) for item in _items(value))
    if isinstance(value, (bool, int)) or isinstance(expected, (bool, int)):
        value_bool, expected_bool = boolean(value), boolean(expected)
        if value_bool is not None or expected_bool is not None:
            return value_bool is not None and value_bool == expected_bool
    if is_numeric(value) and is_numeric(expected):
        return float(value) == float(expected)
    if value is None:
        return expected is None or expected == ""
    return php_str(value) == php_str(expected)


def ordered(value: Any, expected: Any) -> int:
    if is_numeric(value) and is_numeric(expected):
        a, b = float(value), float(expected)
    else:
        a, b = php_str(value), php_str(expected)  # type: ignore[assignment]
    return (a > b) - (a < b)


def boolean(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {0: False, 1: True}.get(value)
    if isinstance(value, str):
        text = value.strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None
    return None


def is_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    return isinstance(value, str) and bool(_NUMERIC.match(value))


def php_str(value: Any) -> str:
    """(string) as CometCMS's filterValueToString gives it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, list):
        return ",".join(php_str(item) for item in value)
    if isinstance(value, dict):
        return ",".join(php_str(item) for item in value.values())
    return str(value)


def _items(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return list(value.values())
    return value if isinstance(value, list) else [value]


# -- sorting ------------------------------------------------------------------------------

def sort_key(value: Any) -> tuple[int, Any]:
    if value is None or value == "":
        return (0, 0)
    if is_numeric(value):
        return (1, float(value))
    if isinstance(value, str) and _ISO_DAY.match(value):
        moment = _timestamp(value)
        if moment is not None:
            return (2, moment)
    return (3, php_str(value).lower())


def _timestamp(text: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text[:10])
        except ValueError:
            return None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
