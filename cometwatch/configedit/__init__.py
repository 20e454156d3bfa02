"""Edit the `[[webhooks]]` tables of webhooks.toml in place (tomlkit, in `document.py` only).

The Webhooks page adds, edits and removes one webhook at a time. The file stays the user's:
its comments, blank lines, key order and the keys the page does not show are kept as written;
only the values the form changed are replaced. A save is refused, the file untouched, when

- the result is a config `cometwatch check` would refuse (the error is given for the form's
  field when it is about the edited webhook);
- the file changed since the form was built (edited by hand, or by another browser): the
  form carries a hash of the bytes it was built from, and the refusal shows what changed;
- the file is read-only (its mode has no write bit, a read-only mount, or this user cannot
  write it or its folder).

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
from pathlib import Path

from cometwatch.config import EVENT_NAMES, parse_config_text
from cometwatch.configedit.document import SECRET_KEYS, Document
from cometwatch.configedit.values import (
    Change,
    EditRefused,
    FileChanged,
    FileReadOnly,
    Listed,
    Saved,
    SecretSource,
    Snapshot,
    WebhookFields,
)
from cometwatch.errors import ConfigError

__all__ = ["Change", "ConfigEditor", "EditRefused", "FileChanged", "FileReadOnly", "Listed",
           "Saved", "SecretSource", "Snapshot", "WebhookFields", "new_secret"]

# Bounds on what a form may ask, so a hostile or mistaken form cannot bloat the file.
MAX_NAME = 100
MAX_URL = 2048
MAX_SECRET = 1024
MAX_COLLECTIONS = 100
# Where a config error about a webhook's key shows on the form.
_FIELD_OF_KEY = {"name": "name", "url": "url", "allow_http": "url", "events": "events",
                 "collections": "collections", "enabled": "enabled", "signing": "secret",
                 **{key: "secret" for key in SECRET_KEYS}}
_ERROR_KEY = re.compile(r"^webhooks\[(\d+)\]\.?([A-Za-z_]*)")
# In a diff shown on the page: the values of secrets, of tokens and of credential-like
# request headers (`headers = { Authorization = "Bearer …" }`) are masked.
_SECRET_TEXT = re.compile(
    r"""(?i)((?:secret|value|[\w-]*(?:token|password|authorization|api[_-]?key)[\w-]*)"""
    r"""["']?\s*=\s*)("(?:[^"\\]|\\.)*"|'[^']*')""")



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
        return self._snapshot(data, Document.parse(data, self.path))

    def _bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            return b""  # no file yet: the first save creates it
        except OSError as exc:
            raise EditRefused(f"{self.path}: cannot be read: {exc.strerror}") from exc

    def _snapshot(self, data: bytes, doc: Document) -> Snapshot:
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            self._seen[digest] = data.decode("utf-8")
            self._seen.move_to_end(digest)
            while len(self._seen) > self._remember:
                self._seen.popitem(last=False)
        return Snapshot(self.path, digest, doc.listed(), self._read_only())

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
            doc = Document.parse(data, self.path)
            generated = None
            if change is not None:
                _check_form(change, doc.names(), name)
                if change.generate:
                    generated = new_secret()
                    change = Change(change.fields, generated)
            if name is None:
                assert change is not None
                index = doc.add(change)
            else:
                index = doc.update(name, change)
            text = doc.text()
            self._validate(text, index if change is not None else None)
            encoded = text.encode("utf-8")
            self._write(encoded)
        return Saved(self._snapshot(encoded, Document.parse(encoded, self.path)), generated)

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


def _check_form(change: Change, names: list[str], editing: str | None) -> None:
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
    for name in names:
        if name == fields.name and fields.name != editing:
            raise EditRefused(f"a webhook named {fields.name!r} already exists; give each "
                              "webhook its own name", "name")
    if editing is None and change.secret is None and not change.generate:
        raise EditRefused("a new webhook needs a secret: type one or tick generate", "secret")


def _masked(text: str) -> str:
    from cometwatch.redaction import mask_text

    return mask_text(_SECRET_TEXT.sub(r'\1"********"', text))
