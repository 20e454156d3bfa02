"""Pure: a site tool's config file (TOML, YAML, JSON) → data, with real parsers only: tomllib,
PyYAML's C loader (safe), json. A file that cannot be read raises SiteConfigError with the line
the parser names. YAML aliases are measured before the document is built: a "billion laughs"
file is refused, not expanded.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import yaml

from cometwatch.entry import NO_BLOCK, frontmatter_block
from cometwatch.sites import SiteConfigError

MAX_CONFIG = 1 << 20  # bytes: a site config larger than this is refused
MAX_NODES = 100_000  # values a YAML config may expand to through its aliases
# Tables and lists within each other: no tool's config goes past a dozen. The bound keeps the
# parsers (json and tomllib recurse) and every walker after them (lowered, merged, a cascade)
# far from Python's recursion limit, whatever the file.
MAX_NESTING = 100
_TOML_LINE = re.compile(r"\s*\(at line (\d+)(?:, column (\d+))?\)")
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_data(name: str, data: bytes) -> Any:
    """A config file's data, by its extension (.toml, .yaml/.yml, .json)."""
    if len(data) > MAX_CONFIG:
        raise SiteConfigError(f"larger than {MAX_CONFIG >> 10} KiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SiteConfigError("not UTF-8") from exc
    try:
        return _shallow(_parsed(name, text))
    except RecursionError:
        raise SiteConfigError(f"nested deeper than {MAX_NESTING} levels") from None


def _parsed(name: str, text: str) -> Any:
    kind = name.rpartition(".")[2].lower()
    if kind == "toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            found = _TOML_LINE.search(str(exc))
            column = f" (column {found.group(2)})" if found and found.group(2) else ""
            message = _TOML_LINE.sub("", str(exc)).strip() or "invalid TOML"
            raise SiteConfigError(message + column,
                                  int(found.group(1)) if found else None) from exc
    if kind in ("yaml", "yml"):
        return parse_yaml(text)
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise SiteConfigError(exc.msg, exc.lineno) from exc
    raise SiteConfigError(f"unknown config format .{kind}")


def parse_yaml(text: str) -> Any:
    try:
        _bounded(text)
        return yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SiteConfigError(str(problem), mark.line + 1 if mark else None) from exc


def _bounded(text: str) -> None:
    """Refuse a document whose aliases expand it past MAX_NODES values (a "billion laughs":
    nine aliases of nine aliases … load as shared references, then explode when walked)."""
    sizes: dict[str, int] = {}
    stack: list[tuple[str | None, int]] = [(None, 0)]
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            stack.append((event.anchor, 1))
            continue
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            anchor, size = stack.pop()
            if anchor:
                sizes[anchor] = size
            grown = 0, size
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            grown = 0, 1
        elif isinstance(event, yaml.AliasEvent):
            grown = 0, sizes.get(event.anchor or "", 1)
        else:
            continue
        anchor, size = stack[-1]
        stack[-1] = (anchor, size + grown[1])
        if stack[-1][1] > MAX_NODES:
            line = event.start_mark.line + 1 if event.start_mark else None
            raise SiteConfigError(f"its aliases expand it past {MAX_NODES:,} values (refused: "
                                  "a YAML bomb?)", line)


def parse_frontmatter(data: bytes) -> dict[str, Any]:
    """The frontmatter of a content file that steers a site (Hugo's `_index.md` cascade)."""
    try:
        meta = _shallow(frontmatter_block(data))
    except RecursionError:
        raise SiteConfigError(f"frontmatter: nested deeper than {MAX_NESTING} levels") from None
    except SiteConfigError as exc:
        raise SiteConfigError(f"frontmatter: {exc.message}") from None
    except (ValueError, yaml.YAMLError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SiteConfigError(f"frontmatter: {' '.join(str(exc).split())[:200]}") from exc
    return meta if isinstance(meta, dict) and meta is not NO_BLOCK else {}


def _shallow(value: Any) -> Any:
    """`value` when its tables and lists nest at most MAX_NESTING deep, walked level by level
    without recursion (a YAML alias of its own parent, `&a [*a]`, is endlessly deep)."""
    level = [value] if isinstance(value, (dict, list)) else []
    for _ in range(MAX_NESTING):
        if not level:
            return value
        below: dict[int, Any] = {}
        for item in level:
            for child in item.values() if isinstance(item, dict) else item:
                if isinstance(child, (dict, list)):
                    below[id(child)] = child
        level = list(below.values())
    if not level:
        return value
    raise SiteConfigError(f"nested deeper than {MAX_NESTING} levels")


def lowered(value: Any) -> Any:
    """Mapping keys lowercased all the way down (Hugo's config keys are case-insensitive)."""
    if isinstance(value, dict):
        return {str(k).lower(): lowered(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lowered(v) for v in value]
    return value


def merged(low: dict[str, Any], high: dict[str, Any]) -> dict[str, Any]:
    """`high` deep-merged over `low`: tables merge, anything else in `high` wins."""
    out = dict(low)
    for key, value in high.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def line_of(data: bytes, key: str) -> int | None:
    """The first line that names `key` (for a warning about a value that parsed but is
    wrong); None when no line does."""
    name = re.escape(key.encode())
    pattern = re.compile(rb"(?im)^[ \t]*(?:[\"']?" + name + rb"[\"']?[ \t]*[:=]"  # key = / key:
                         rb"|\[\[?[^\]\n]*\b" + name + rb"\]\]?)")  # [table.key], [[…key]]
    found = pattern.search(data)
    return data.count(b"\n", 0, found.start()) + 1 if found else None
