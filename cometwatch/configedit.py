"""Edit the `[[webhooks]]` tables of webhooks.toml in place: the only module importing tomlkit.

The Webhooks page adds, edits and removes one webhook at a time. The file stays the user's:
its comments, blank lines, key order and the keys the page does not show are kept as written;
only the values the form changed are replaced. A save is refused, the file untouched, when

- the result is a config `cometwatch check` would refuse (the error is given for the form's
  field when it is about the edited webhook);
- the file changed since the form was built (edited by hand, or by another browser): the
  form carries a hash of the bytes it was built from, and the refusal shows what changed;
- the file is read-only (its mode has no write bit, or this user cannot write it).

A save is atomic: a temporary file in the same folder, fsync, rename over the file (keeping its
mode), fsync of the folder, so a crash leaves the old file or the new one, never half of one.

Secrets are write-only here: nothing in a Snapshot holds one, the page can only replace a
literal `secret` (or keep it); a webhook whose secret comes from `secret_env`, `secret_file` or
`secrets` says where, and its secret is not edited from the page.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import secrets
import stat
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.items import AoT, Comment, Table, Whitespace

from cometwatch.config import EVENT_NAMES, parse_config_text
from cometwatch.errors import CometwatchError, ConfigError

# Bounds on what a form may ask, so a hostile or mistaken form cannot bloat the file.
MAX_NAME = 100
MAX_URL = 2048
MAX_SECRET = 1024
MAX_COLLECTIONS = 100
_SECRET_KEYS = ("secret", "secret_env", "secret_file", "secrets")
# Where a config error about a webhook's key shows on the form.
_FIELD_OF_KEY = {"name": "name", "url": "url", "allow_http": "url", "events": "events",
                 "collections": "collections", "enabled": "enabled", "signing": "secret",
                 **{key: "secret" for key in _SECRET_KEYS}}
_ERROR_KEY = re.compile(r"^webhooks\[(\d+)\]\.?([A-Za-z_]*)")
# In a diff shown on the page: the values of secrets, of tokens and of credential-like
# request headers (`headers = { Authorization = "Bearer …" }`) are masked.
_SECRET_TEXT = re.compile(
    r"""(?i)((?:secret|value|[\w-]*(?:token|password|authorization|api[_-]?key)[\w-]*)"""
    r"""["']?\s*=\s*)("(?:[^"\\]|\\.)*"|'[^']*')""")


class EditRefused(CometwatchError):
    """A save that was not made; the file is as it was. `field` names the form field the
    message belongs beside (None: the whole form)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message, self.field = message, field


class FileChanged(EditRefused):
    """The file is not the one the form was built from. `diff` shows how (secrets masked);
    empty when the version the form saw is no longer known."""

    def __init__(self, message: str, diff: str) -> None:
        super().__init__(message)
        self.diff = diff


class FileReadOnly(EditRefused):
    pass


@dataclass(frozen=True, slots=True)
class SecretSource:
    """Where a webhook's secret comes from, said without the secret."""

    key: str  # secret, secret_env, secret_file, secrets; "" when it has none
    detail: str  # "environment variable NETLIFY_SECRET", "file /etc/…", "written in the file"

    @property
    def editable(self) -> bool:
        return self.key in ("secret", "")


@dataclass(frozen=True, slots=True)
class WebhookFields:
    """What the page edits of one webhook."""

    name: str
    url: str
    events: tuple[str, ...] = EVENT_NAMES
    collections: tuple[str, ...] | None = None  # None: every collection
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class Listed:
    """One `[[webhooks]]` table as the file has it."""

    index: int
    fields: WebhookFields
    secret: SecretSource
    other_keys: tuple[str, ...]  # kept as written; the page shows their names only


@dataclass(frozen=True, slots=True)
class Change:
    """What a submitted form asks for one webhook."""

    fields: WebhookFields
    secret: str | None = None  # a new literal secret; None keeps the one it has
    generate: bool = False  # make a new random secret instead


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The file as read once: its bytes' hash (the form's token) and its webhooks."""

    path: Path
    digest: str
    webhooks: tuple[Listed, ...]
    writable: str | None  # why it cannot be saved; None when it can

    def webhook(self, name: str) -> Listed | None:
        return next((w for w in self.webhooks if w.fields.name == name), None)


@dataclass(frozen=True, slots=True)
class Saved:
    snapshot: Snapshot
    generated: str | None  # a secret made for this save: shown once, then never again


def new_secret() -> str:
    """A random secret of 256 bits, URL-safe (as `cometwatch init` writes one)."""
    return secrets.token_urlsafe(32)


class ConfigEditor:
    """Reads and saves one webhooks.toml. Thread-safe: saves take turns, and each checks the
    file against the hash its form was built from."""

    def __init__(self, path: Path, environ: Mapping[str, str] | None = None,
                 remember: int = 32) -> None:
        self.path = path
        self._environ = environ
        self._lock = threading.Lock()
        # Recent versions of the file by hash, to show what changed under an open form.
        self._seen: OrderedDict[str, str] = OrderedDict()
        self._remember = remember

    # -- reading --------------------------------------------------------------------------

    def read(self) -> Snapshot:
        data = self._bytes()
        return self._snapshot(data, self._document(data))

    def _bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""  # no file yet: the first save creates it
        except OSError as exc:
            raise EditRefused(f"{self.path}: cannot be read: {exc.strerror}") from exc

    def _document(self, data: bytes) -> tomlkit.TOMLDocument:
        try:
            return tomlkit.parse(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise EditRefused(f"{self.path}: not UTF-8 text ({exc.reason}); fix it by hand, "
                              "then reload this page") from exc
        except tomlkit.exceptions.TOMLKitError as exc:
            raise EditRefused(f"{self.path}: not valid TOML ({exc}); fix it by hand, then "
                              "reload this page") from exc

    def _snapshot(self, data: bytes, doc: tomlkit.TOMLDocument) -> Snapshot:
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            self._seen[digest] = data.decode("utf-8")
            self._seen.move_to_end(digest)
            while len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        tables = _tables(doc, self.path, editing=False)
        return Snapshot(self.path, digest, tuple(_listed(i, t) for i, t in enumerate(tables)),
                        self._read_only())

    def _read_only(self) -> str | None:
        """Why a save cannot be made here; None when it can."""
        folder = self.path.parent
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            mode = None
        except OSError as exc:
            return f"{self.path}: {exc.strerror}"
        if mode is not None and not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH):
            return (f"{self.path} is read-only (mode {stat.S_IMODE(mode):04o}): this page "
                    "does not change it; make it writable (chmod u+w) to edit it here")
        if _read_only_mount(folder):
            return (f"{folder} is on a file system mounted read-only for this process (under "
                    "systemd: ProtectSystem=, ReadOnlyPaths=): edit the file there, or see the "
                    "README's Webhooks page section for a writable config")
        if mode is not None and not os.access(self.path, os.W_OK):
            return f"{self.path} is not writable by this user (uid {os.getuid()})"
        if not os.access(folder, os.W_OK | os.X_OK):
            return (f"{folder} is not writable by this user (uid {os.getuid()}): a save "
                    f"writes a temporary file beside {self.path.name} and renames it over it")
        return None

    # -- saving ---------------------------------------------------------------------------

    def add(self, digest: str, change: Change) -> Saved:
        return self._save(digest, None, change)

    def edit(self, digest: str, name: str, change: Change) -> Saved:
        return self._save(digest, name, change)

    def remove(self, digest: str, name: str) -> Saved:
        return self._save(digest, name, None)

    def _save(self, digest: str, name: str | None, change: Change | None) -> Saved:
        with self._lock:
            data = self._bytes()
            if hashlib.sha256(data).hexdigest() != digest:
                raise self._changed(digest, data)
            why = self._read_only()
            if why:
                raise FileReadOnly(why)
            doc = self._document(data)
            tables = _tables(doc, self.path, editing=True)
            generated = None
            if change is not None:
                _check_form(change, tables, name)
                if change.generate:
                    generated = new_secret()
                    change = Change(change.fields, generated)
            if name is None:
                assert change is not None
                index = len(tables)
                _append(doc, _new_table(change))
            else:
                index = next((i for i, t in enumerate(tables) if t.get("name") == name), -1)
                if index < 0:
                    raise EditRefused(f"no webhook named {name!r} in {self.path} (it was "
                                      "removed meanwhile?)")
                if change is None:
                    _remove(doc, index)
                else:
                    _update(tables[index], change)
            text = tomlkit.dumps(doc)
            self._validate(text, index if change is not None else None)
            encoded = text.encode("utf-8")
            self._write(encoded)
        return Saved(self._snapshot(encoded, self._document(encoded)), generated)

    def _changed(self, digest: str, now: bytes) -> FileChanged:
        before = self._seen.get(digest)  # (called with the lock held)
        message = (f"{self.path.name} was changed since this page was loaded (by hand, or "
                   "from another page): nothing was saved; reload the page to edit the "
                   "current file")
        if before is None:
            return FileChanged(message, "")
        lines = difflib.unified_diff(_masked(before).splitlines(keepends=True),
                                     _masked(now.decode("utf-8", "replace"))
                                     .splitlines(keepends=True),
                                     "as the page loaded it", "as it is now")
        return FileChanged(message, "".join(lines))

    def _validate(self, text: str, index: int | None) -> None:
        """Refuse what `check` would refuse, naming the form's field when the error is the
        edited webhook's. Secrets from the environment or files are not read here: the page
        may run where they are not (`serve`), and the page never changes them."""
        try:
            parse_config_text(text, self.path, self._environ, secrets=False)
        except ConfigError as exc:
            where = _ERROR_KEY.match(exc.key or "")
            if where and index is not None and int(where.group(1)) == index:
                field = _FIELD_OF_KEY.get(where.group(2))
                message = exc.problem + (f" ({exc.fix})" if exc.fix else "")
                raise EditRefused(message, field) from exc
            raise EditRefused(f"the file would not load: {exc}; nothing was saved") from exc

    def _write(self, data: bytes) -> None:
        """Atomically: a temporary file beside it, fsync, rename over it, fsync the folder."""
        folder = self.path.parent
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o600  # it holds secrets
        try:
            fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                             dir=folder)
        except OSError as exc:
            raise FileReadOnly(f"cannot write in {folder}: {exc.strerror}; nothing was "
                               "saved") from exc
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fchmod(out.fileno(), mode)
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except OSError as exc:
            Path(temporary).unlink(missing_ok=True)
            raise EditRefused(f"cannot save {self.path}: {exc.strerror}; nothing was "
                              "saved") from exc
        try:
            dir_fd = os.open(folder, os.O_RDONLY)
        except OSError:
            return  # saved; only the rename's durability is not forced
        try:
            os.fsync(dir_fd)
        except OSError:
            pass  # some file systems refuse fsync on a folder: the rename stands
        finally:
            os.close(dir_fd)


def _read_only_mount(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


# -- the document ---------------------------------------------------------------------------

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
    shown = {"name", "url", "events", "collections", "enabled", *_SECRET_KEYS}
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


def _check_form(change: Change, tables: list[Table], editing: str | None) -> None:
    """What the config loader cannot say about a form: bounds, and a clash of names."""
    fields = change.fields
    if len(fields.name) > MAX_NAME:
        raise EditRefused(f"at most {MAX_NAME} characters", "name")
    if len(fields.url) > MAX_URL:
        raise EditRefused(f"at most {MAX_URL} characters", "url")
    if change.secret is not None and len(change.secret) > MAX_SECRET:
        raise EditRefused(f"at most {MAX_SECRET} characters", "secret")
    if change.secret is not None and change.secret != change.secret.strip():
        raise EditRefused("has spaces at its start or end (a copy-paste slip?)", "secret")
    for event in fields.events:
        if event not in EVENT_NAMES:
            raise EditRefused(f"unknown event {event!r} (known: {', '.join(EVENT_NAMES)})",
                              "events")
    if not fields.events:
        raise EditRefused("tick at least one event (to stop deliveries, untick enabled)",
                          "events")
    if fields.collections is not None and len(fields.collections) > MAX_COLLECTIONS:
        raise EditRefused(f"at most {MAX_COLLECTIONS} collections", "collections")
    for table in tables:
        if table.get("name") == fields.name and fields.name != editing:
            raise EditRefused(f"a webhook named {fields.name!r} already exists; give each "
                              "webhook its own name", "name")
    if editing is None and change.secret is None and not change.generate:
        raise EditRefused("a new webhook needs a secret: type one or tick generate", "secret")


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


def _masked(text: str) -> str:
    return _SECRET_TEXT.sub(r'\1"********"', text)
