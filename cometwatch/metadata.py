"""Pure: the front matter block at the top of a blob, parsed, its text fields as written.

A blob that starts like front matter (a `---` or `+++` delimiter line, or a `{` that opens a
JSON object) has a block, whatever its shape (YAML, TOML, JSON; one line or several), and a
block that does not parse into a mapping is broken: `BrokenBlock` says why, in one line. Only
a `{{`, `{%` or `{#` first (a Hugo shortcode, Liquid or Nunjucks) is text.

Text fields (an id is "verbatim, as written") come back as the author typed them: `id: 007`
is "007", not 7; `1.10` is "1.10", `12:30:00` is "12:30:00" (not YAML 1.1's 45000), `0x1F`
is "0x1F" and a timestamp is its own text. The parsers give values; the source text of a
field whose value is not already a string is read again from the block: YAML's scalar node,
TOML's line (checked to parse to the same value), JSON's numbers as text.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from typing import Any

import yaml

from cometwatch import plainyaml

MAX_FRONTMATTER = 256 * 1024  # bytes of frontmatter read; a block past this is refused as broken

_YAML_END = re.compile(rb"^-{3,}[ \t]*\r?$", re.MULTILINE)
_TOML_END = re.compile(rb"^\+{3,}[ \t]*\r?$", re.MULTILINE)
_TEMPLATE = (b"{{", b"{%", b"{#")  # a template tag first is text, never JSON
_LOADER: Any = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class BrokenBlock(ValueError):
    """A block that starts like front matter and cannot be read; the message says why."""


def read_block(data: bytes, text_fields: Iterable[str] = ()) -> dict[str, Any] | None:
    """The mapping of the block at the top of `data` (an empty block: {}), or None when
    there is no block at all. `text_fields` whose values are scalars come back as their source text.
    Raises BrokenBlock, or whatever the parser raises, for a block that cannot be read."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    head = data.lstrip(b" \t\r\n") if data[:1] in (b"\r", b"\n") else data
    if head.startswith(b"{") and not head.startswith(_TEMPLATE):
        meta, source = _json(head)
    elif head.startswith((b"---", b"+++")):
        first = head.find(b"\n")
        first = len(head) if first < 0 else first
        if head[:first].strip(b" \t\r").strip(b"-+"):
            return None  # `---title` is text, not a delimiter
        toml = head.startswith(b"+++")
        end = (_TOML_END if toml else _YAML_END).search(head, first + 1,
                                                        first + 1 + MAX_FRONTMATTER)
        if end is None:
            if len(head) - first > MAX_FRONTMATTER:
                raise BrokenBlock(f"frontmatter longer than {MAX_FRONTMATTER // 1024} KiB")
            raise BrokenBlock("frontmatter block is not closed")
        source = head[first + 1:end.start()].decode("utf-8")
        meta = tomllib.loads(source) if toml else _yaml(source)
        if meta is None:
            return {}  # an empty block
        if not isinstance(meta, dict):
            raise BrokenBlock(f"frontmatter is a {_shape(meta)}, not a mapping of fields")
        written = _toml_text if toml else _yaml_text
        return _verbatim(meta, text_fields, lambda names: written(source, names))
    else:
        return None
    return _verbatim(meta, text_fields, lambda names: _json_text(source, names))


def _yaml(source: str) -> Any:
    flat = plainyaml.mapping(source)  # the common shape, read fast; PyYAML reads the rest
    return flat if flat is not None else yaml.load(source, Loader=_LOADER)


def _json(head: bytes) -> tuple[dict[str, Any], str]:
    """A JSON object at the top, on one line or several, as Hugo reads it: the object, then
    the body. Returns the object and its source text."""
    text = head[:MAX_FRONTMATTER].decode("utf-8", "surrogateescape")
    try:
        meta, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        if len(head) > MAX_FRONTMATTER and exc.pos >= len(text) - 1:
            raise BrokenBlock(f"frontmatter longer than {MAX_FRONTMATTER // 1024} KiB") from None
        raise
    source = text[:end]
    try:
        source.encode("utf-8")
    except UnicodeEncodeError:
        raise BrokenBlock("frontmatter is not UTF-8") from None
    return meta, source


def _verbatim(meta: dict[Any, Any], fields: Iterable[str],
              written: Any) -> dict[str, Any]:
    names = [name for name in fields if _needs_text(meta.get(name))]
    if not names:
        return meta
    return {**meta, **written(names)}


def _needs_text(value: object) -> bool:
    return value is not None and not isinstance(value, (str, dict, list))


def _yaml_text(source: str, names: list[str]) -> dict[str, str]:
    root = yaml.compose(source, Loader=_LOADER)
    found: dict[str, str] = {}
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:  # the last of a repeated key wins, as in the mapping
            if isinstance(key, yaml.ScalarNode) and key.value in names and \
                    isinstance(value, yaml.ScalarNode):
                found[key.value] = value.value
    return found


def _toml_text(source: str, names: list[str]) -> dict[str, str]:
    """A top-level `name = value` line's value text (a TOML value that is not a string has
    no `#` in it). A line is taken for the key's own when putting a marker in its place
    changes the key's value: a look-alike inside a multi-line string does not."""
    lines = source.splitlines(keepends=True)
    found: dict[str, str] = {}
    for name in names:
        key = re.escape(name)
        pattern = re.compile(rf"(\s*(?:{key}|\"{key}\"|'{key}')\s*=\s*)([^#\r\n]*)")
        for number, line in enumerate(lines):
            match = pattern.match(line)
            if match is None:
                continue
            marked = [*lines[:number], f"{match[1]}'{_MARK}'{line[match.end():]}",
                      *lines[number + 1:]]
            try:
                mine = tomllib.loads("".join(marked)).get(name) == _MARK
            except tomllib.TOMLDecodeError:
                mine = False
            if mine:
                found[name] = match[2].strip()
                break
    return found


_MARK = "cometwatch: the value written here"


def _json_text(source: str, names: list[str]) -> dict[str, str]:
    raw = json.loads(source, parse_int=str, parse_float=str, parse_constant=str)
    return {name: raw[name] for name in names if isinstance(raw.get(name), str)}


def _shape(value: object) -> str:
    return "list" if isinstance(value, list) else type(value).__name__
