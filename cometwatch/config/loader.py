"""webhooks.toml → a frozen Config, validated once: each section read by the one reader
against its declaration (cometwatch.config.model), then what ties keys together.

Relative paths are read from the config file's folder; without a file, from the current one.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cometwatch.config.checks import header_token, slug
from cometwatch.config.kinds import Bad
from cometwatch.config.model import (
    DEFAULT_LISTEN,
    PUSH_FORGES,
    Config,
    ContentRules,
    DaemonConfig,
    DeliveryConfig,
    RepositoryConfig,
    Secret,
    ServerConfig,
    StateConfig,
    Webhook,
)
from cometwatch.config.reader import Where, declared, known_keys, read, table_of
from cometwatch.config.sources import Sources, Unavailable
from cometwatch.errors import ConfigError
from cometwatch.netpolicy import forbidden_literal, loopback_host
from cometwatch.redaction import redact_url

DEFAULT_FILE = "webhooks.toml"
ENV_VAR = "COMETWATCH_CONFIG"
_SECTIONS = {"repository", "state", "delivery", "daemon", "server", "webhooks"}


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
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "", f"cannot be read: {exc}") from exc
    return parse_config_text(text, path, env, secrets, serving)


def parse_config_text(text: str, file: Path, environ: Mapping[str, str] | None = None,
                      secrets: bool = True, serving: bool = False) -> Config:
    """For tests and `check`: a config from TOML text, as if read from `file`."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(file), "", f"not valid TOML: {exc}", "fix the syntax") from exc
    if isinstance(data.get("fleet"), dict):  # cometwatch.fleet's file, not a site's config
        raise ConfigError(str(file), "", "a fleet file ([fleet] sites), and this command "
                          "acts on one site", "pass --config with that site's own config "
                          "file; `cometwatch check`, `status` and `run` take the fleet file")
    return _build(data, file, file.resolve().parent, os.environ if environ is None else environ,
                  secrets, serving)


def _build(data: dict[str, Any], file: Path | None, base: Path, environ: Mapping[str, str],
           need_secrets: bool, serving: bool) -> Config:
    top = Where(str(file) if file else "(defaults)")
    table_of(top, data, _SECTIONS)
    sources = Sources(base, environ, [])

    def section(name: str, *classes: type) -> tuple[Where, dict[str, Any]]:
        where = top.inner(name)
        return where, table_of(where, data.get(name, {}), known_keys(*classes))

    repository = _repository(*section("repository", RepositoryConfig, ContentRules), base)
    state = StateConfig(**read(*section("state", StateConfig), StateConfig))
    delivery = DeliveryConfig(**read(*section("delivery", DeliveryConfig), DeliveryConfig))
    daemon = DaemonConfig(**read(*section("daemon", DaemonConfig), DaemonConfig))
    server = _server(*section("server", ServerConfig), repository.path, sources, serving)
    raw_hooks = data.get("webhooks", [])
    if not isinstance(raw_hooks, list):
        raise top.fail("webhooks", "must be an array of tables", "write each as [[webhooks]]")
    webhooks: list[Webhook] = []
    for index, raw in enumerate(raw_hooks):
        where = top.inner(f"webhooks[{index}]")
        hook = _webhook(where, table_of(where, raw, known_keys(Webhook)), delivery, sources,
                        need_secrets)
        if any(w.name == hook.name for w in webhooks):
            raise where.fail("name", f"duplicate name {hook.name!r}",
                             "give each webhook its own name")
        webhooks.append(hook)
    return Config(file=file, repository=repository,
                  state_path=_path(base, state.path) if state.path else None,
                  delivery=delivery, daemon=daemon, server=server, webhooks=tuple(webhooks),
                  warnings=tuple(sources.warnings))


def _path(base: Path, value: str) -> Path:
    """A path from the config: `~` is the home folder; a relative one is read from the config
    file's folder."""
    return base / Path(value).expanduser()


def _repository(where: Where, table: dict[str, Any], base: Path) -> RepositoryConfig:
    from cometwatch.presets import PRESETS  # data only

    values = read(where, table, RepositoryConfig)
    preset = PRESETS[values["preset"]]
    rules = ContentRules(**read(where, table, ContentRules, preset=preset))
    if values["site_dir"]:  # content_dir is read inside the site's folder
        rules = replace(rules, content_dir="/".join(
            part for part in (values["site_dir"], rules.content_dir) if part))
    if "trash_dir" not in table:  # the trash sits in the content folder
        rules = replace(rules, trash_dir=f"{rules.content_dir}/.trash" if rules.content_dir
                        else ".trash")
    return RepositoryConfig(**{**values, "path": _path(base, values.get("path") or ""),
                               "rules": rules, "overrides": frozenset(table)})


def _webhook(where: Where, table: dict[str, Any], delivery: DeliveryConfig, sources: Sources,
             need: bool) -> Webhook:
    inherited = {item.name: getattr(delivery, item.name)
                 for item, spec in declared(Webhook) if spec.delivery}
    values = read(where, table, Webhook, defaults=inherited)
    _check_url(where, values["url"], values["allow_http"])
    secrets, missing = sources.webhook(where, table, need)
    if "standard" in values["signing"]:
        _check_standard_keys(where, secrets)
    items = table.get("secrets")
    variables = [table.get("secret_env")] + [i.get("env") for i in items or []
                                             if isinstance(i, dict)]
    return Webhook(**{
        **values,
        "secrets": secrets,
        "connect_timeout": min(values["connect_timeout"], values["timeout"]),
        "ca_bundle": _path(sources.base, values["ca_bundle"]) if values["ca_bundle"] else None,
        "secret_variables": tuple(str(name) for name in variables if name),
        "unread": missing and (missing.file, missing.key, missing.problem, missing.fix),
    })


# A name's labels: no spaces, control characters or empty labels (IDNA is httpx's to check).
_HOST = re.compile(r"^(?:[^\s\x00-\x1f\x7f.]+\.)*[^\s\x00-\x1f\x7f.]+\.?$")


def _check_url(where: Where, url: str, allow_http: bool) -> None:
    """An http(s) URL a request can be made to, where cometwatch may send."""
    shown, fix = redact_url(url), 'write it as "https://host/path"'
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a broken [v6] host, a port out of range or not a number
        raise where.fail("url", f"not a valid URL: {shown!r} ({str(exc).lower()})",
                         fix) from None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise where.fail("url", f"not an http(s) URL: {shown!r}", fix)
    if port == 0 or (parts.netloc.endswith(":") and port is None):
        raise where.fail("url", f"not a valid URL: {shown!r} (port 0)",
                         "use a port from 1 to 65535")
    if not parts.netloc.rpartition("@")[2].startswith("[") and not _HOST.match(host):
        raise where.fail("url", f"not a valid host name in {shown!r}", fix)
    # urlsplit drops tabs and newlines where the request would carry them (or fail on them
    # at every attempt): a URL holds no space or control character, percent-encoded or not.
    bad = next((c for c in url if c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0), None)
    if bad is not None:
        raise where.fail("url", f"holds a space or control character ({bad!r}): {shown!r}",
                         "percent-encode it (a space is %20) or remove it")
    if forbidden_literal(host):
        raise where.fail("url", f"{host} is a link-local or cloud metadata address",
                         "cometwatch never sends there; use the endpoint's real address")
    if parts.scheme == "http" and not allow_http and not loopback_host(host):
        raise where.fail("url", "plain http:// is only allowed to loopback addresses",
                         "use https://, or set allow_http = true for this webhook")


def _check_standard_keys(where: Where, secrets: tuple[Secret, ...]) -> None:
    """A `whsec_` secret is the base64 of the signing key: a typo is found now, not at the
    first attempt."""
    import base64
    import binascii

    for secret in secrets:
        value = secret.reveal()
        if value.startswith("whsec_"):
            try:
                key = value.removeprefix("whsec_")
                base64.b64decode(key + "=" * (-len(key) % 4), validate=True)
            except binascii.Error:
                raise where.fail("secret", "a whsec_ secret is not valid base64",
                                 "copy the whole secret your receiver gave you (whsec_ then "
                                 "base64)") from None


_LISTEN = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:\[\]]+)):(?P<port>[0-9]{1,5})$")


def _server(where: Where, table: dict[str, Any], repository: Path, sources: Sources,
            need: bool) -> ServerConfig:
    values = read(where, table, ServerConfig)
    listen = values["listen"]
    host, port = _listen(where, listen) if listen is not None else DEFAULT_LISTEN
    if not values["public"] and not loopback_host(host):
        raise where.fail("listen", f"{host} is not a loopback address",
                         "set public = true to serve on every network this host is on, or "
                         'listen on "127.0.0.1:PORT"')

    def token(name: str, item: object, header: bool = True) -> Secret | None:
        try:
            secret = sources.item(where.inner(name), item)
        except Unavailable:
            if need:
                raise
            return None
        if header:  # sent as is in a header (an HMAC key is not: any text will do)
            try:
                header_token(secret.reveal())
            except Bad as bad:
                raise where.fail(name, bad.problem, bad.fix) from None
        return secret

    raw_tokens = table.get("api_tokens", [])
    if not isinstance(raw_tokens, list):
        raise where.fail("api_tokens", "must be a list of token sources",
                         'write it as api_tokens = [{ env = "API_TOKEN" }]')
    raw_push = table.get("push_secrets", {})
    if not isinstance(raw_push, dict):
        raise where.fail("push_secrets", "must be a table of forge = secret source",
                         '[server.push_secrets] github = { env = "GITHUB_PUSH_SECRET" }')
    for forge in raw_push:
        if forge not in PUSH_FORGES:
            raise where.fail(f"push_secrets.{forge}", "unknown forge",
                             "use one of: " + ", ".join(PUSH_FORGES))
    api = (token(f"api_tokens[{i}]", item) for i, item in enumerate(raw_tokens))
    push = ((forge, token(f"push_secrets.{forge}", item, header=forge == "gitlab"))
            for forge, item in raw_push.items())
    return ServerConfig(
        **{**values, "host": host, "port": port,
           "workspace": values["workspace"] or slug(repository.name.removesuffix(".git"))
           or "site"},
        api_tokens=tuple(t for t in api if t is not None),
        admin_token=token("admin_token", table["admin_token"]) if "admin_token" in table
        else None,
        metrics_token=token("metrics_token", table["metrics_token"])
        if "metrics_token" in table else None,
        push_secrets=tuple((forge, s) for forge, s in push if s is not None))


def _listen(where: Where, listen: str) -> tuple[str, int]:
    match = _LISTEN.match(listen.strip())
    fix = 'write it as "127.0.0.1:8750" or "[::1]:8750"'
    if not match:
        raise where.fail("listen", f"not host:port: {listen!r}", fix)
    host = match.group("v6") or match.group("host")
    if match.group("v6"):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise where.fail("listen", f"not an IPv6 address: {host!r}", fix) from None
    port = int(match.group("port"))
    if not 1 <= port <= 65535:
        raise where.fail("listen", f"port {port} is out of range", "use a port from 1 to 65535")
    return host, port
