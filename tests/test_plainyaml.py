"""The fast reader of flat front matter gives exactly what libyaml gives, or leaves the block
to it: generated blocks of tricky keys, values and characters, compared value and type."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from testing import examples

from cometwatch import plainyaml
from cometwatch.metadata import read_block

_LOADER = yaml.CSafeLoader


def same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down, keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


_PIECES = st.sampled_from([
    "a", "Z", "0", "7", " ", "  ", "-", "_", ".", ":", ": ", "#", " #", ",", "[", "]", "{", "}",
    "'", '"', "\\", "!", "?", "&", "*", "%", "@", "`", "|", ">", "=", "~", "+", "/", "(", "\t",
    "é", "ß", "日", "\u00a0", "\x85", "\u2028", "\u2029", "\ufeff", "\ufffe", "\x7f", "\x01",
    "\U0001f600", "\ue000", "x", "e", "E", "T", "Z", "1", "2", "9",
])
_CHARS = st.lists(_PIECES, max_size=12).map("".join)
_WORDS = st.sampled_from([
    "true", "false", "yes", "No", "on", "OFF", "null", "Null", "~", "y", "n", "0", "012", "0x1F",
    "0b101", "1_000", "-1", "+3", "1.5", "1.", ".5", "1e5", "1.0e+5", ".inf", "-.INF", ".nan",
    "12:30", "190:20:30", "2024-01-02", "2024-1-2", "2024-13-45", "2024-01-02T03:04:05Z",
    "2024-01-02 03:04:05 -08:00", "2024-01-02t03:04:05.123+01:00", "2024-02-30", "draft",
    "2024-02-29", "2023-02-29", "0000-01-01", "9999-12-31T23:59:59Z", "2024-01-02T24:00:00Z",
    "2024-01-02T03:04:60Z", "2024-01-02T03:04:05z", "2024-01-02T03:04:05", "2024-01-02T3:04:05Z",
    "1970-01-01T00:00:00Z", "2024-12-31T00:00:00+00:00", "2024-01-02 03:04:05Z",
    "published", "Hello, world", "it's", "a: b", "a:b", "a :b", "C# and F#", "x  y", "=",
    "<<", "!tag x", "&a x", "*a", "|", ">", "- x", "? x", "@x", "`x", "%x", "{a: 1}", "[a, b]",
    "[]", "[ ]", "[a, [b]]", "[a,]", "['a', \"b\"]", '"q"', "'q'", "'it''s'", '"a\\nb"',
    '"a" b', "é", "x" * 1100,
])
_VALUES = st.one_of(_WORDS, _CHARS,
                    st.lists(st.one_of(_WORDS, _CHARS), max_size=4)
                    .map(lambda items: "[" + ", ".join(items) + "]"),
                    _CHARS.map(lambda t: f'"{t}"'),
                    _CHARS.map(lambda t: f"'{t}'"))
_KEYS = st.one_of(st.sampled_from(["title", "date", "draft", "tags", "on", "yes", "null",
                                   "True", "a-b", "a-", "_x", "x" * 1100, "build", "é",
                                   "1", "id", "slug", "- a", "? k"]),
                  _CHARS.filter(bool))
_LINES = st.one_of(
    st.tuples(_KEYS, st.sampled_from([": ", ":", ":  ", " : ", ":\t"]), _VALUES,
              st.sampled_from(["", " ", "  ", " # note", "\t"])).map("".join),
    st.sampled_from(["", "  ", "# comment", "  nested: 1", "- item", "---", "...", "%YAML 1.1",
                     "key:", "list:\n  - a", "text: |\n  two\n  lines"]))

# lines close to the accepted shape, so that most blocks are read fast and compared
_NEAR = st.lists(st.sampled_from(["a", "Z", "0", "7", "1", "2", " ", ":", "-", "_", ".", "'",
                                  '"', ",", "!", "?", "é", "日", "[", "]", "{", "}", "\\",
                                  "#", "&", "*", "T", "e", "E", "+", "/", "(", "=", "~", ";",
                                  "%", "@", "|", ">", "<", "`", "^", "$", ")", "\t"]),
                 min_size=1, max_size=10).map("".join)
_NEAR_LINES = st.tuples(
    st.sampled_from(["title", "date", "on", "yes", "No", "null", "a-b", "x_1", "y", "tags"]),
    st.one_of(_WORDS, _NEAR, st.lists(st.one_of(_WORDS, _NEAR), max_size=3)
              .map(lambda items: "[" + ", ".join(items) + "]"),
              _NEAR.map(lambda t: f'"{t}"'), _NEAR.map(lambda t: f"'{t}'")),
).map(": ".join)


@settings(max_examples=examples(2400), deadline=None)
@given(st.lists(_NEAR_LINES, min_size=1, max_size=4))
def test_a_nearly_flat_block_reads_as_libyaml_reads_it(lines: list[str]) -> None:
    source = "\n".join(lines) + "\n"
    flat = plainyaml.mapping(source)
    if flat is not None:
        assert same(flat, yaml.load(source, Loader=_LOADER)), source


@settings(max_examples=examples(2400), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_LINES, max_size=6), st.sampled_from(["\n", "\r\n"]), st.booleans())
@example(["title: Hello", "date: 2024-01-02", "draft: false", "tags: [a, b]"], "\n", True)
@example(["on: x"], "\n", False)
@example(["a: b: c"], "\n", False)
def test_a_flat_block_reads_as_libyaml_reads_it(lines: list[str], newline: str,
                                                 final: bool) -> None:
    source = newline.join(lines) + (newline if final else "")
    flat = plainyaml.mapping(source)
    if flat is None:
        return  # left to PyYAML: whatever it says is the answer
    parsed = yaml.load(source, Loader=_LOADER)
    assert same(flat, parsed if parsed is not None else {}), (source, flat, parsed)


@pytest.mark.parametrize("source, expected", [
    ('title: "Hello: world"\ndate: 2024-01-02T03:04:05Z\ndraft: false\ntags: [a, b]\n',
     {"title": "Hello: world",
      "date": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
      "draft": False, "tags": ["a", "b"]}),
    ("id: 007\nslug: it's-here\nweight: 1.5\npublished: yes\nlist: []\nempty:\n\n",
     {"id": 7, "slug": "it's-here", "weight": 1.5, "published": True, "list": [], "empty": None}),
    ("title: Ünïcödé 日本\nday: 2024-01-02\n", {"title": "Ünïcödé 日本",
                                              "day": datetime.date(2024, 1, 2)}),
])
def test_common_front_matter_is_read_without_pyyaml(source: str, expected: dict[str, Any]
                                                    ) -> None:
    flat = plainyaml.mapping(source)
    assert flat is not None and same(flat, expected)
    assert same(flat, yaml.load(source, Loader=_LOADER))


@pytest.mark.parametrize("source", [
    "title: a # comment\n", "title: x\n  more\n", "build:\n  render: never\n", "a: b: c\n",
    "date: 2024-13-45\n", "t: \"a\\nb\"\n", "x: =\n", "<<: {a: 1}\n", "on: x\n", "a:\tb\n",
    "title: x\r\n", "tags: [a, [b]]\n", "k: &a v\n", "- a\n",
])
def test_any_other_shape_is_left_to_pyyaml(source: str) -> None:
    assert plainyaml.mapping(source) is None


@pytest.mark.parametrize("data", [
    b"---\ntitle: a\ndate: 2024-13-45\n---\n", b"---\na: b: c\n---\n", b"---\non: 1\n---\n",
    b"---\nid: 0x1F\ntitle: x\n---\n",
])
def test_read_block_gives_what_pyyaml_gives_either_way(data: bytes) -> None:
    source = data.split(b"---\n")[1].decode()
    try:
        expected: Any = yaml.load(source, Loader=_LOADER)
    except Exception as exc:  # libyaml's errors, or a constructor's ValueError
        with pytest.raises(type(exc)) as raised:
            read_block(data)
        assert str(raised.value) == str(exc)
        return
    assert same(read_block(data), expected)


def test_a_long_value_is_not_remembered() -> None:
    long = "word " * 200 + "end"
    assert plainyaml.mapping(f"title: {long}\nshort: kept\n") == {"title": long, "short": "kept"}
    assert long not in plainyaml._MEMO and "kept" in plainyaml._MEMO
