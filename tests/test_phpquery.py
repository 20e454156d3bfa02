"""The Public API's query strings, parsed as PHP's parse_str() parses them (a core module: no
server needed to test it)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testing import examples

from cometwatch.web.phpquery import MAX_DEPTH, MAX_VARS, QueryError, is_int_key, parse_query


@pytest.mark.parametrize(("query", "parsed"), [
    ("a=1&b[]=2&b[]=3&c[x][y]=4", {"a": "1", "b": {"0": "2", "1": "3"}, "c": {"x": {"y": "4"}}}),
    ("a=1&a=2", {"a": "2"}),  # the last duplicate wins
    ("a+b=c+d", {"a_b": "c d"}),  # `+` is a space; a space in the base name is `_`
    ("a.b=1", {"a_b": "1"}),
    ("a[b=1", {"a_b": "1"}),  # an unclosed first bracket is `_`
    ("a[x]y=1", {"a": {"x": "1"}}),  # after a closing bracket that opens no other: dropped
    ("%zz=%4", {"%zz": "%4"}),  # a `%` without two hex digits stays
    ("x=%C3%A9", {"x": "é"}),
    ("b[5]=a&b[]=c", {"b": {"5": "a", "6": "c"}}),  # `[]` appends after the highest index
    ("=1&&a", {"a": ""}),  # no name: ignored; no `=`: an empty value
    ("%20a=1", {"a": "1"}),  # leading spaces of a name go
    ("a=1&a[x]=2", {"a": {"x": "2"}}),  # a text value becomes an array when indexed
])
def test_queries_parse_as_php_parses_them(query: str, parsed: dict[str, Any]) -> None:
    assert parse_query(query) == parsed
    assert parse_query(query.encode()) == parsed


def test_text_that_is_not_utf_8_is_a_query_error() -> None:
    with pytest.raises(QueryError, match="not UTF-8"):
        parse_query(b"x=%ff")


def test_names_nested_past_the_limit_are_dropped_and_at_it_kept() -> None:
    assert parse_query("a" + "[x]" * (MAX_DEPTH + 1) + "=1") == {}
    node = parse_query("a" + "[x]" * MAX_DEPTH + "=1")["a"]
    for _ in range(MAX_DEPTH - 1):
        node = node["x"]
    assert node == {"x": "1"}


def test_variables_past_the_limit_are_ignored() -> None:
    parsed = parse_query("&".join(f"v{n}=1" for n in range(MAX_VARS + 5)))
    assert len(parsed) == MAX_VARS and f"v{MAX_VARS - 1}" in parsed and f"v{MAX_VARS}" not in parsed


@pytest.mark.parametrize(("key", "integer"), [
    ("0", True), ("7", True), ("-1", True), ("9223372036854775807", True),
    ("01", False), ("-0", False), ("9223372036854775808", False), ("1.0", False), ("", False),
    ("x", False), (" 1", False),
])
def test_integer_keys_are_those_php_turns_into_integers(key: str, integer: bool) -> None:
    assert is_int_key(key) is integer


@settings(max_examples=examples(200), deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_are_a_query_error(raw: bytes) -> None:
    try:
        parsed = parse_query(raw)
    except QueryError:
        return
    assert isinstance(parsed, dict) and all(isinstance(k, str) and k for k in parsed)
