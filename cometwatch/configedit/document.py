"""The tomlkit edge of the webhooks.toml editor: the only module importing tomlkit.

A `[[webhooks]]` table is changed in place: only the values a form changed are replaced (each
keeping its comment), a new key goes below the table's own keys, a removed table takes the
comment lines heading it (after a blank line above its header), and the comments heading what
follows stay where they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.items import AoT, Comment, Table, Whitespace

from cometwatch.config import EVENT_NAMES
from cometwatch.configedit.values import (
    Change,
    EditRefused,
    Listed,
    SecretSource,
    WebhookFields,
)

SECRET_KEYS = ("secret", "secret_env", "secret_file", "secrets")


class Document:
    """One webhooks.toml as tomlkit holds it."""

    def __init__(self, doc: tomlkit.TOMLDocument, path: Path) -> None:
        self._doc = doc
        self.path = path

    @classmethod
    def parse(cls, data: bytes, path: Path) -> Document:
        try:
            return cls(tomlkit.parse(data.decode("utf-8")), path)
        except UnicodeDecodeError as exc:
            raise EditRefused(f"{path}: not UTF-8 text ({exc.reason}); fix it by hand, "
                              "then reload this page") from exc
        except tomlkit.exceptions.TOMLKitError as exc:
            raise EditRefused(f"{path}: not valid TOML ({exc}); fix it by hand, then "
                              "reload this page") from exc

    def listed(self) -> tuple[Listed, ...]:
        return tuple(_listed(i, t) for i, t in enumerate(_tables(self._doc, self.path, False)))

    def names(self) -> list[str]:
        return [str(t.get("name", "")) for t in _tables(self._doc, self.path, True)]

    def add(self, change: Change) -> int:
        """Append a table for `change`; its index."""
        index = len(_tables(self._doc, self.path, True))
        _append(self._doc, _new_table(change))
        return index

    def update(self, name: str, change: Change | None) -> int:
        """Change the table of webhook `name` (remove it when `change` is None); its index."""
        tables = _tables(self._doc, self.path, True)
        index = next((i for i, t in enumerate(tables) if t.get("name") == name), -1)
        if index < 0:
            raise EditRefused(f"no webhook named {name!r} in {self.path} (it was removed "
                              "meanwhile?)")
        if change is None:
            _remove(self._doc, index)
        else:
            _update(tables[index], change)
        return index

    def text(self) -> str:
        return tomlkit.dumps(self._doc)


def _tables(doc: tomlkit.TOMLDocument, path: Path, editing: bool) -> list[Table]:
    raw = doc.get("webhooks")
    if raw is None:
        return []
    if isinstance(raw, AoT):
        return list(raw)
    if editing:
        raise EditRefused(f"{path}: webhooks is written as an inline array; write each "
                          "webhook as a [[webhooks]] table to edit it here")
    return []


def _listed(index: int, table: Any) -> Listed:
    def strings(key: str) -> tuple[str, ...] | None:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return (value,)
        return tuple(str(v) for v in value) if isinstance(value, list) else None

    events = strings("events")
    fields = WebhookFields(name=str(table.get("name", "")), url=str(table.get("url", "")),
                           events=EVENT_NAMES if events is None else events,
                           collections=strings("collections"),
                           enabled=bool(table.get("enabled", True)))
    shown = {"name", "url", "events", "collections", "enabled", *SECRET_KEYS}
    return Listed(index, fields, _secret_source(table),
                  tuple(str(k) for k in table if k not in shown))


def _secret_source(table: Any) -> SecretSource:
    if "secret_env" in table:
        return SecretSource("secret_env", f"environment variable {table['secret_env']}")
    if "secret_file" in table:
        return SecretSource("secret_file", f"file {table['secret_file']}")
    if "secrets" in table:
        items = table["secrets"]
        parts = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict):
                continue
            if "env" in item:
                parts.append(f"environment variable {item['env']}")
            elif "file" in item:
                parts.append(f"file {item['file']}")
            else:
                parts.append("a value in the file")
        return SecretSource("secrets", "rotating secrets: " + (", ".join(parts) or "none"))
    if "secret" in table:
        return SecretSource("secret", "written in the file")
    return SecretSource("", "none")


def _new_table(change: Change) -> Table:
    fields = change.fields
    table = tomlkit.table()
    table["name"] = fields.name
    table["url"] = fields.url
    table["secret"] = change.secret or ""
    if fields.events != EVENT_NAMES:
        table["events"] = list(fields.events)
    if fields.collections is not None:
        table["collections"] = list(fields.collections)
    table["enabled"] = fields.enabled
    return table


def _update(table: Table, change: Change) -> None:
    """Replace the values that changed; the others keep their writing and comments."""
    fields = change.fields
    _put(table, "name", fields.name)
    _put(table, "url", fields.url)
    if "events" in table or fields.events != EVENT_NAMES:
        _put(table, "events", list(fields.events))
    if fields.collections is None:
        if "collections" in table:
            del table["collections"]
    else:
        _put(table, "collections", list(fields.collections))
    if "enabled" in table or not fields.enabled:
        _put(table, "enabled", fields.enabled)
    if change.secret is not None:
        if not _secret_source(table).editable:
            raise EditRefused("this webhook's secret comes from "
                              f"{_secret_source(table).detail}: change it there", "secret")
        _put(table, "secret", change.secret)


def _put(table: Table, key: str, value: Any) -> None:
    current = table.get(key)
    if current is not None and _plain(current) == value:
        return
    if current is None:
        # A new key goes below the table's last key (and the comments right under it), not
        # below the blank line and comments that head the next table.
        body = table.value.body
        lead = _lead(body)
        del body[len(body) - len(lead):]
        table[key] = value
        body.extend(lead)
        return
    comment = current.trivia.comment if hasattr(current, "trivia") else ""
    table[key] = value
    if comment and not table[key].trivia.comment:  # kept by tomlkit as a rule; be sure
        table[key].comment(comment.lstrip("# "))


def _plain(item: Any) -> Any:
    unwrapped = item.unwrap() if hasattr(item, "unwrap") else item
    return list(unwrapped) if isinstance(unwrapped, tuple) else unwrapped


def _append(doc: tomlkit.TOMLDocument, table: Table) -> None:
    """Add `table` after the last [[webhooks]] table; the comments after a blank line at the
    end of that one (notes heading what follows, or the end of the file) move after it."""
    raw = doc.get("webhooks")
    lead: list[tuple[Any, Any]] = []
    if isinstance(raw, AoT):
        last = raw[-1] if len(raw) else None
        if last is not None:
            end = _end(last)
            lead = _lead(end)
            del end[len(end) - len(lead):]
            last.add(tomlkit.nl())
        raw.append(table)
        table.value.body.extend(lead)
        return
    if raw is not None:
        raise EditRefused("webhooks is written as an inline array; write each webhook as a "
                          "[[webhooks]] table to edit it here")
    above = doc.body[-1][1] if doc.body else None
    if isinstance(above, Table):  # its closing notes stay at the end of the file
        end = _end(above)
        lead = _lead(end)
        del end[len(end) - len(lead):]
    if doc.body and not doc.as_string().endswith("\n\n"):
        doc.add(tomlkit.nl())
    doc.append("webhooks", tomlkit.aot())
    doc["webhooks"].append(table)
    table.value.body.extend(lead)


def _remove(doc: tomlkit.TOMLDocument, index: int) -> None:
    """Remove table `index` with the comments that head it (those after a blank line at the
    end of what is above it); the comments at its own end after a blank line, which head what
    follows, take their place."""
    aot = doc["webhooks"]
    tables = list(aot)
    lead = _lead(_end(tables[index]))
    above = (_end(tables[index - 1]) if index > 0 else _container_before(doc, aot))
    if above is not None:
        del above[len(above) - len(_lead(above)):]
        if lead:
            above.extend(lead)
        elif index < len(tables) - 1:
            above.append((None, Whitespace("\n")))
    else:
        _drop_heading_at_top(doc, aot)
    if above is None and lead and index < len(tables) - 1:
        # No table above the first one: the comments heading the next go before its header.
        following = tables[index + 1]
        text = "".join(item.as_string() for _, item in lead).lstrip("\n")
        following.trivia.indent = text + following.trivia.indent
    del aot[index]
    if not len(aot):
        doc.remove("webhooks")
        if above is None and lead:
            doc.body.extend(lead)  # the file's closing notes, after its last table went


def _drop_heading_at_top(doc: tomlkit.TOMLDocument, aot: AoT) -> None:
    """The comment lines right above the first [[webhooks]] header when no table is above it
    (they are the document's own items), blanked in place: the document indexes its keys by
    position, so its items are replaced, never removed."""
    body = doc.body
    at = next(i for i, (_, item) in enumerate(body) if item is aot)
    start = at
    while start > 0 and body[start - 1][0] is None and isinstance(body[start - 1][1], Comment):
        start -= 1
    if start == at or (start > 0 and not isinstance(body[start - 1][1], Whitespace)):
        return  # no comments, or they follow the lines above with no blank line between
    for i in range(max(start - 1, 0), at):
        body[i] = (None, Whitespace(""))


def _lead(body: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """The end of a table's body that heads what follows: from the first blank line after
    its last key (comments right below a key, with no blank line, are the table's own)."""
    end = len(body)
    while end > 0 and body[end - 1][0] is None:
        end -= 1  # `end`: just after the last key
    for at in range(end, len(body)):
        if isinstance(body[at][1], Whitespace):
            return body[at:]
    return []


def _container_before(doc: tomlkit.TOMLDocument,
                      aot: AoT) -> list[tuple[Any, Any]] | None:
    """The body whose end is right above the first [[webhooks]] header: the table before it
    in the document (top-level comments after a table's keys live in that table)."""
    previous = None
    for _key, item in doc.body:
        if item is aot:
            break
        previous = item
    if isinstance(previous, Table):
        return _end(previous)
    return None


def _end(table: Table) -> list[tuple[Any, Any]]:
    """The body whose last lines are the table's last lines in the file: its own, or that of
    its last sub-table (`[webhooks.headers]`), where the comments after it are kept."""
    body = table.value.body
    keyed = [item for key, item in body if key is not None]
    if keyed and isinstance(keyed[-1], Table) and not keyed[-1].is_super_table():
        return _end(keyed[-1])
    return body
