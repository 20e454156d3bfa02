"""The config as values, and the declaration of every key: its kind and range, its default,
whether a preset may set it, and its fix. The loader (cometwatch.config) reads them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cometwatch.config.checks import (
    clean_dir,
    extension,
    git_name,
    header,
    pattern,
    plain_name,
    preset_name,
    time_zone,
    workspace_name,
)
from cometwatch.config.kinds import (
    DAY,
    HOUR,
    Custom,
    Duration,
    Durations,
    Flag,
    Strings,
    Table,
    Text,
    Whole,
)
from cometwatch.config.reader import key, spec

EVENT_NAMES = (
    "content.created",
    "content.updated",
    "content.published",
    "content.unpublished",
    "content.deleted",
    "content.restored",
)
DATE_PREFIX = r"\d{4}-\d{2}-\d{2}-"  # the Jekyll date prefix a slug loses
DEFAULT_RETRY_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0,
                          86400.0)
PUSH_FORGES = ("github", "gitea", "forgejo", "gogs", "gitlab", "bitbucket", "bitbucket-server")
DEFAULT_LISTEN = ("127.0.0.1", 8750)
MAX_IN_FLIGHT = 64  # requests at once to one webhook: past this, a thread each costs more


class Secret:
    """A secret: text (UTF-8; its bytes are the HMAC key). Never in a repr, a log line or an
    error."""

    __slots__ = ("_value", "expires_at")

    def __init__(self, value: str, expires_at: float | None = None) -> None:
        self._value = value
        self.expires_at = expires_at

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value and \
            other.expires_at == self.expires_at

    def __hash__(self) -> int:
        return hash(self._value)


_FOLDER = Text(check=clean_dir)
_FIELDS = Strings()


@dataclass(frozen=True, slots=True)
class ContentRules:
    """What makes a file an entry and how its collection, slug, id and state are read: the
    content keys of [repository]."""

    content_dir: str = key(_FOLDER, "", preset=True)  # "" for the root
    extensions: tuple[str, ...] = key(
        Strings(empty="must name at least one extension", example='for example ["md"]',
                each=extension), ("md", "markdown"), preset=True)
    trash_dir: str = key(_FOLDER, ".trash")  # default: .trash inside content_dir
    drafts_dirs: tuple[str, ...] = key(Strings(each=clean_dir), ("_drafts",), preset=True)
    drafts_collection: str = key(Text(), "posts", preset=True)
    language_dirs: tuple[str, ...] = key(_FIELDS, (), preset=True)
    collections: tuple[tuple[str, str], ...] = key(  # (glob under content_dir, name)
        Table("glob = collection name", 'collections = { "blog/**" = "posts" }'), (),
        preset=True)
    exclude: tuple[str, ...] = key(_FIELDS, (), preset=True)  # globs: never entries
    id_fields: tuple[str, ...] = key(_FIELDS, ("uid", "id", "uuid"))
    slug_field: str = key(Text(), "slug")
    status_field: str = key(Text(), "status")
    published_values: tuple[str, ...] = key(Strings(each=str.lower), ("published",))
    draft_field: str = key(Text(), "draft", preset=True)
    published_field: str = key(Text(), "published", preset=True)
    publish_date_fields: tuple[str, ...] = key(
        _FIELDS, ("publishDate", "publish_date", "pubDate"), preset=True)
    expiry_date_fields: tuple[str, ...] = key(
        _FIELDS, ("expiryDate", "expiry_date", "unpublishDate", "unpublish_date"), preset=True)
    future_date_fields: tuple[str, ...] = key(_FIELDS, (), preset=True)  # a future `date`
    timezone: str = key(Text(check=time_zone), "UTC")
    strip_language_suffix: bool = key(Flag(), False, preset=True)  # Hugo `name.fr.md`
    filename_dates: bool = key(Flag(), False, preset=True)  # Jekyll: a future name prefix
    date_prefix: str = key(Text(check=pattern), DATE_PREFIX, preset=True)  # left off slugs
    url_fields: tuple[str, ...] = key(_FIELDS, (), preset=True)  # a URL ending in the slug
    # not a key: front matter fields a site model decides by (Decap's filter fields,
    # Eleventy's permalink), kept in Frontmatter.fields
    extra_fields: tuple[str, ...] = ()
    js_dates: bool = False  # not a key: dates read as JavaScript's `new Date(text)` (Astro)


@dataclass(frozen=True, slots=True)
class RepositoryConfig:
    path: Path = key(Text())  # default: the config file's folder
    branch: str | None = key(Text(check=git_name("branch", "main")), None)
    remote: str | None = key(Text(check=git_name("remote", "origin")), None)  # a remote's name
    fetch_interval: float = key(Duration(DAY), 300.0)
    poll_interval: float = key(Duration(DAY), 30.0)
    preset: str = key(Text(check=preset_name), "plain")
    rules: ContentRules = field(default_factory=ContentRules)
    site_dir: str = key(_FOLDER, "")  # the site's folder in the repository ("": the top)
    overrides: frozenset[str] = frozenset()  # the [repository] keys the file sets itself


@dataclass(frozen=True, slots=True)
class StateConfig:
    path: str | None = key(Text(), None)


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    retry_schedule: tuple[float, ...] = key(Durations(Duration(7 * DAY, zero=True), 100),
                                            DEFAULT_RETRY_SCHEDULE)
    max_in_flight: int = key(Whole(1, MAX_IN_FLIGHT), 4)
    timeout: float = key(Duration(HOUR), 15.0)
    connect_timeout: float = key(Duration(HOUR), 5.0)
    dead_retention: float = key(Duration(3650 * DAY), 30 * DAY)
    disable_after: float = key(Duration(365 * DAY, zero=True), 5 * DAY)  # 0: never


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    shutdown_timeout: float = key(Duration(HOUR, zero=True), 10.0)
    log_format: str = key(Text(choices=("text", "json"), noun="format",
                               fix='use "text" or "json"'), "text")


def _from_delivery(name: str) -> Any:
    """A webhook key whose default is [delivery]'s value."""
    default, declaration = spec(DeliveryConfig, name)
    return key(declaration.kind, default, delivery=True)


@dataclass(frozen=True, slots=True)
class Webhook:
    name: str = key(Text(check=plain_name), fix='give the webhook a name, e.g. name = "netlify"')
    url: str = key(Text(), fix='set url = "https://…"')  # checked by the loader
    secrets: tuple[Secret, ...] = key(Custom(also=("secret", "secret_env", "secret_file")))
    events: tuple[str, ...] = key(Strings(choices=EVENT_NAMES, noun="event"), EVENT_NAMES)
    collections: tuple[str, ...] | None = key(_FIELDS, None)
    enabled: bool = key(Flag(), True)
    timeout: float = _from_delivery("timeout")
    connect_timeout: float = _from_delivery("connect_timeout")
    retry_schedule: tuple[float, ...] = _from_delivery("retry_schedule")
    max_in_flight: int = _from_delivery("max_in_flight")
    coalesce: float | None = key(Duration(DAY), None)
    max_wait: float | None = key(Duration(7 * DAY), None)
    signing: tuple[str, ...] = key(Strings(choices=("cometcms", "standard"),
                                           noun="signing scheme",
                                           fix='use ["cometcms"], ["standard"] or both'),
                                   ("cometcms",))
    allow_http: bool = key(Flag(), False)
    ca_bundle: Path | None = key(Text(), None)
    disable_after: float = _from_delivery("disable_after")
    headers: tuple[tuple[str, str], ...] = key(
        Table("header = value strings", 'headers = { Authorization = "Bearer …" }',
              check=header), ())
    # The environment variables its secrets are read from, read or not: what a git hook's
    # scan, run with git's environment, may lack.
    secret_variables: tuple[str, ...] = ()
    # Why its secrets were left out (a config read without secrets): file, key, problem, fix.
    unread: tuple[str, str, str, str] | None = field(default=None, compare=False)

    @property
    def secret(self) -> Secret:
        """The newest secret: the one the CometCMS header is signed with."""
        if not self.secrets:
            from cometwatch.errors import ConfigError

            file, where, problem, fix = self.unread or (
                "(config)", f"webhook {self.name}", "has no secret loaded",
                "load the config with its secrets to sign")
            raise ConfigError(file, where, problem, fix)
        return self.secrets[0]

    def wants(self, event: str, collection: str) -> bool:
        if event not in self.events:
            return False
        return self.collections is None or collection in self.collections


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """[server]: where the HTTP side listens and the tokens it checks. A token that cannot be
    read is left out unless the config was loaded for serving (`load_config(serving=True)`)."""

    listen: str | None = key(Text(), None)  # as written; None when not set
    host: str = DEFAULT_LISTEN[0]  # parsed from listen (IPv6 without brackets)
    port: int = DEFAULT_LISTEN[1]
    public: bool = key(Flag(), False)
    workspace: str = key(Text(check=workspace_name), "")  # the loader fills in the default
    api_tokens: tuple[Secret, ...] = key(Custom(), ())
    admin_token: Secret | None = key(Custom(), None)
    metrics_token: Secret | None = key(Custom(), None)
    push_secrets: tuple[tuple[str, Secret], ...] = key(Custom(), ())
    # the API's author_id/updated_by: the commit author's name, "name <email>", or left out
    authors: str = key(Text(choices=("none", "name", "email")), "none")


@dataclass(frozen=True, slots=True)
class Config:
    file: Path | None
    repository: RepositoryConfig
    state_path: Path | None = None
    delivery: DeliveryConfig = field(default_factory=DeliveryConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    server: ServerConfig = field(default_factory=ServerConfig)
    webhooks: tuple[Webhook, ...] = ()
    warnings: tuple[str, ...] = ()

    def webhook(self, name: str) -> Webhook | None:
        return next((w for w in self.webhooks if w.name == name), None)
