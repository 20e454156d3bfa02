"""The state store's SQL, kept as SQL: schema migrations and named queries.

`schema.sql` holds the migrations in order, each under a `-- migration: N` line; a database's
PRAGMA user_version says how many it has applied. `queries.sql` holds one statement under each
`-- name: NAME` line. Only cometwatch.store runs them.
"""

from __future__ import annotations

from importlib.resources import files


def _sections(text: str, marker: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for chunk in text.split(f"\n-- {marker}: ")[1:]:
        head, _, body = chunk.partition("\n")
        out.append((head.split()[0], body.strip()))
    return out


def _read(name: str) -> str:
    return "\n" + files(__package__).joinpath(name).read_text(encoding="utf-8")


MIGRATIONS: tuple[str, ...] = tuple(body for _, body in _sections(_read("schema.sql"),
                                                                  "migration"))
QUERIES: dict[str, str] = dict(_sections(_read("queries.sql"), "name"))
