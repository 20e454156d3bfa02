"""One reader for every section: a TOML table checked against the keys its dataclasses declare.

A key is a dataclass field declared with `key(kind, default, …)`: its kind (type and range),
its default, whether a preset may set it, and the fix shown when it is missing. The keys a
section knows, their defaults and their checks all come from that one declaration.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any

from cometwatch.config.kinds import Bad, Custom, Kind
from cometwatch.errors import ConfigError

_KEY = "cometwatch.config.key"


@dataclass(frozen=True, slots=True)
class Key:
    kind: Kind
    preset: bool = False  # a preset may set it (any key in the config still wins)
    fix: str = ""  # for a required key that is missing
    delivery: bool = False  # on a webhook: [delivery]'s value is its default


def key(kind: Kind, default: Any = MISSING, *, preset: bool = False, fix: str = "",
        delivery: bool = False) -> Any:
    """A dataclass field that is a config key."""
    return field(default=default, metadata={_KEY: Key(kind, preset, fix, delivery)})


def spec(cls: type, name: str) -> tuple[Any, Key]:
    """The default and declaration of one key of `cls`."""
    item = next(item for item in fields(cls) if item.name == name)
    return item.default, item.metadata[_KEY]


def declared(cls: type) -> Iterator[tuple[Field[Any], Key]]:
    """The config keys a dataclass declares, in order."""
    for item in fields(cls):
        spec = item.metadata.get(_KEY)
        if spec is not None:
            yield item, spec


def known_keys(*classes: type) -> set[str]:
    names = set()
    for cls in classes:
        for item, spec in declared(cls):
            names.add(item.name)
            if isinstance(spec.kind, Custom):
                names.update(spec.kind.also)
    return names


@dataclass(frozen=True, slots=True)
class Where:
    """A table's place in the config: its file and its key prefix."""

    file: str
    prefix: str = ""

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def inner(self, name: str) -> Where:
        return Where(self.file, self.key(name))

    def fail(self, name: str, problem: str, fix: str = "") -> ConfigError:
        return ConfigError(self.file, self.key(name), problem, fix)


def table_of(where: Where, table: object, known: set[str]) -> dict[str, Any]:
    """`table` as a dict, refusing anything else and every key not in `known`."""
    if not isinstance(table, dict):
        raise ConfigError(where.file, where.prefix, "must be a table",
                          f"write it as [{where.prefix}]")
    for name in table:
        if name not in known:
            raise where.fail(name, "unknown key", "known keys: " + ", ".join(sorted(known)))
    return table


def read(where: Where, table: Mapping[str, Any], cls: type,
         defaults: Mapping[str, Any] | None = None,
         preset: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The values of `cls`'s declared keys from `table` (already checked by `table_of`):
    the table's own, else the preset's (for a key a preset may set), else the default
    (`defaults` first, then the declaration's). Custom keys and a missing key without a
    default are left out, for the section to fill in."""
    out: dict[str, Any] = {}
    for item, spec in declared(cls):
        if isinstance(spec.kind, Custom):
            continue
        default = (defaults or {}).get(item.name, item.default)
        if item.name in table:
            raw = table[item.name]
        elif spec.preset and preset and item.name in preset:
            raw = preset[item.name]
        elif default is MISSING:
            if spec.fix:
                raise where.fail(item.name, "is missing", spec.fix)
            continue
        else:
            out[item.name] = default
            continue
        try:
            out[item.name] = spec.kind.read(raw, item.name,
                                            None if default is MISSING else default)
        except Bad as bad:
            raise where.fail(item.name, bad.problem, bad.fix) from None
    return out
