"""webhooks.toml: good configs are read into the values the code uses; every bad one is refused
with one line naming the file, the key and the fix (exit 2, never a traceback)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import Site
from testing import Ran, run_cli

from cometwatch.config import (
    DEFAULT_RETRY_SCHEDULE,
    EVENT_NAMES,
    Config,
    Secret,
    load_config,
    parse_config_text,
    parse_duration,
)
from cometwatch.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
HOOK = '[[webhooks]]\nname = "site"\nurl = "https://example.org/hook"\nsecret = "s3cret"\n'


def parse(text: str, tmp_path: Path, environ: dict[str, str] | None = None,
          secrets: bool = True) -> Config:
    return parse_config_text(text, tmp_path / "webhooks.toml", environ or {}, secrets)


# -- good configs ---------------------------------------------------------------------------


def test_without_a_config_file_the_current_folder_is_the_repository(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, environ={})
    assert config.file is None and config.webhooks == ()
    assert config.repository.path == tmp_path and config.repository.branch is None
    rules = config.repository.rules
    assert (rules.content_dir, rules.trash_dir, rules.extensions) == ("", ".trash",
                                                                      ("md", "markdown"))
    assert rules.id_fields == ("uid", "id", "uuid") and rules.timezone == "UTC"


def test_webhooks_toml_in_the_current_folder_or_the_environment_variable_is_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "webhooks.toml").write_text('[repository]\nbranch = "live"\n')
    other = tmp_path / "elsewhere.toml"
    other.write_text('[repository]\nbranch = "other"\n')
    monkeypatch.chdir(tmp_path)
    assert load_config(None, environ={}).repository.branch == "live"
    assert load_config(None, environ={"COMETWATCH_CONFIG": str(other)}).repository.branch \
        == "other"
    assert load_config(str(other), environ={}).repository.branch == "other"


def test_relative_paths_are_read_from_the_config_files_folder(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("from-a-file\n")
    (tmp_path / "secret.txt").chmod(0o600)
    config = parse('[repository]\npath = "site"\ncontent_dir = "./content/"\n'
                   '[state]\npath = "state/cometwatch.db"\n'
                   '[[webhooks]]\nname = "a"\nurl = "https://example.org/"\n'
                   'secret_file = "secret.txt"\nca_bundle = "ca.pem"\n', tmp_path)
    assert config.repository.path == tmp_path / "site"
    assert config.state_path == tmp_path / "state" / "cometwatch.db"
    assert config.repository.rules.content_dir == "content"
    assert config.repository.rules.trash_dir == "content/.trash"
    assert config.webhooks[0].ca_bundle == tmp_path / "ca.pem"
    assert config.webhooks[0].secret.reveal() == "from-a-file"
    assert config.warnings == ()


def test_every_webhook_key_is_read(tmp_path: Path) -> None:
    config = parse(
        '[delivery]\ntimeout = "20s"\nmax_in_flight = 8\n'
        '[[webhooks]]\nname = "search.index"\nurl = "https://search.example.org/hook"\n'
        'secret = "s"\nevents = ["content.published", "content.unpublished"]\n'
        'collections = ["posts"]\nenabled = false\nconnect_timeout = "30s"\n'
        'retry_schedule = ["0s", "1m", 3600]\ncoalesce = "30s"\nmax_wait = "5m"\n'
        'signing = ["cometcms", "standard"]\ndisable_after = "2d"\n'
        'headers = { Authorization = "Bearer x" }\n'
        '[[webhooks]]\nname = "local"\nurl = "http://127.0.0.1:8080/hook"\nsecret = "t"\n',
        tmp_path)
    first, second = config.webhooks
    assert first.events == ("content.published", "content.unpublished")
    assert first.collections == ("posts",) and first.enabled is False
    assert (first.timeout, first.connect_timeout) == (20.0, 20.0)  # capped at the timeout
    assert first.retry_schedule == (0.0, 60.0, 3600.0)
    assert (first.coalesce, first.max_wait, first.disable_after) == (30.0, 300.0, 172800.0)
    assert first.signing == ("cometcms", "standard") and first.max_in_flight == 8
    assert first.headers == (("Authorization", "Bearer x"),)
    assert first.wants("content.published", "posts")
    assert not first.wants("content.published", "pages")
    assert not first.wants("content.created", "posts")
    assert second.events == EVENT_NAMES and second.retry_schedule == DEFAULT_RETRY_SCHEDULE
    assert second.collections is None and second.coalesce is None
    assert config.webhook("local") is second and config.webhook("nope") is None


@pytest.mark.parametrize("url", ["http://127.0.0.1:9000/hook", "http://localhost/hook",
                                 "http://[::1]:8080/", "http://127.0.0.53/x"])
def test_plain_http_is_allowed_to_loopback_addresses(tmp_path: Path, url: str) -> None:
    hook = HOOK.replace("https://example.org/hook", url)
    assert parse(hook, tmp_path).webhooks[0].url == url


def test_plain_http_elsewhere_needs_allow_http(tmp_path: Path) -> None:
    config = parse(HOOK.replace("https://", "http://") + "allow_http = true\n", tmp_path)
    assert config.webhooks[0].allow_http


def test_secrets_come_from_the_config_the_environment_or_a_file_and_never_show(
        tmp_path: Path) -> None:
    (tmp_path / "loose.txt").write_text("loose-secret")
    (tmp_path / "loose.txt").chmod(0o644)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "systemd.txt").write_text("from-credentials")
    (credentials / "systemd.txt").chmod(0o600)
    config = parse(
        '[[webhooks]]\nname = "a"\nurl = "https://a.example/"\nsecret_env = "HOOK_SECRET"\n'
        '[[webhooks]]\nname = "b"\nurl = "https://b.example/"\nsecret_file = "loose.txt"\n'
        '[[webhooks]]\nname = "c"\nurl = "https://c.example/"\nsecret_file = "systemd.txt"\n'
        '[[webhooks]]\nname = "d"\nurl = "https://d.example/"\nsecrets = [\n'
        '  { env = "HOOK_SECRET" },\n'
        '  { value = "old-one", expires = "2026-12-31T00:00:00Z" },\n]\n',
        tmp_path, {"HOOK_SECRET": "from-env", "CREDENTIALS_DIRECTORY": str(credentials)})
    a, b, c, d = config.webhooks
    assert a.secret.reveal() == "from-env"
    assert b.secret.reveal() == "loose-secret"
    assert c.secret.reveal() == "from-credentials"
    assert [s.reveal() for s in d.secrets] == ["from-env", "old-one"]
    assert d.secrets[1].expires_at == 1_798_675_200
    assert len(config.warnings) == 1 and "chmod 600" in config.warnings[0]
    shown = repr(config) + str(config.webhooks) + str(d.secrets[1])
    assert "from-env" not in shown and "old-one" not in shown and "loose-secret" not in shown
    assert Secret("x") == Secret("x") and Secret("x") != Secret("y")


@pytest.mark.parametrize(("value", "seconds"), [
    ("250ms", 0.25), ("30s", 30.0), ("5m", 300.0), ("2h", 7200.0), ("1d", 86400.0),
    ("1.5h", 5400.0), (" 10 s ", 10.0), ("42", 42.0), (42, 42.0), (0.5, 0.5),
])
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["5 minutes", "-1s", "", "1w", "s", -5, True, None, [1]])
def test_not_durations(value: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(value)


def test_a_preset_sets_defaults_and_any_key_still_wins(tmp_path: Path) -> None:
    hugo = parse('[repository]\npreset = "hugo"\n', tmp_path).repository.rules
    assert hugo.content_dir == "content" and hugo.future_date_fields == ("date",)
    assert hugo.strip_language_suffix and hugo.trash_dir == "content/.trash"
    mine = parse('[repository]\npreset = "hugo"\ncontent_dir = "site/content"\n'
                 'future_date_fields = []\nextensions = [".MD"]\n'
                 'published_values = ["Live"]\ntimezone = "Europe/Paris"\n'
                 'collections = { "blog/**" = "posts" }\nlanguage_dirs = ["en"]\n',
                 tmp_path).repository.rules
    assert mine.content_dir == "site/content" and mine.future_date_fields == ()
    assert mine.extensions == ("md",) and mine.published_values == ("live",)
    assert mine.collections == (("blog/**", "posts"),) and mine.language_dirs == ("en",)
    assert mine.timezone == "Europe/Paris"


def test_the_example_config_documents_every_declared_key() -> None:
    from cometwatch.config.model import (
        ContentRules,
        DaemonConfig,
        DeliveryConfig,
        RepositoryConfig,
        ServerConfig,
        StateConfig,
        Webhook,
    )
    from cometwatch.config.reader import known_keys

    example = (ROOT / "webhooks.example.toml").read_text()
    written = set(re.findall(r"^#? ?([a-z_]+) = ", example, re.M))
    written |= set(re.findall(r"^\[[a-z]+\.([a-z_]+)\]", example, re.M))  # [server.push_secrets]
    for cls in (RepositoryConfig, ContentRules, StateConfig, DeliveryConfig, DaemonConfig,
                ServerConfig, Webhook):
        missing = known_keys(cls) - written
        assert not missing, f"webhooks.example.toml does not document {sorted(missing)}"


def test_the_example_config_documents_valid_keys() -> None:
    config = parse_config_text((ROOT / "webhooks.example.toml").read_text(),
                               ROOT / "webhooks.example.toml",
                               {"NETLIFY_WEBHOOK_SECRET": "x"})
    assert [w.name for w in config.webhooks] == ["netlify"]


# -- refusals: one line, the file, the key, the fix -----------------------------------------

REFUSALS = [
    ('[repositroy]\npath = "."\n', "repositroy", "unknown key"),
    ('[repository]\ncontnet_dir = "x"\n', "repository.contnet_dir", "known keys:"),
    (HOOK + 'secert = "x"\n', "webhooks[0].secert", "unknown key"),
    (HOOK + 'events = ["content.saved"]\n', "webhooks[0].events",
     "unknown event 'content.saved'"),
    (HOOK.replace("https://example.org/hook", "ftp://example.org/"), "webhooks[0].url",
     "not an http(s) URL"),
    (HOOK.replace("https://example.org/hook", "example.org/hook"), "webhooks[0].url",
     "not an http(s) URL"),
    (HOOK.replace("https://example.org/hook", "https://"), "webhooks[0].url",
     "not an http(s) URL"),
    (HOOK.replace("https://", "http://"), "webhooks[0].url",
     "plain http:// is only allowed to loopback addresses"),
    (HOOK.replace("https://example.org/hook", "http://10.0.0.5/hook"), "webhooks[0].url",
     "allow_http = true"),
    (HOOK + HOOK, "webhooks[1].name", "duplicate name 'site'"),
    (HOOK.replace('secret = "s3cret"\n', ""), "webhooks[0].secret", "has no secret"),
    (HOOK + 'secret_env = "X"\n', "webhooks[0].secret", "more than one of"),
    (HOOK.replace('secret = "s3cret"', 'secret_env = "UNSET_SECRET"'),
     "webhooks[0].secret_env", "environment variable UNSET_SECRET is not set"),
    (HOOK.replace('secret = "s3cret"', 'secret_env = "EMPTY_SECRET"'),
     "webhooks[0].secret_env", "EMPTY_SECRET is not set or empty"),
    (HOOK.replace('secret = "s3cret"', 'secret_file = "missing.txt"'),
     "webhooks[0].secret_file", "cannot read"),
    (HOOK.replace('"s3cret"', '""'), "webhooks[0].secret", "the secret is empty"),
    (HOOK + 'secrets = []\n', "webhooks[0].secret", "more than one of"),
    (HOOK.replace('secret = "s3cret"', 'secrets = [{ value = "a", expires = "soon" }]'),
     "webhooks[0].secrets[0].expires", "not a date and time"),
    (HOOK + 'timeout = "5 minutes"\n', "webhooks[0].timeout", "not a duration"),
    (HOOK + 'coalesce = "-1s"\n', "webhooks[0].coalesce", "not a duration"),
    ('[delivery]\nretry_schedule = ["5s", "soon"]\n', "delivery.retry_schedule",
     "not a duration: 'soon'"),
    ('[delivery]\nretry_schedule = []\n', "delivery.retry_schedule", "non-empty list"),
    ('[repository]\npoll_interval = "often"\n', "repository.poll_interval", "not a duration"),
    ('[repository]\ntimezone = "Mars/Olympus"\n', "repository.timezone",
     "unknown time zone 'Mars/Olympus'"),
    ('[repository]\npreset = "wordpress"\n', "repository.preset", "unknown preset"),
    ('[repository]\nextensions = []\n', "repository.extensions", "at least one extension"),
    ('[repository]\ncollections = ["blog"]\n', "repository.collections",
     "table of glob = collection name"),
    ('[repository]\nid_fields = "uid"\nslug_field = 3\n', "repository.slug_field",
     "must be a string"),
    (HOOK.replace('name = "site"', 'name = "my site"'), "webhooks[0].name",
     "not a plain name"),
    (HOOK.replace('name = "site"\n', ""), "webhooks[0].name", "is missing"),
    (HOOK.replace('url = "https://example.org/hook"\n', ""), "webhooks[0].url", "is missing"),
    (HOOK + 'signing = ["hmac"]\n', "webhooks[0].signing", "unknown signing scheme"),
    (HOOK + "max_in_flight = 0\n", "webhooks[0].max_in_flight", "at least 1"),
    (HOOK + 'enabled = "yes"\n', "webhooks[0].enabled", "true or false"),
    (HOOK + "headers = { X-Token = 5 }\n", "webhooks[0].headers", "header = value strings"),
    (HOOK + 'headers = { "X-CometCMS-Signature" = "forged" }\n', "webhooks[0].headers",
     "set by cometwatch"),
    (HOOK + 'headers = { "X-Team" = "web\\r\\nX-Injected: 1" }\n', "webhooks[0].headers",
     "line break"),
    (HOOK + 'headers = { "X-Team" = "équipe" }\n', "webhooks[0].headers", "non-ASCII"),
    (HOOK + 'headers = { "X Team" = "web" }\n', "webhooks[0].headers",
     "not a header name"),
    (HOOK + 'timeout = "0s"\n', "webhooks[0].timeout", "more than zero"),
    (HOOK + 'coalesce = 0\n', "webhooks[0].coalesce", "remove it to turn it off"),
    ('[delivery]\nconnect_timeout = 0\n', "delivery.connect_timeout", "default (5s)"),
    ('[delivery]\ndead_retention = "0d"\n', "delivery.dead_retention", "default (30d)"),
    ('[repository]\npoll_interval = "0s"\n', "repository.poll_interval", "more than zero"),
    (HOOK.replace('secret = "s3cret"', 'secret = "whsec_not*base64"') +
     'signing = ["standard"]\n', "webhooks[0].secret", "not valid base64"),
    (HOOK.replace("example.org", "169.254.169.254"), "webhooks[0].url", "cloud metadata"),
    (HOOK.replace("example.org", "[fd00:ec2::254]"), "webhooks[0].url", "cloud metadata"),
    (HOOK.replace("example.org", "[::ffff:169.254.169.254]"), "webhooks[0].url",
     "cloud metadata"),
    (HOOK.replace("example.org", "[fe80::1]"), "webhooks[0].url", "link-local"),
    ('webhooks = { name = "x" }\n', "webhooks", "array of tables"),
    ('[daemon]\nlog_format = "xml"\n', "daemon.log_format", "unknown format"),
    ('[state]\npath = 5\n', "state.path", "must be a string"),
    (HOOK.replace("https://example.org/hook", "https://[::1/hook"), "webhooks[0].url",
     "not a valid URL: 'https://[::1/hook' (invalid ipv6 url)"),
    (HOOK.replace("example.org", "127.0.0.1:99999"), "webhooks[0].url", "port out of range"),
    (HOOK.replace("example.org", "127.0.0.1:0"), "webhooks[0].url", "1 to 65535"),
    (HOOK.replace("example.org", "127.0.0.1:"), "webhooks[0].url", "1 to 65535"),
    (HOOK.replace("example.org", "127.0.0.1:http"), "webhooks[0].url", "not a valid URL"),
    (HOOK.replace("example.org", "exa mple.org"), "webhooks[0].url", "not a valid host name"),
    (HOOK.replace("example.org", "a..b"), "webhooks[0].url", "not a valid host name"),
    (HOOK.replace("https://example.org/hook", "ftp://deploy:P4SSW0RD@host/b?token=T0KEN"),
     "webhooks[0].url", "'ftp://***@host/b?token=***'"),
    (HOOK.replace("https://example.org/hook", "htps://deploy:P4SSW0RD@host/b"),
     "webhooks[0].url", "'htps://***@host/b'"),
    (HOOK.replace("https://example.org/hook", "https://[::1/x?token=T0KEN"),
     "webhooks[0].url", "'https://[::1/x?token=***'"),
    ('[repository]\npreset = "https://u:P4SSW0RD@x.org/?token=T0KEN"\n', "repository.preset",
     "unknown preset"),
    *[(f'[repository]\n{key} = "{name}"\n', f"repository.{key}", "name git accepts")
      for key in ("branch", "remote")
      for name in ("--upload-pack=touch /tmp/x", "-x", "a b", "a..b", "a/.b", "x.lock", "a:b",
                   "a~1", "a^", "a?", "a*", "a[", "a\\\\b", "a//b", "a/", "/a", "@", "a@{1}",
                   "", ".a", "a.", "a\\u0001")],
    (HOOK.replace("example.org", "[::169.254.169.254]"), "webhooks[0].url", "cloud metadata"),
    (HOOK.replace("example.org", "[64:ff9b::a9fe:a9fe]"), "webhooks[0].url", "cloud metadata"),
    (HOOK.replace("example.org", "[2002:a9fe:a9fe::1]"), "webhooks[0].url", "cloud metadata"),
    *[(HOOK + f'headers = {{ "{name}" = "x" }}\n', "webhooks[0].headers", words)
      for name, words in [("Transfer-Encoding", "frames or routes"),
                          ("content-length", "frames or routes"), ("Host", "frames or routes"),
                          ("Connection", "frames or routes"), ("Upgrade", "frames or routes"),
                          ("TE", "frames or routes"), ("Trailer", "frames or routes"),
                          ("Expect", "frames or routes"), ("Keep-Alive", "frames or routes"),
                          ("Proxy-Authorization", "frames or routes"),
                          ("Content-Encoding", "frames or routes"),
                          ("User-Agent", "set by cometwatch"),
                          ("webhook-signature", "set by cometwatch")]],
]


@pytest.mark.parametrize(("text", "key", "words"), REFUSALS,
                         ids=[key + ":" + words[:20] for _, key, words in REFUSALS])
def test_a_bad_config_is_refused_with_the_file_and_key(tmp_path: Path, text: str, key: str,
                                                       words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path, {"EMPTY_SECRET": ""})
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert message.startswith(f"{tmp_path / 'webhooks.toml'}: {key}: "), message
    assert words in message
    assert "\n" not in message
    assert "s3cret" not in message
    assert "P4SSW0RD" not in message and "T0KEN" not in message


def test_text_that_is_not_toml_is_refused_with_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse('[repository\npath = "."\n', tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'webhooks.toml'}: not valid TOML")
    assert "\n" not in str(caught.value)


def test_a_named_config_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(str(tmp_path / "nope.toml"), environ={})
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(None, environ={"COMETWATCH_CONFIG": str(tmp_path / "nope.toml")})


# -- as the user sees it ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    (HOOK.replace("https://", "http://"),
     "webhooks[0].url: plain http:// is only allowed to loopback addresses (use https://, or "
     "set allow_http = true for this webhook)"),
    (HOOK.replace('secret = "s3cret"', 'secret_env = "UNSET_SECRET"'),
     "webhooks[0].secret_env: environment variable UNSET_SECRET is not set or empty (export "
     "UNSET_SECRET=… before starting cometwatch)"),
    ("[repository\n", "not valid TOML"),
])
def test_the_command_line_prints_one_line_and_exits_2(
        tmp_path: Path, text: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "webhooks.toml"
    config.write_text(text)
    monkeypatch.delenv("UNSET_SECRET", raising=False)
    result = run_cli("--config", str(config), "check", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"cometwatch: error: {config}: ")
    assert expected in result.stderr


def test_commands_that_only_read_state_need_no_secret_but_a_wrong_config_still_fails(
        tmp_path: Path) -> None:
    text = HOOK.replace('secret = "s3cret"', 'secret_env = "UNSET_SECRET"')
    config = parse(text, tmp_path, {}, secrets=False)
    assert config.webhooks[0].name == "site" and config.webhooks[0].secrets == ()
    rotated = HOOK.replace('secret = "s3cret"', 'secrets = [{ env = "UNSET_SECRET" }, '
                           '{ value = "old", expires = "2030-01-01T00:00:00Z" }]')
    assert [s.reveal() for s in parse(rotated, tmp_path, {}, secrets=False).webhooks[0].secrets
            ] == ["old"]
    assert parse(rotated, tmp_path, {}, secrets=False).webhooks[0].secret_variables == (
        "UNSET_SECRET",)
    with pytest.raises(ConfigError, match="has no secret"):
        parse(HOOK.replace('secret = "s3cret"\n', ""), tmp_path, {}, secrets=False)
    with pytest.raises(ConfigError, match="UNSET_SECRET is not set"):
        parse(text, tmp_path, {})


def test_commands_that_never_sign_run_without_the_secret_a_sending_command_needs(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    site.write("webhooks.toml", HOOK.replace('secret = "s3cret"', 'secret_env = "UNSET_SECRET"'))
    site.write("posts/a.md", "---\ntitle: A\n---\n")
    site.commit()
    monkeypatch.delenv("UNSET_SECRET", raising=False)

    def run(*args: str) -> Ran:
        return run_cli(*args, cwd=site.root)

    result = run("events")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("content.") == 2

    scan = run("scan")
    assert scan.returncode == 2 and "UNSET_SECRET is not set" in scan.stderr
    for args in (("scan", "--no-deliver"), ("status",), ("deliveries",), ("webhooks", "list")):
        result = run(*args)
        assert result.returncode == 0, (args, result.stderr)
    assert "site" in run("status").stdout


def test_a_path_may_start_with_the_home_folder(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    secret = tmp_path / "home" / "hook.secret"
    secret.parent.mkdir()
    secret.write_text("from-home\n")
    secret.chmod(0o600)
    text = HOOK.replace('secret = "s3cret"', 'secret_file = "~/hook.secret"')
    config = parse("[state]\npath = \"~/state.db\"\n" + text, tmp_path / "elsewhere")
    assert config.webhooks[0].secret.reveal() == "from-home"
    assert config.state_path == tmp_path / "home" / "state.db"


@pytest.mark.parametrize("size", [16, 24, 32, 33, 34, 64])
def test_any_whsec_secret_of_base64_key_bytes_is_accepted(tmp_path: Path, size: int) -> None:
    import base64

    for key in (base64.b64encode(os.urandom(size)).decode(),
                base64.b64encode(os.urandom(size)).decode().rstrip("=")):
        text = HOOK.replace('"s3cret"', f'"whsec_{key}"') + 'signing = ["standard"]\n'
        assert parse(text, tmp_path).webhooks[0].secret.reveal() == f"whsec_{key}"


def test_every_toml_example_in_the_readme_is_a_valid_config(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert len(blocks) >= 3
    for block in blocks:  # secrets named by files and variables need not exist here
        if "\n[fleet]\n" in f"\n{block}":
            continue  # a fleet file names site configs; cometwatch.fleet reads it
        parse(block, tmp_path, {}, secrets=False)


# -- [server] ---------------------------------------------------------------------------------


def test_without_a_server_table_the_server_defaults_to_loopback_and_the_folder_name(
        tmp_path: Path) -> None:
    folder = tmp_path / "My Site_2"
    folder.mkdir()
    server = parse("", folder).server
    assert (server.listen, server.host, server.port, server.public) == (None, "127.0.0.1",
                                                                        8750, False)
    assert server.workspace == "my-site-2"
    assert (server.api_tokens, server.admin_token, server.metrics_token,
            server.push_secrets) == ((), None, None, ())


def test_every_server_key_is_read_and_tokens_come_from_files_variables_or_values(
        tmp_path: Path) -> None:
    (tmp_path / "admin.token").write_text("admin-secret\n")
    (tmp_path / "admin.token").chmod(0o600)
    config = parse(
        '[server]\nlisten = "[::1]:9000"\nworkspace = "blog"\n'
        'api_tokens = [{ env = "API_TOKEN" }, { value = "second-token" }]\n'
        'admin_token = { file = "admin.token" }\nmetrics_token = { value = "m" }\n'
        '[server.push_secrets]\ngithub = { env = "GH" }\nbitbucket-server = { value = "b" }\n',
        tmp_path, {"API_TOKEN": "first-token", "GH": "gh-secret"})
    server = config.server
    assert (server.listen, server.host, server.port, server.workspace) == (
        "[::1]:9000", "::1", 9000, "blog")
    assert [t.reveal() for t in server.api_tokens] == ["first-token", "second-token"]
    assert server.admin_token is not None and server.admin_token.reveal() == "admin-secret"
    assert server.metrics_token is not None and server.metrics_token.reveal() == "m"
    assert [(f, s.reveal()) for f, s in server.push_secrets] == [("github", "gh-secret"),
                                                                  ("bitbucket-server", "b")]
    assert "first-token" not in repr(config) and "gh-secret" not in repr(server)


def test_a_public_server_may_listen_on_every_address(tmp_path: Path) -> None:
    server = parse('[server]\nlisten = "0.0.0.0:80"\npublic = true\n', tmp_path).server
    assert (server.host, server.port, server.public) == ("0.0.0.0", 80, True)


def test_a_missing_token_source_is_refused_only_when_serving(tmp_path: Path) -> None:
    text = ('[server]\napi_tokens = [{ env = "UNSET_TOKEN" }, { value = "v" }]\n'
            'admin_token = { file = "nope.token" }\n'
            '[server.push_secrets]\ngitlab = { env = "UNSET_TOKEN" }\n')
    server = parse(text, tmp_path).server  # a command that does not serve
    assert [t.reveal() for t in server.api_tokens] == ["v"]
    assert server.admin_token is None and server.push_secrets == ()
    with pytest.raises(ConfigError, match=r"server\.api_tokens\[0\]\.env: environment "
                                          "variable UNSET_TOKEN is not set"):
        parse_config_text(text, tmp_path / "webhooks.toml", {}, serving=True)


SERVER_REFUSALS = [
    ('[server]\nlisten = "0.0.0.0:8750"\n', "server.listen", "set public = true"),
    ('[server]\nlisten = "example.org:8750"\n', "server.listen", "not a loopback address"),
    ('[server]\nlisten = "[::]:8750"\n', "server.listen", "set public = true"),
    ('[server]\nlisten = "127.0.0.1"\n', "server.listen", "not host:port"),
    ('[server]\nlisten = "::1:8750"\n', "server.listen", "not host:port"),
    ('[server]\nlisten = "[::1:8750"\n', "server.listen", "not host:port"),
    ('[server]\nlisten = "[nope]:8750"\n', "server.listen", "not an IPv6 address"),
    ('[server]\nlisten = "127.0.0.1:0"\n', "server.listen", "port 0 is out of range"),
    ('[server]\nlisten = "127.0.0.1:65536"\n', "server.listen", "1 to 65535"),
    ('[server]\nlisten = 8750\n', "server.listen", "must be a string"),
    ('[server]\npublic = "yes"\n', "server.public", "true or false"),
    ('[server]\nworkspace = "My Site"\n', "server.workspace", '"my-site"'),
    ('[server]\nlistn = "127.0.0.1:1"\n', "server.listn", "unknown key"),
    ('[server]\napi_tokens = { env = "T" }\n', "server.api_tokens", "list of token sources"),
    ('[server]\napi_tokens = ["T"]\n', "server.api_tokens[0]", "must be a table"),
    ('[server]\napi_tokens = [{ value = "A", env = "HOME" }]\n', "server.api_tokens[0]",
     "more than one of value, env"),
    ('[server]\nadmin_token = {}\n', "server.admin_token", "has no source"),
    ('[server]\nadmin_token = { value = "" }\n', "server.admin_token.value", "empty"),
    ('[server]\nmetrics_token = { secret = "x" }\n', "server.metrics_token.secret",
     "unknown key"),
    ('[server.push_secrets]\ngithubb = { env = "X" }\n', "server.push_secrets.githubb",
     "use one of: github, gitea"),
    ('[server]\npush_secrets = "x"\n', "server.push_secrets", "table of forge"),
]


@pytest.mark.parametrize(("text", "key", "words"), SERVER_REFUSALS,
                         ids=[key + ":" + words[:20] for _, key, words in SERVER_REFUSALS])
def test_a_bad_server_table_is_refused_with_the_file_and_key(tmp_path: Path, text: str,
                                                             key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path)
    message = str(caught.value)
    assert caught.value.exit_code == 2
    assert message.startswith(f"{tmp_path / 'webhooks.toml'}: {key}: "), message
    assert words in message and "\n" not in message


HEADER_TOKEN_KEYS = [("api_tokens = [{%s}]", "server.api_tokens[0]"),
                     ("admin_token = {%s}", "server.admin_token"),
                     ("metrics_token = {%s}", "server.metrics_token"),
                     ("[server.push_secrets]\ngitlab = {%s}", "server.push_secrets.gitlab")]
UNSENDABLE = [("\x00", "a control character"), ("\r", "a line break"), ("\n", "a line break"),
              ("\t", "a control character"), ("\x7f", "a control character"),
              ("\x1b", "a control character"), (" ", "a space"),
              ("\u00e9", "a non-ASCII character"), ("\u2028", "a non-ASCII character")]


@pytest.mark.parametrize("source", ["value", "env", "file"])
@pytest.mark.parametrize(("layout", "key"), HEADER_TOKEN_KEYS,
                         ids=[k for _, k in HEADER_TOKEN_KEYS])
@pytest.mark.parametrize(("char", "what"), UNSENDABLE, ids=[repr(c) for c, _ in UNSENDABLE])
def test_a_token_no_client_can_send_in_a_header_is_refused_at_load(
        tmp_path: Path, source: str, layout: str, key: str, char: str, what: str) -> None:
    token = f"abc{char}def"
    escaped = token.encode("unicode_escape").decode().replace("\\x", "\\u00")  # TOML's
    item = {"value": f' value = "{escaped}" ',
            "env": ' env = "TOKEN" ', "file": ' file = "t.token" '}[source]
    (tmp_path / "t.token").write_bytes(token.encode() + b"\n")
    (tmp_path / "t.token").chmod(0o600)
    text = "[server]\n" + layout % item + "\n"
    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path, {"TOKEN": token})
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'webhooks.toml'}: {key}: "), message
    assert f"the token contains {what}" in message
    assert "printable ASCII without spaces" in message and token not in message


def test_every_printable_ascii_token_is_accepted_and_hmac_push_keys_may_be_any_text(
        tmp_path: Path) -> None:
    printable = "".join(chr(c) for c in range(0x21, 0x7F))
    (tmp_path / "t.token").write_text(printable + "\n")
    (tmp_path / "t.token").chmod(0o600)
    server = parse('[server]\napi_tokens = [{ file = "t.token" }]\n'
                   '[server.push_secrets]\ngithub = { value = "any text, \u00e9 too" }\n',
                   tmp_path).server
    assert [t.reveal() for t in server.api_tokens] == [printable]
    assert [s.reveal() for _, s in server.push_secrets] == ["any text, \u00e9 too"]


def test_check_lists_the_server_settings_with_tokens_redacted(site: Site) -> None:
    site.write("webhooks.toml", '[server]\nlisten = "127.0.0.1:9001"\n'
               'api_tokens = [{ value = "api-t0ken-value" }]\n'
               'admin_token = { value = "adm1n-value" }\n'
               '[server.push_secrets]\ngitea = { value = "pu5h-value" }\n')
    site.write("posts/a.md", "---\ntitle: A\n---\n")
    site.commit()
    result = subprocess.run([sys.executable, "-m", "cometwatch", "check"], cwd=site.root,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("server"))
    assert "127.0.0.1:9001" in line and "workspace site" in line
    assert "1 API token ********" in line and "admin token ********" in line
    assert "no metrics token" in line and "push secrets: gitea" in line
    for secret in ("api-t0ken-value", "adm1n-value", "pu5h-value"):
        assert secret not in result.stdout + result.stderr


# -- every key declared once, with its range -------------------------------------------------


def _numeric_keys() -> list[tuple[str, str, Any]]:
    """(how to write the section, key, kind) of every number and duration key the config
    declares: a key added later is walked too."""
    from cometwatch.config.kinds import Duration, Durations, Whole
    from cometwatch.config.model import (
        ContentRules,
        DaemonConfig,
        DeliveryConfig,
        RepositoryConfig,
        ServerConfig,
        Webhook,
    )
    from cometwatch.config.reader import declared

    sections = [("[repository]\n", RepositoryConfig), ("[repository]\n", ContentRules),
                ("[delivery]\n", DeliveryConfig), ("[daemon]\n", DaemonConfig),
                ("[server]\n", ServerConfig), (HOOK, Webhook)]
    return [(head, item.name, spec.kind) for head, cls in sections
            for item, spec in declared(cls) if isinstance(spec.kind, (Duration, Durations, Whole))]


NUMERIC_KEYS = _numeric_keys()
BAD_NUMBERS = ["nan", "inf", "-inf", "-1", "0", '"99999999999d"', "1e300", "10000000000",
               '"-5s"', '"1e3s"', '""']


def test_the_walk_covers_every_number_and_duration_key_the_issue_names() -> None:
    names = {name for _, name, _ in NUMERIC_KEYS}
    assert names >= {"retry_schedule", "coalesce", "max_wait", "disable_after", "poll_interval",
                     "fetch_interval", "shutdown_timeout", "dead_retention", "timeout",
                     "connect_timeout", "max_in_flight"}


@pytest.mark.parametrize(("head", "name", "kind"), NUMERIC_KEYS,
                         ids=[f"{h.split(chr(10))[0]}{n}" for h, n, _ in NUMERIC_KEYS])
def test_every_number_and_duration_key_refuses_values_out_of_its_range(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], head: str, name: str,
        kind: Any) -> None:
    from cometwatch.cli import main
    from cometwatch.config.kinds import Duration, Durations

    section = "webhooks[0]" if head == HOOK else head.strip("[]\n")
    zero_ok = isinstance(kind, Durations) or (isinstance(kind, Duration) and kind.zero)
    config = tmp_path / "webhooks.toml"
    for value in BAD_NUMBERS:
        written = f'["0s", {value}]' if isinstance(kind, Durations) else value
        config.write_text(f"{head}{name} = {written}\n")
        if value == "0" and zero_ok:
            parse_config_text(config.read_text(), config, {})  # zero is a value here
            continue
        code = main(["--config", str(config), "check"])
        out, err = capsys.readouterr()
        assert code == 2, (name, value, err)
        assert out == "" and err.count("\n") == 1, (name, value, err)
        assert err.startswith(f"cometwatch: error: {config}: {section}.{name}: "), err


@pytest.mark.parametrize("value", ['"99999999999d"', "nan", "inf", "1e309"])
def test_a_duration_too_large_is_refused_by_parse_duration_too(value: str) -> None:
    import tomllib

    with pytest.raises(ValueError):
        parse_duration(tomllib.loads(f"x = {value}")["x"] if value != '"99999999999d"' else
                       "9" * 400 + "d")


def test_max_in_flight_is_capped(tmp_path: Path) -> None:
    from cometwatch.config import MAX_IN_FLIGHT

    assert parse(HOOK + f"max_in_flight = {MAX_IN_FLIGHT}\n", tmp_path).webhooks[0] \
        .max_in_flight == MAX_IN_FLIGHT
    with pytest.raises(ConfigError, match=rf"max_in_flight: .*at most {MAX_IN_FLIGHT}"):
        parse(HOOK + "max_in_flight = 2000\n", tmp_path)


def test_the_rules_a_preset_sets_are_keys_any_config_can_set(tmp_path: Path) -> None:
    rules = parse('[repository]\npreset = "hugo"\nstrip_language_suffix = false\n'
                  'filename_dates = true\ndate_prefix = "\\\\d{8}_"\ndraft_field = "hidden"\n'
                  'published_field = "live"\n', tmp_path).repository.rules
    assert (rules.strip_language_suffix, rules.filename_dates, rules.date_prefix) == (
        False, True, r"\d{8}_")
    assert (rules.draft_field, rules.published_field) == ("hidden", "live")
    assert rules.content_dir == "content"  # the rest of the preset still applies


def test_every_preset_sets_only_keys_declared_for_presets(tmp_path: Path) -> None:
    from cometwatch.config.model import ContentRules
    from cometwatch.config.reader import declared
    from cometwatch.presets import PRESETS

    settable = {item.name for item, spec in declared(ContentRules) if spec.preset}
    for name, preset in PRESETS.items():
        assert set(preset) - {"markers"} <= settable, name
        parse(f'[repository]\npreset = "{name}"\n', tmp_path)


def test_the_defaults_come_from_the_declaration(tmp_path: Path) -> None:
    from cometwatch.config import ContentRules, DaemonConfig, DeliveryConfig

    config = parse("", tmp_path)
    assert config.repository.rules == ContentRules()
    assert config.delivery == DeliveryConfig() and config.daemon == DaemonConfig()


def test_a_webhook_is_the_delivery_defaults_with_its_own_keys_replaced(tmp_path: Path) -> None:
    config = parse('[delivery]\ntimeout = "20s"\nretry_schedule = ["1s"]\nmax_in_flight = 2\n'
                   'disable_after = "1d"\nconnect_timeout = "3s"\n' + HOOK +
                   'max_in_flight = 9\n', tmp_path)
    hook = config.webhooks[0]
    assert (hook.timeout, hook.retry_schedule, hook.disable_after, hook.connect_timeout) == (
        20.0, (1.0,), 86400.0, 3.0)
    assert hook.max_in_flight == 9


@pytest.mark.parametrize(("text", "key", "words"), [
    (HOOK.replace('secret = "s3cret"',
                  'secrets = [{ value = "A", env = "HOME", file = "/etc/hostname" }]'),
     "webhooks[0].secrets[0]", "more than one of value, env, file"),
    (HOOK.replace('secret = "s3cret"', 'secrets = [{}]'), "webhooks[0].secrets[0]",
     "has no source"),
    (HOOK.replace('secret = "s3cret"', 'secrets = [{ value = 5 }]'),
     "webhooks[0].secrets[0].value", "must be a string"),
    (HOOK.replace('secret = "s3cret"', 'secret_env = 5'), "webhooks[0].secret_env",
     "must be a string"),
    ('[repository]\ndate_prefix = "(["\n', "repository.date_prefix",
     "not a regular expression"),
    ('[repository]\nfilename_dates = "yes"\n', "repository.filename_dates", "true or false"),
])
def test_a_secret_source_or_rule_that_is_wrong_is_refused(tmp_path: Path, text: str, key: str,
                                                           words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'webhooks.toml'}: {key}: ")
    assert words in str(caught.value)


def test_a_secret_file_that_is_not_utf8_is_refused_naming_the_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cometwatch.cli import main

    (tmp_path / "bad.secret").write_bytes(b"\xff\xfe secret \x80\n")
    (tmp_path / "bad.secret").chmod(0o600)
    text = HOOK.replace('secret = "s3cret"', 'secret_file = "bad.secret"')
    with pytest.raises(ConfigError, match=r"webhooks\[0\]\.secret_file: .*bad\.secret is not "
                                          "UTF-8 text"):
        parse(text, tmp_path)
    (tmp_path / "webhooks.toml").write_text(text)
    assert main(["--config", str(tmp_path / "webhooks.toml"), "check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not UTF-8 text" in err and "Traceback" not in err
    hook = parse(text, tmp_path, secrets=False).webhooks[0]  # status, deliveries: no secret
    assert hook.secrets == ()
    with pytest.raises(ConfigError, match=r"bad\.secret is not UTF-8 text"):
        hook.secret  # noqa: B018


def test_a_secret_variable_that_is_not_utf8_is_refused_naming_the_variable(
        tmp_path: Path) -> None:
    text = HOOK.replace('secret = "s3cret"', 'secret_env = "RAW_SECRET"')
    environ = {"RAW_SECRET": b"\xff\xfe".decode("utf-8", "surrogateescape")}
    with pytest.raises(ConfigError, match=r"secret_env: environment variable RAW_SECRET is "
                                          "not UTF-8 text"):
        parse(text, tmp_path, environ)
    assert parse(text, tmp_path, environ, secrets=False).webhooks[0].secrets == ()


def test_the_secret_of_a_webhook_loaded_without_secrets_is_a_clear_error() -> None:
    from cometwatch.config import Webhook

    with pytest.raises(ConfigError, match="webhook h: has no secret loaded"):
        Webhook("h", "https://example.org/", ()).secret  # noqa: B018
