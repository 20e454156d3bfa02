"""Pure: glob patterns as the JavaScript site tools match them (picomatch, micromatch,
fast-glob, tinyglobby): `*`, `?`, `**` as whole segments, `[abc]` / `[^_]` / `[!_]` classes,
`{md,mdx}` alternatives (nested), and, in a list, `!pattern` to take matches out again.
A wildcard never matches a name starting with a dot unless the pattern spells the dot, as
picomatch's default `dot: false` has it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

_NOT_DOT = r"(?!\.)"


@lru_cache(maxsize=1024)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """One pattern (without a leading `!`) as a regular expression over a relative path."""
    pattern = pattern.removeprefix("./")
    segments = pattern.split("/")
    out: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            # zero or more whole segments, none starting with a dot
            out.append(r"(?:(?!\.)[^/]+(?:/(?!\.)[^/]+)*)?" if last else r"(?:(?!\.)[^/]+/)*")
            continue
        wild = segment[:1] in ("*", "?", "[", "{")
        out.append((_NOT_DOT if wild else "") + _segment(segment) + ("" if last else "/"))
    return re.compile("".join(out) + r"\Z")


def _segment(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(re.escape(text[i + 1]))
            i += 2
        elif ch == "*":
            while i < len(text) and text[i] == "*":
                i += 1
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
            i += 1
        elif ch == "[":
            end = text.find("]", i + 2 if text[i + 1:i + 2] in ("!", "^") else i + 1)
            if end < 0:
                out.append(re.escape(ch))
                i += 1
                continue
            body = text[i + 1:end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            # `&&`, `~~`, `||`, `--` and `[` inside a class are set operations to come in
            # Python's re: escaped, they are the characters the glob means
            escaped = "".join("\\" + c if c in "\\]^[&~|" or (c == "-" and body[k - 1:k] == "-")
                              else c for k, c in enumerate(body))
            candidate = f"[^/{escaped}]" if negate else f"[{escaped}]"
            if not body or not _valid(candidate):  # `[]`, `[z-a]`: characters, not a class
                out.append(re.escape(ch))
                i += 1
                continue
            out.append(candidate)
            i = end + 1
        elif ch == "{":
            end, options = _braces(text, i)
            if end < 0 or len(options) < 2:
                out.append(re.escape(ch))
                i += 1
                continue
            out.append("(?:" + "|".join(_segment(option) for option in options) + ")")
            i = end + 1
        else:
            out.append(re.escape(ch))
            i += 1
    return "".join(out)


def _valid(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def _braces(text: str, start: int) -> tuple[int, list[str]]:
    """The end of the `{...}` at `start` and its top-level options; (-1, []) if unclosed."""
    depth = 0
    options: list[str] = []
    begin = start + 1
    for i in range(start, len(text)):
        ch = text[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                options.append(text[begin:i])
                return i, options
        elif ch == "," and depth == 1:
            options.append(text[begin:i])
            begin = i + 1
    return -1, []


def matches(path: str, patterns: Iterable[str]) -> bool:
    """Whether a relative path is matched by a list of patterns: by a positive one and by no
    `!` one, wherever it stands (fast-glob's and tinyglobby's reading of a list)."""
    hit = False
    for pattern in patterns:
        if pattern.startswith("!"):
            if compile_glob(pattern[1:]).match(path):
                return False
        elif not hit and compile_glob(pattern).match(path):
            hit = True
    return hit


def any_match(path: str, patterns: Iterable[str]) -> bool:
    """Whether any pattern matches (an exclude list: every entry excludes)."""
    return any(compile_glob(p.removeprefix("!")).match(path) for p in patterns)
