"""webhooks.toml → a frozen Config, validated once.

Every refusal names the file, the key and the fix. Relative paths are read from the config
file's folder; without a file, from the current directory.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cometwatch.errors import ConfigError
from cometwatch.netpolicy import forbidden_literal, header_refusal, loopback_host
from cometwatch.redaction import redact_url

EVENT_NAMES = (
    "content.created",
    "content.updated",
    "content.published",
    "content.unpublished",
    "content.deleted",
    "content.restored",
)

DEFAULT_FILE = "webhooks.toml"
ENV_VAR = "COMETWATCH_CONFIG"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
DATE_PREFIX = r"\d{4}-\d{2}-\d{2}-"  # SPEC §1: the Jekyll date prefix a slug loses
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

DEFAULT_RETRY_SCHEDULE = (0.0, 5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 50400.0, 72000.0,
                          86400.0)


class Secret:
    """A webhook secret. Its text never appears in a repr, a log line or an error."""

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


@dataclass(frozen=True, slots=True)
class ContentRules:
    """What makes a file an entry and how its collection, slug, id and state are read."""

    content_dir: str = ""  # repository-relative, "" for the root, no trailing slash
    extensions: tuple[str, ...] = ("md", "markdown")
    trash_dir: str = ".trash"  # repository-relative
    drafts_dirs: tuple[str, ...] = ("_drafts",)
    drafts_collection: str = "posts"
    language_dirs: tuple[str, ...] = ()
    collections: tuple[tuple[str, str], ...] = ()  # (glob relative to content_dir, name)
    exclude: tuple[str, ...] = ()  # globs relative to content_dir: never entries
    id_fields: tuple[str, ...] = ("uid", "id", "uuid")
    slug_field: str = "slug"
    status_field: str = "status"
    published_values: tuple[str, ...] = ("published",)
    draft_field: str = "draft"
    published_field: str = "published"
    publish_date_fields: tuple[str, ...] = ("publishDate", "publish_date", "pubDate")
    expiry_date_fields: tuple[str, ...] = ("expiryDate", "expiry_date", "unpublishDate",
                                           "unpublish_date")
    future_date_fields: tuple[str, ...] = ()  # presets: a `date` in the future hides an entry
    timezone: str = "UTC"
    strip_language_suffix: bool = False  # Hugo `name.fr.md`
    filename_dates: bool = False  # Jekyll: a `YYYY-MM-DD-` name prefix in the future hides it
    date_prefix: str = DATE_PREFIX  # removed from a slug; Zola also takes `_`
    url_fields: tuple[str, ...] = ()  # a URL whose last segment is the slug (Hugo `url`)


@dataclass(frozen=True, slots=True)
class RepositoryConfig:
    path: Path
    branch: str | None = None
    remote: str | None = None
    fetch_interval: float = 300.0
    poll_interval: float = 30.0
    preset: str = "plain"
    rules: ContentRules = field(default_factory=ContentRules)
    site_dir: str = ""  # the site's folder in the repository ("": its top level)
    overrides: frozenset[str] = frozenset()  # the [repository] keys the file sets itself


@dataclass(frozen=True, slots=True)
class DeliveryConfig:
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    max_in_flight: int = 4
    timeout: float = 15.0
    connect_timeout: float = 5.0
    dead_retention: float = 30 * 86400.0
    disable_after: float = 5 * 86400.0


@dataclass(frozen=True, slots=True)
class DaemonConfig:
    shutdown_timeout: float = 10.0
    log_format: str = "text"


@dataclass(frozen=True, slots=True)
class Webhook:
    name: str
    url: str
    secrets: tuple[Secret, ...]
    events: tuple[str, ...] = EVENT_NAMES
    collections: tuple[str, ...] | None = None
    enabled: bool = True
    timeout: float = 15.0
    connect_timeout: float = 5.0
    retry_schedule: tuple[float, ...] = DEFAULT_RETRY_SCHEDULE
    max_in_flight: int = 4
    coalesce: float | None = None
    max_wait: float | None = None
    signing: tuple[str, ...] = ("cometcms",)
    allow_http: bool = False
    ca_bundle: Path | None = None
    disable_after: float = 5 * 86400.0
    headers: tuple[tuple[str, str], ...] = ()
    # The environment variables its secrets are read from, read or not (secrets=False): what
    # a git hook's scan, run with git's environment, may lack.
    secret_variables: tuple[str, ...] = ()

    @property
    def secret(self) -> Secret:
        """The newest secret: the one the CometCMS header is signed with. (Never empty in a
        config loaded for sending.)"""
        return self.secrets[0]

    def wants(self, event: str, collection: str) -> bool:
        if event not in self.events:
            return False
        return self.collections is None or collection in self.collections


PUSH_FORGES = ("github", "gitea", "forgejo", "gogs", "gitlab", "bitbucket",
               "bitbucket-server")
DEFAULT_LISTEN = ("127.0.0.1", 8750)


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """`[server]`: where the HTTP side listens and the tokens it checks. A token that cannot be
    read is left out unless the config was loaded for serving (`load_config(serving=True)`)."""

    listen: str | None = None  # as written; None when not set
    host: str = DEFAULT_LISTEN[0]  # parsed from listen (IPv6 without brackets)
    port: int = DEFAULT_LISTEN[1]
    public: bool = False
    workspace: str = ""  # always filled in by the loader
    api_tokens: tuple[Secret, ...] = ()
    admin_token: Secret | None = None
    metrics_token: Secret | None = None
    push_secrets: tuple[tuple[str, Secret], ...] = ()

    def push_secret(self, forge: str) -> Secret | None:
        return dict(self.push_secrets).get(forge)


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


def parse_duration(value: object) -> float:
    """"5s", "5m", "2h", "1d", "250ms" or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(value)
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2)]
    raise ValueError(value)


def find_config_file(explicit: str | None, environ: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The config file to read and whether the user named it (then it must exist)."""
    if explicit:
        return Path(explicit), True
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR]), True
    default = Path(DEFAULT_FILE)
    return (default, False) if default.is_file() else (None, False)


def load_config(explicit: str | None = None, environ: Mapping[str, str] | None = None,
                secrets: bool = True, serving: bool = False) -> Config:
    """The config, read once. `secrets=False` is for the commands that only read state
    (status, deliveries, events…): a secret whose variable or file is not there for this user
    is left out of its webhook instead of refusing the config. `serving=True` is for the
    commands that serve HTTP (`serve`, `run` with [server] listen): a [server] token or push
    secret that cannot be read refuses the config; otherwise it is left out."""
    env = os.environ if environ is None else environ
    path, _ = find_config_file(explicit, env)
    if path is None:
        return _build({}, None, Path.cwd(), env, secrets, serving)
    if not path.is_file():
        raise ConfigError(str(path), "", "no such config file",
                          "create one with `cometwatch init`, or pass --config PATH")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}", "fix the syntax") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot be read: {exc}") from exc
    return _build(data, path, path.resolve().parent, env, secrets, serving)


def parse_config_text(text: str, file: Path, environ: Mapping[str, str] | None = None,
                      secrets: bool = True, serving: bool = False) -> Config:
    """For tests and `check`: a config from TOML text, as if read from `file`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(file), "", f"not valid TOML: {exc}", "fix the syntax") from exc
    return _build(data, file, file.resolve().parent, os.environ if environ is None else environ,
                  secrets, serving)


class _Reader:
    """Typed access to one TOML table, refusing unknown keys with the file and key named."""

    def __init__(self, file: str, prefix: str, table: object, known: set[str]) -> None:
        self.file, self.prefix = file, prefix
        if not isinstance(table, dict):
            raise ConfigError(file, prefix, "must be a table", f"write it as [{prefix}]")
        self.table: dict[str, Any] = table
        for key in table:
            if key not in known:
                hint = ", ".join(sorted(known))
                raise ConfigError(file, self.key(key), "unknown key", f"known keys: {hint}")

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, problem: str, fix: str = "") -> ConfigError:
        return ConfigError(self.file, self.key(name), problem, fix)

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.table.get(name, default)
        if value is not None and not isinstance(value, str):
            raise self.fail(name, "must be a string", f'write it as {name} = "…"')
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.table.get(name, default)
        if not isinstance(value, bool):
            raise self.fail(name, "must be true or false")
        return value

    def whole(self, name: str, default: int, minimum: int = 1) -> int:
        value = self.table.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(name, f"must be a whole number, at least {minimum}")
        return value

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.table.get(name, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, "must be a list of strings", f'write it as {name} = ["…"]')
        return tuple(value)

    def duration(self, name: str, default: float | None) -> float | None:
        if name not in self.table:
            return default
        try:
            return parse_duration(self.table[name])
        except ValueError:
            raise self.fail(name, f"not a duration: {self.table[name]!r}",
                            'use a number of seconds or "500ms", "30s", "5m", "2h", "1d"') from None

    def period(self, name: str, default: float) -> float:
        """A duration that must be more than zero (a timeout, an interval)."""
        value = self.duration(name, default)
        if not value:
            fix = (f"remove it for the default ({_shown(default)}), or give a longer one"
                   if default else "remove it to turn it off")
            raise self.fail(name, "must be more than zero", fix)
        return value

    def durations(self, name: str, default: tuple[float, ...]) -> tuple[float, ...]:
        if name not in self.table:
            return default
        value = self.table[name]
        if not isinstance(value, list) or not value:
            raise self.fail(name, "must be a non-empty list of durations",
                            'for example ["0s", "5s", "5m", "2h"]')
        try:
            return tuple(parse_duration(v) for v in value)
        except ValueError as exc:
            raise self.fail(name, f"not a duration: {exc.args[0]!r}",
                            'use "500ms", "30s", "5m", "2h", "1d"') from None


_REPOSITORY_KEYS = {
    "path", "branch", "remote", "fetch_interval", "poll_interval", "preset", "content_dir",
    "extensions", "trash_dir", "drafts_dirs", "drafts_collection", "language_dirs",
    "collections", "id_fields", "slug_field", "status_field", "published_values",
    "publish_date_fields", "expiry_date_fields", "future_date_fields", "timezone", "exclude",
    "site_dir",
}
_WEBHOOK_KEYS = {
    "name", "url", "secret", "secret_env", "secret_file", "secrets", "events", "collections",
    "enabled", "timeout", "connect_timeout", "retry_schedule", "max_in_flight", "coalesce",
    "max_wait", "signing", "allow_http", "ca_bundle", "disable_after", "headers",
}


def _build(data: dict[str, Any], file: Path | None, base: Path,
           environ: Mapping[str, str], need_secrets: bool = True,
           serving: bool = False) -> Config:
    fname = str(file) if file else "(defaults)"
    top = _Reader(fname, "", data, {"repository", "state", "delivery", "daemon", "server",
                                    "webhooks"})
    warnings: list[str] = []
    repository = _repository(_Reader(fname, "repository", data.get("repository", {}),
                                     _REPOSITORY_KEYS), base)
    state = _Reader(fname, "state", data.get("state", {}), {"path"})
    state_path = state.text("path")
    d = _Reader(fname, "delivery", data.get("delivery", {}),
                {"retry_schedule", "max_in_flight", "timeout", "connect_timeout",
                 "dead_retention", "disable_after"})
    delivery = DeliveryConfig(
        retry_schedule=d.durations("retry_schedule", DEFAULT_RETRY_SCHEDULE),
        max_in_flight=d.whole("max_in_flight", 4),
        timeout=d.period("timeout", 15.0),
        connect_timeout=d.period("connect_timeout", 5.0),
        dead_retention=d.period("dead_retention", 30 * 86400.0),
        disable_after=d.duration("disable_after", 5 * 86400.0) or 0.0,
    )
    dm = _Reader(fname, "daemon", data.get("daemon", {}), {"shutdown_timeout", "log_format"})
    log_format = dm.text("log_format", "text") or "text"
    if log_format not in ("text", "json"):
        raise dm.fail("log_format", f"unknown format {log_format!r}", 'use "text" or "json"')
    daemon = DaemonConfig(shutdown_timeout=dm.duration("shutdown_timeout", 10.0) or 0.0,
                          log_format=log_format)
    raw_hooks = top.table.get("webhooks", [])
    if not isinstance(raw_hooks, list):
        raise top.fail("webhooks", "must be an array of tables", "write each as [[webhooks]]")
    webhooks: list[Webhook] = []
    for index, raw in enumerate(raw_hooks):
        hook = _webhook(_Reader(fname, f"webhooks[{index}]", raw, _WEBHOOK_KEYS), delivery,
                        base, environ, warnings, need_secrets)
        if any(w.name == hook.name for w in webhooks):
            raise ConfigError(fname, f"webhooks[{index}].name", f"duplicate name {hook.name!r}",
                              "give each webhook its own name")
        webhooks.append(hook)
    return Config(
        file=file,
        repository=repository,
        state_path=_path(base, state_path) if state_path else None,
        delivery=delivery,
        daemon=daemon,
        server=_server(_Reader(fname, "server", data.get("server", {}), _SERVER_KEYS),
                       repository.path, base, environ, warnings, serving),
        webhooks=tuple(webhooks),
        warnings=tuple(warnings),
    )


def _path(base: Path, value: str) -> Path:
    """A path from the config: `~` is the home folder; a relative one is read from the config
    file's folder."""
    return base / Path(value).expanduser()


def _clean_dir(value: str) -> str:
    return value.strip().strip("/").removeprefix("./") if value.strip() not in (".", "./") else ""


def _repository(r: _Reader, base: Path) -> RepositoryConfig:
    from cometwatch.presets import PRESETS  # data only

    preset_name = r.text("preset", "plain") or "plain"
    if preset_name not in PRESETS:
        raise r.fail("preset", f"unknown preset {preset_name!r}",
                     "use one of: " + ", ".join(sorted(PRESETS)))
    preset: dict[str, Any] = dict(PRESETS[preset_name])
    def pick(name: str, fallback: Any) -> Any:
        return preset.get(name, fallback)

    site_dir = _clean_dir(r.text("site_dir", "") or "")
    content_dir = _clean_dir(r.text("content_dir", pick("content_dir", "")) or "")
    if site_dir:  # content_dir (and trash_dir, drafts_dirs) are read inside the site's folder
        content_dir = f"{site_dir}/{content_dir}" if content_dir else site_dir
    default_trash = f"{content_dir}/.trash" if content_dir else ".trash"
    trash_dir = _clean_dir(r.text("trash_dir", None) or default_trash)
    if content_dir and r.text("trash_dir") and not trash_dir.startswith(content_dir + "/"):
        pass  # a trash folder outside content_dir is allowed: it is watched too
    extensions = tuple(e.lstrip(".").lower()
                       for e in r.strings("extensions", pick("extensions", ("md", "markdown"))))
    if not extensions:
        raise r.fail("extensions", "must name at least one extension", 'for example ["md"]')
    raw_collections = r.table.get("collections", pick("collections", {}))
    if not isinstance(raw_collections, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in raw_collections.items()):
        raise r.fail("collections", "must be a table of glob = collection name",
                     'write it as collections = { "blog/**" = "posts" }')
    timezone = r.text("timezone", "UTC") or "UTC"
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise r.fail("timezone", f"unknown time zone {timezone!r}",
                     'use an IANA name such as "UTC" or "Europe/Paris"') from None
    published_values = r.strings("published_values", ("published",))
    rules = ContentRules(
        content_dir=content_dir,
        extensions=extensions,
        trash_dir=trash_dir,
        drafts_dirs=tuple(_clean_dir(d) for d in r.strings("drafts_dirs",
                                                           pick("drafts_dirs", ("_drafts",)))),
        drafts_collection=r.text("drafts_collection", pick("drafts_collection", "posts"))
        or "posts",
        language_dirs=r.strings("language_dirs", pick("language_dirs", ())),
        collections=tuple(raw_collections.items()),
        id_fields=r.strings("id_fields", ("uid", "id", "uuid")),
        slug_field=r.text("slug_field", "slug") or "slug",
        status_field=r.text("status_field", "status") or "status",
        published_values=tuple(v.lower() for v in published_values),
        publish_date_fields=r.strings("publish_date_fields",
                                      pick("publish_date_fields",
                                           ("publishDate", "publish_date", "pubDate"))),
        expiry_date_fields=r.strings("expiry_date_fields",
                                     pick("expiry_date_fields",
                                          ("expiryDate", "expiry_date", "unpublishDate",
                                           "unpublish_date"))),
        future_date_fields=r.strings("future_date_fields", pick("future_date_fields", ())),
        exclude=r.strings("exclude", pick("exclude", ())),
        timezone=timezone,
        strip_language_suffix=bool(pick("strip_language_suffix", False)),
        filename_dates=bool(pick("filename_dates", False)),
        date_prefix=str(pick("date_prefix", DATE_PREFIX)),
    )
    path = r.text("path")
    remote = r.text("remote")
    return RepositoryConfig(
        path=_path(base, path) if path else base,
        branch=r.text("branch"),
        remote=remote,
        fetch_interval=r.period("fetch_interval", 300.0),
        poll_interval=r.period("poll_interval", 30.0),
        preset=preset_name,
        rules=rules,
        site_dir=site_dir,
        overrides=frozenset(r.table),
    )


def _webhook(r: _Reader, delivery: DeliveryConfig, base: Path, environ: Mapping[str, str],
             warnings: list[str], need_secrets: bool = True) -> Webhook:
    name = r.text("name")
    if not name:
        raise r.fail("name", "is missing", 'give the webhook a name, e.g. name = "netlify"')
    if not _NAME.match(name):
        raise r.fail("name", f"{name!r} is not a plain name", "use letters, digits, - _ .")
    url = r.text("url")
    if not url:
        raise r.fail("url", "is missing", 'set url = "https://…"')
    scheme, host = _url(r, url)
    if forbidden_literal(host):
        raise r.fail("url", f"{host} is a link-local or cloud metadata address",
                     "cometwatch never sends there; use the endpoint's real address")
    allow_http = r.flag("allow_http", False)
    if scheme == "http" and not allow_http and not loopback_host(host):
        raise r.fail("url", "plain http:// is only allowed to loopback addresses",
                     "use https://, or set allow_http = true for this webhook")
    events = r.strings("events", EVENT_NAMES)
    for event in events:
        if event not in EVENT_NAMES:
            raise r.fail("events", f"unknown event {event!r}", "known: " + ", ".join(EVENT_NAMES))
    collections = r.table.get("collections")
    if collections is not None:
        collections = r.strings("collections", ())
    signing = r.strings("signing", ("cometcms",))
    for scheme in signing:
        if scheme not in ("cometcms", "standard"):
            raise r.fail("signing", f"unknown signing scheme {scheme!r}",
                         'use ["cometcms"], ["standard"] or both')
    ca_bundle = r.text("ca_bundle")
    timeout = r.period("timeout", delivery.timeout)
    secrets = _secrets(r, base, environ, warnings, need_secrets)
    if "standard" in signing:
        _check_standard_keys(r, secrets)
    return Webhook(
        name=name,
        url=url,
        secrets=secrets,
        secret_variables=_secret_variables(r),
        events=events,
        collections=collections,
        enabled=r.flag("enabled", True),
        timeout=timeout,
        connect_timeout=min(r.period("connect_timeout", delivery.connect_timeout), timeout),
        retry_schedule=r.durations("retry_schedule", delivery.retry_schedule),
        max_in_flight=r.whole("max_in_flight", delivery.max_in_flight),
        coalesce=r.period("coalesce", 0.0) if "coalesce" in r.table else None,
        max_wait=r.period("max_wait", 0.0) if "max_wait" in r.table else None,
        signing=signing,
        allow_http=allow_http,
        ca_bundle=_path(base, ca_bundle) if ca_bundle else None,
        disable_after=r.duration("disable_after", delivery.disable_after) or 0.0,
        headers=_headers(r),
    )


# RFC 9110: a header name is a token; a value is visible ASCII, spaces and tabs.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_HEADER_VALUE = re.compile(r"^[\x20-\x7e\t]*$")


def _headers(r: _Reader) -> tuple[tuple[str, str], ...]:
    headers = r.table.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise r.fail("headers", "must be a table of header = value strings",
                     'write it as headers = { Authorization = "Bearer …" }')
    for name, value in headers.items():
        if not _HEADER_NAME.match(name):
            raise r.fail("headers", f"{name!r} is not a header name",
                         "use letters, digits and - only")
        refusal = header_refusal(name)
        if refusal:
            raise r.fail("headers", refusal, "remove it from headers")
        if not _HEADER_VALUE.match(value):
            raise r.fail("headers", f"the value of {name} has a line break, a control or a "
                         "non-ASCII character", "use plain ASCII text on one line")
    return tuple(headers.items())


def _check_standard_keys(r: _Reader, secrets: tuple[Secret, ...]) -> None:
    """A `whsec_` secret is the base64 of the signing key: a typo is found now, not at the
    first attempt."""
    for secret in secrets:
        value = secret.reveal()
        if value.startswith("whsec_"):
            try:
                key = value.removeprefix("whsec_")
                base64.b64decode(key + "=" * (-len(key) % 4), validate=True)
            except binascii.Error:
                raise r.fail("secret", "a whsec_ secret is not valid base64",
                             "copy the whole secret your receiver gave you (whsec_ then "
                             "base64)") from None


def _shown(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


# A name's labels: no spaces, control characters or empty labels (IDNA is httpx's to check).
_HOST = re.compile(r"^(?:[^\s\x00-\x1f\x7f.]+\.)*[^\s\x00-\x1f\x7f.]+\.?$")


def _url(r: _Reader, url: str) -> tuple[str, str]:
    """The scheme and host of an http(s) URL whose host and port a request can be made to."""
    shown = redact_url(url)
    fix = 'write it as "https://host/path"'
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a broken [v6] host, a port out of range or not a number
        raise r.fail("url", f"not a valid URL: {shown!r} ({str(exc).lower()})", fix) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise r.fail("url", f"not an http(s) URL: {shown!r}", fix)
    if port == 0 or (parts.netloc.endswith(":") and port is None):
        raise r.fail("url", f"not a valid URL: {shown!r} (port 0)", "use a port from 1 to 65535")
    if not parts.netloc.startswith("[") and not _HOST.match(parts.hostname):
        raise r.fail("url", f"not a valid host name in {shown!r}", fix)
    return parts.scheme, parts.hostname


_SERVER_KEYS = {"listen", "public", "workspace", "api_tokens", "admin_token", "metrics_token",
                "push_secrets"}
_LISTEN = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\[\]]+)):(?P<port>\d{1,5})$")
_WORKSPACE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _server(r: _Reader, repository: Path, base: Path, environ: Mapping[str, str],
            warnings: list[str], need: bool) -> ServerConfig:
    listen = r.text("listen")
    host, port = _listen(r, listen) if listen is not None else DEFAULT_LISTEN
    public = r.flag("public", False)
    if not public and not loopback_host(host):
        raise r.fail("listen", f"{host} is not a loopback address",
                     "set public = true to serve on every network this host is on, or listen "
                     'on "127.0.0.1:PORT"')
    workspace = r.text("workspace")
    if workspace is None:
        workspace = _slug(repository.name.removesuffix(".git")) or "site"
    elif not _WORKSPACE.match(workspace):
        raise r.fail("workspace", f"{workspace!r} is not a workspace name",
                     f'use lowercase letters, digits and -, e.g. "{_slug(workspace) or "site"}"')

    def token(key: str, item: object) -> Secret | None:
        try:
            return _source(r, key, item, base, environ, warnings)
        except _Unavailable:
            if need:
                raise
            return None

    raw_tokens = r.table.get("api_tokens", [])
    if not isinstance(raw_tokens, list):
        raise r.fail("api_tokens", "must be a list of token sources",
                     'write it as api_tokens = [{ env = "API_TOKEN" }]')
    api_tokens = [token(f"api_tokens[{i}]", item) for i, item in enumerate(raw_tokens)]
    raw_push = r.table.get("push_secrets", {})
    if not isinstance(raw_push, dict):
        raise r.fail("push_secrets", "must be a table of forge = secret source",
                     'write it as [server.push_secrets] github = { env = "GITHUB_PUSH_SECRET" }')
    for forge in raw_push:
        if forge not in PUSH_FORGES:
            raise r.fail(f"push_secrets.{forge}", "unknown forge",
                         "use one of: " + ", ".join(PUSH_FORGES))
    push = [(forge, token(f"push_secrets.{forge}", item)) for forge, item in raw_push.items()]
    return ServerConfig(
        listen=listen, host=host, port=port, public=public, workspace=workspace,
        api_tokens=tuple(t for t in api_tokens if t is not None),
        admin_token=token("admin_token", r.table["admin_token"])
        if "admin_token" in r.table else None,
        metrics_token=token("metrics_token", r.table["metrics_token"])
        if "metrics_token" in r.table else None,
        push_secrets=tuple((forge, s) for forge, s in push if s is not None),
    )


def _listen(r: _Reader, listen: str) -> tuple[str, int]:
    match = _LISTEN.match(listen.strip())
    fix = 'write it as "127.0.0.1:8750" or "[::1]:8750"'
    if not match:
        raise r.fail("listen", f"not host:port: {listen!r}", fix)
    host = match.group("v6") or match.group("host")
    if match.group("v6"):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise r.fail("listen", f"not an IPv6 address: {host!r}", fix) from None
    port = int(match.group("port"))
    if not 1 <= port <= 65535:
        raise r.fail("listen", f"port {port} is out of range", "use a port from 1 to 65535")
    return host, port


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _source(r: _Reader, key: str, item: object, base: Path, environ: Mapping[str, str],
            warnings: list[str]) -> Secret:
    """One `{ file = … }`, `{ env = … }` or `{ value = … }`: exactly one source."""
    sub = _Reader(r.file, r.key(key), item, {"value", "env", "file"})
    given = [k for k in ("value", "env", "file") if k in sub.table]
    if len(given) != 1:
        raise ConfigError(r.file, r.key(key), "has no source" if not given else
                          "has more than one of " + ", ".join(given),
                          'give exactly one of { file = "…" }, { env = "…" } or { value = "…" }')
    return Secret(_one_secret(sub, ("value", "env", "file"), base, environ, warnings))


class _Unavailable(ConfigError):
    """A secret whose environment variable or file is not there (as opposed to a config
    that is wrong)."""


def _secrets(r: _Reader, base: Path, environ: Mapping[str, str], warnings: list[str],
             need: bool = True) -> tuple[Secret, ...]:
    """The webhook's secrets, newest first; without `need`, only those that can be read."""
    given = [k for k in ("secret", "secret_env", "secret_file", "secrets") if k in r.table]
    if len(given) != 1:
        problem = "has no secret" if not given else "has more than one of " + ", ".join(given)
        raise r.fail("secret", problem,
                     "set exactly one of secret, secret_env (an environment variable) or "
                     "secret_file")
    if "secrets" in r.table:
        raw = r.table["secrets"]
        if not isinstance(raw, list) or not raw:
            raise r.fail("secrets", "must be a non-empty list",
                         'newest first: [{ env = "NEW" }, { env = "OLD", expires = "…" }]')
        out = []
        for i, item in enumerate(raw):
            sub = _Reader(r.file, r.key(f"secrets[{i}]"), item, {"value", "env", "file",
                                                                   "expires"})
            expires = sub.table.get("expires")
            expires_at = _timestamp(sub, "expires", expires) if expires is not None else None
            try:
                out.append(Secret(_one_secret(sub, ("value", "env", "file"), base, environ,
                                              warnings), expires_at))
            except _Unavailable:
                if need:
                    raise
        return tuple(out)
    try:
        return (Secret(_one_secret(r, ("secret", "secret_env", "secret_file"), base, environ,
                                   warnings)),)
    except _Unavailable:
        if need:
            raise
        return ()


def _secret_variables(r: _Reader) -> tuple[str, ...]:
    items = r.table.get("secrets")
    named = [r.table.get("secret_env")] + [item.get("env") for item in items or []
                                            if isinstance(item, dict)]
    return tuple(str(name) for name in named if name)


def _one_secret(r: _Reader, keys: tuple[str, str, str], base: Path, environ: Mapping[str, str],
                warnings: list[str]) -> str:
    literal, env_key, file_key = keys
    if literal in r.table:
        value = r.text(literal) or ""
    elif env_key in r.table:
        var = r.text(env_key) or ""
        if not environ.get(var):
            raise _Unavailable(r.file, r.key(env_key),
                               f"environment variable {var} is not set or empty",
                               f"export {var}=… before starting cometwatch")
        value = environ[var]
    elif file_key in r.table:
        path = _path(base, r.text(file_key) or "")
        credentials = environ.get("CREDENTIALS_DIRECTORY")
        if not path.is_file() and credentials:
            path = Path(credentials) / (r.text(file_key) or "")
        try:
            value = path.read_text(encoding="utf-8").strip()
            mode = path.stat().st_mode
        except OSError as exc:
            raise _Unavailable(r.file, r.key(file_key), f"cannot read {path}: {exc.strerror}",
                               "check the path and its permissions") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            warnings.append(f"{r.file}: {r.key(file_key)}: {path} is readable by group or "
                            f"others (chmod 600 {path})")
    else:
        raise r.fail(literal, "is missing")
    if not value:
        raise r.fail(literal, "the secret is empty", "use a long random string")
    return value


def _timestamp(r: _Reader, name: str, value: object) -> float:
    from datetime import UTC, datetime

    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise r.fail(name, f"not a date and time: {value!r}",
                         'write it as "2026-12-31T00:00:00Z"') from None
    else:
        raise r.fail(name, "must be a date and time", 'write it as "2026-12-31T00:00:00Z"')
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
