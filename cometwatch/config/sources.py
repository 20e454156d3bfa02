"""Where a secret or token comes from: `{ file = … }`, `{ env = … }` or `{ value = … }`, and a
webhook's `secret`, `secret_env`, `secret_file` or `secrets`.

A secret is text: a file is read as UTF-8 (one that is not is refused, naming the file) with
the whitespace around it removed; its UTF-8 bytes are the key a signature is made with.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cometwatch import utc
from cometwatch.config.model import Secret
from cometwatch.config.reader import Where, table_of
from cometwatch.errors import ConfigError

# A secret is a line; a "file" larger than this (a device like /dev/zero, a log, a key ring)
# is no secret, and reading it whole would hang or fill memory.
MAX_SECRET_FILE = 64 * 1024
_ONE_OF = 'give exactly one of { file = "…" }, { env = "…" } or { value = "…" }'


class Unavailable(ConfigError):
    """A secret whose environment variable or file is not there or not readable text (as
    opposed to a config that is wrong): refused only where it is needed."""


@dataclass(frozen=True, slots=True)
class Sources:
    """What secrets are read with: the config's folder, the environment, and the warnings."""

    base: Path
    environ: Mapping[str, str]
    warnings: list[str]

    def item(self, where: Where, item: object, expires: bool = False,
             flat: str = "") -> Secret:
        """One `{ file | env | value [, expires] }` table at `where`; `flat` names the
        webhook key it was written as (secret_env = …), where problems are reported."""
        known = {"value", "env", "file"} | ({"expires"} if expires else set())
        table = table_of(where, item, known)
        given = [k for k in ("value", "env", "file") if k in table]
        if len(given) != 1:
            raise ConfigError(where.file, where.prefix, "has no source" if not given else
                              "has more than one of " + ", ".join(given), _ONE_OF)
        when = _timestamp(where, table["expires"]) if "expires" in table else None
        return Secret(self._read(where, flat or given[0], given[0], table[given[0]]), when)

    def webhook(self, where: Where, table: Mapping[str, Any], need: bool,
                ) -> tuple[tuple[Secret, ...], Unavailable | None]:
        """A webhook's secrets, newest first; without `need`, those that can be read and why
        the others could not."""
        given = [k for k in ("secret", "secret_env", "secret_file", "secrets") if k in table]
        if len(given) != 1:
            problem = "has no secret" if not given else "has more than one of " + ", ".join(given)
            raise where.fail("secret", problem, "set exactly one of secret, secret_env (an "
                             "environment variable) or secret_file")
        if given == ["secrets"]:
            raw = table["secrets"]
            if not isinstance(raw, list) or not raw:
                raise where.fail("secrets", "must be a non-empty list",
                                 'newest first: [{ env = "NEW" }, { env = "OLD", expires = "…" }]')
            items = [(where.inner(f"secrets[{i}]"), item, "") for i, item in enumerate(raw)]
        else:
            source = {"secret": "value", "secret_env": "env", "secret_file": "file"}[given[0]]
            items = [(where, {source: table[given[0]]}, given[0])]
        out, missing = [], None
        for place, item, flat in items:
            try:
                out.append(self.item(place, item, expires=not flat, flat=flat))
            except Unavailable as exc:
                if need:
                    raise
                missing = missing or exc
        return tuple(out), missing

    def _read(self, where: Where, name: str, source: str, value: object) -> str:
        if not isinstance(value, str):
            raise where.fail(name, "must be a string", f'write it as {name} = "…"')
        if source == "env":
            variable, value = value, self.environ.get(value, "")
            if not value:
                raise Unavailable(where.file, where.key(name),
                                  f"environment variable {variable} is not set or empty",
                                  f"export {variable}=… before starting cometwatch")
            try:
                value.encode("utf-8")  # os.environ keeps bytes it cannot decode as surrogates
            except UnicodeEncodeError:
                raise Unavailable(where.file, where.key(name),
                                  f"environment variable {variable} is not UTF-8 text",
                                  "a secret is text: set one such as `openssl rand -hex 32` "
                                  "gives") from None
        elif source == "file":
            value = self._file(where.file, where.key(name), value)
        if not value:
            raise where.fail(name, "the secret is empty", "use a long random string")
        return value

    def _file(self, file: str, label: str, name: str) -> str:
        path = self.base / Path(name).expanduser()
        credentials = self.environ.get("CREDENTIALS_DIRECTORY")
        if not path.is_file() and credentials:
            path = Path(credentials) / name
        try:
            secret = read_secret_file(path)
        except UnreadableSecret as exc:
            raise Unavailable(file, label, exc.problem, exc.fix) from None
        if secret.shared:
            self.warnings.append(f"{file}: {label}: {path} is readable by group or others "
                                 f"(chmod 600 {path})")
        return secret.text


class UnreadableSecret(Exception):
    """A secret file that cannot be one: missing, not a regular file, too large, not text."""

    def __init__(self, problem: str, fix: str) -> None:
        self.problem, self.fix = problem, fix
        super().__init__(f"{problem} ({fix})")


@dataclass(frozen=True, slots=True)
class SecretFile:
    text: str  # surrounding whitespace removed
    shared: bool  # readable by group or others


def read_secret_file(path: Path) -> SecretFile:
    """The one reader of a secret file (the config's `file = …`, `verify --secret-file`):
    it never blocks on a FIFO or a device and never reads more than MAX_SECRET_FILE."""
    try:
        # O_NONBLOCK: opening a FIFO with no writer would wait forever.
        with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            raw = handle.read(MAX_SECRET_FILE + 1) if stat.S_ISREG(mode) else b""
    except OSError as exc:
        raise UnreadableSecret(f"cannot read {path}: {exc.strerror}",
                               "check the path and its permissions") from None
    if not stat.S_ISREG(mode):
        raise UnreadableSecret(f"{path} is not a regular file",
                               "point it at a file holding the secret")
    if len(raw) > MAX_SECRET_FILE:
        raise UnreadableSecret(f"{path} is larger than {MAX_SECRET_FILE >> 10} KiB: not a "
                               "secret", "point it at a file holding the secret")
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise UnreadableSecret(f"{path} is not UTF-8 text", "a secret is text: write one "
                               "such as `openssl rand -hex 32` gives") from None
    return SecretFile(text, bool(mode & (stat.S_IRWXG | stat.S_IRWXO)))


def _timestamp(where: Where, value: object) -> float:
    fix = 'write it as "2026-12-31T00:00:00Z"'
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    if not isinstance(value, str):
        raise where.fail("expires", "must be a date and time", fix)
    moment = utc.parse(value)
    if moment is None:
        raise where.fail("expires", f"not a date and time: {value!r}", fix)
    return moment
