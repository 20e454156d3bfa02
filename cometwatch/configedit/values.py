"""The values and errors of the webhooks.toml editor (cometwatch.configedit)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cometwatch.config import EVENT_NAMES
from cometwatch.errors import CometwatchError


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
