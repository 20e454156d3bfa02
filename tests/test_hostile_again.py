"""The second hostile review (issue 12, "new cases of the same classes"), against the site
models, the config's secret sources and [server], the HTTP side and the daemon's reload.

Each test is named by the behaviour it holds; each failed on main before its fix.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import GIT_ENV, Site, post
from testing import run_cli, wait_for

DEEP = 5000  # far past Python's recursion limit, far below any size limit

# -- event flow that stops for good: nesting no parser or walker can take ------------------

_NESTED = {
    "hugo.json": ("hugo", "hugo.json", '{"title": ' + "[" * DEEP + "]" * DEEP + "}"),
    "hugo.toml": ("hugo", "hugo.toml", "title = " + "[" * DEEP + "]" * DEEP + "\n"),
    "hugo.toml inline tables": ("hugo", "hugo.toml", "a = " + "{b=" * DEEP + "1" + "}" * DEEP),
    "a YAML alias of its own parent": ("hugo", "hugo.yaml", "title: x\nparams: &a [*a]\n"),
    "Hugo cascade, TOML front matter": (
        "hugo", "content/posts/_index.md", "+++\ncascade = " + "[" * DEEP + "]" * DEEP
        + "\n+++\n"),
    "Hugo cascade, JSON front matter": (
        "hugo", "content/posts/_index.md", '{"cascade": ' + "[" * DEEP + "]" * DEEP + "}\n"),
    "Jekyll _config.yml alias loop": ("jekyll", "_config.yml", "collections: &c\n  x: *c\n"),
    "Zola config.toml": ("zola", "config.toml", "base_url = 'x'\nextra = "
                         + "[" * DEEP + "]" * DEEP + "\n"),
}


@pytest.mark.process
@pytest.mark.parametrize("preset, name, text", list(_NESTED.values()), ids=list(_NESTED))
def test_a_site_config_nested_without_end_is_a_warning_and_events_still_flow(
        site: Site, tmp_path: Path, preset: str, name: str, text: str) -> None:
    folder = {"hugo": "content/posts", "jekyll": "_posts", "zola": "content"}[preset]
    page = {"jekyll": "2024-01-01-fine.md"}.get(preset, "fine.md")
    site.write(f"{folder}/{page}", post("title: Fine"))
    site.write(name, text)
    site.commit("a deep config")
    config = tmp_path / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{site.root}"\npreset = "{preset}"\n')
    code, out, err = run_cli("--config", str(config), "events", "--all")
    assert code == 0, err
    assert "unexpected error" not in err and "Traceback" not in err
    assert name in err and "nested deeper than" in err, err
    assert '"slug":"fine"' in out


# -- bad values: a secret "file" that never ends -------------------------------------------

def _cometwatch(config: Path, command: str) -> subprocess.CompletedProcess[str]:
    # A subprocess with a deadline: the failure being guarded against is a hang.
    return subprocess.run([sys.executable, "-m", "cometwatch", "--config", str(config), command],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, **GIT_ENV})


@pytest.mark.process
@pytest.mark.parametrize("kind", ["/dev/zero", "fifo", "huge", "folder"])
@pytest.mark.parametrize("key", ["webhook secret_file", "server admin_token"])
def test_a_secret_file_that_is_no_secret_is_refused_in_one_line_not_read_forever(
        site: Site, tmp_path: Path, kind: str, key: str) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    source = {"/dev/zero": Path("/dev/zero"), "fifo": tmp_path / "fifo",
              "huge": tmp_path / "huge", "folder": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(source)
    if kind == "huge":
        source.write_bytes(b"A" * (1 << 20))
        source.chmod(0o600)
    secret = f'secret_file = "{source}"' if key.startswith("webhook") else 'secret = "s"'
    server = (f'listen = "127.0.0.1:{_free_port()}"\nadmin_token = {{ file = "{source}" }}'
              if key.startswith("server") else "")
    config = tmp_path / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{site.root}"\n[server]\n{server}\n'
                      f'[[webhooks]]\nname = "w"\nurl = "http://127.0.0.1:9/"\n{secret}\n')
    # `serve` reads [server]'s tokens (check leaves out those it cannot read); check the rest.
    ran = _cometwatch(config, "serve" if key.startswith("server") else "check")
    assert ran.returncode == 2, ran
    errors = [line for line in ran.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and str(source) in errors[0], ran.stderr
    assert "Traceback" not in ran.stderr


@pytest.mark.parametrize("listen", ["127.0.0.1:८७५०", "127.0.0.1:８７５０", "[::1]:٨٧٥٠"])
def test_a_listen_port_in_other_scripts_digits_is_refused(tmp_path: Path, listen: str) -> None:
    config = tmp_path / "webhooks.toml"
    config.write_text(f'[server]\nlisten = "{listen}"\n')
    code, _, err = run_cli("--config", str(config), "check")
    assert code == 2 and "server.listen: not host:port" in err, err


# -- the daemon's SIGHUP under [server] listen ---------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.process
def test_sighup_refuses_a_reload_whose_api_token_file_is_gone_and_keeps_serving_it(
        site: Site, tmp_path: Path) -> None:
    """A reload reads [server] as a start would: a token that cannot be read refuses it (as
    `run` with listen refuses to start), rather than serving on with the token dropped."""
    site.write("posts/a.md", post("title: A"))
    site.commit()
    token = tmp_path / "api.token"
    token.write_text("reload-token-0123456789abcdef\n")
    token.chmod(0o600)
    port = _free_port()
    config = tmp_path / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{site.root}"\n[state]\npath = "{tmp_path}/s.db"\n'
                      f'[server]\nlisten = "127.0.0.1:{port}"\nworkspace = "site"\n'
                      f'api_tokens = [{{ file = "{token}" }}]\n'
                      f'admin_token = {{ value = "admin-token-0123456789" }}\n')
    log = tmp_path / "daemon.log"
    with log.open("wb") as out:
        daemon = subprocess.Popen([sys.executable, "-m", "cometwatch", "--config", str(config),
                                   "run"], stdout=out, stderr=subprocess.STDOUT,
                                  env={**os.environ, **GIT_ENV})
    url = f"http://127.0.0.1:{port}/api/v1/workspaces/site/content/posts"
    auth = {"Authorization": "Bearer reload-token-0123456789abcdef"}
    try:
        alive = lambda: daemon.poll() is None  # noqa: E731
        wait_for(lambda: "serving site" in log.read_text(), "the server", alive=alive)
        # the API answers 503 until the first scan has written the entries it serves
        wait_for(lambda: httpx.get(url, headers=auth, timeout=30).status_code == 200,
                 "the first scan's entries", alive=alive)
        token.unlink()
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in log.read_text(), "the refusal", alive=alive)
        said = log.read_text()
        assert "server.api_tokens[0].file" in said and "config reloaded" not in said, said
        assert httpx.get(url, headers=auth, timeout=30).status_code == 200
    finally:
        daemon.terminate()
        daemon.wait(timeout=60)
    assert "Traceback" not in log.read_text()



# -- bad values: control characters in what becomes a header or a request line -------------

_URLS = ["http://127.0.0.1:9/x\r\nHost: evil", "http://127.0.0.1:9/x\u0000y",
         "http://127.0.0.1:9/a b", "http://user\n:p@127.0.0.1:9/", "http://127.0.0.1:9/x\u2028",
         "http://127.0.0.1:9/x\t", "https://example.org/\u007f"]


@pytest.mark.parametrize("url", _URLS)
def test_a_webhook_url_holding_a_space_or_control_character_is_refused_at_load(
        tmp_path: Path, url: str) -> None:
    """urlsplit drops tabs and newlines, so such a URL passed every check, was printed raw
    by `check` (a forged line) and failed at every attempt (httpx refuses it)."""
    import json

    config = tmp_path / "webhooks.toml"
    config.write_text('[[webhooks]]\nname = "w"\nsecret = "s"\n'
                      f"url = {json.dumps(url)}\n")
    code, out, err = run_cli("--config", str(config), "check")
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "webhooks[0].url: holds a space or control" in err, err
    assert not any(c in err[:-1] for c in "\r\x00\u2028\t\x7f"), err


def test_the_admin_form_refuses_a_url_holding_crlf_and_saves_nothing(
        site: Site, tmp_path: Path) -> None:
    from admin_site import csrf_of, digest_of, make

    made = make(site, tmp_path, "http://127.0.0.1:9/hook")
    try:
        before = made.config.read_bytes()
        client = made.app.test_client()  # type: ignore[attr-defined]
        client.get(f"/admin/login?token={made.token}")
        html = client.get("/admin/webhooks/new").get_data(as_text=True)
        answer = client.post("/admin/webhooks/new", data={
            "csrf": csrf_of(html), "digest": digest_of(html), "name": "split",
            "url": "http://127.0.0.1:9/x\r\nHost: evil", "secret": "a-long-secret-0123",
            "events": ["content.published"], "enabled": "on"})
        assert answer.status_code == 422
        assert made.config.read_bytes() == before
    finally:
        made.context.close()


@pytest.mark.parametrize("target", ["/admin/%0d%0aSet-Cookie:%20x=1", "/admin/%0a",
                                    "/admin/%00x", "/admin/%7f", "/admin/%09//evil.example"])
def test_a_login_whose_next_holds_a_control_character_lands_home_not_on_a_500(
        site: Site, tmp_path: Path, target: str) -> None:
    from admin_site import make

    made = make(site, tmp_path, "http://127.0.0.1:9/hook")
    try:
        client = made.app.test_client()  # type: ignore[attr-defined]
        answer = client.get(f"/admin/login?token={made.token}&next={target}")
        assert answer.status_code == 303, answer.get_data(as_text=True)
        assert answer.headers["Location"] == "/admin/"
        assert client.get("/admin/").status_code == 200  # and logged in
    finally:
        made.context.close()


# -- control characters and undecodable bytes reaching the terminal ------------------------

def test_entries_escapes_control_characters_and_its_json_is_utf_8_whatever_the_names(
        site: Site, tmp_path: Path) -> None:
    names = [b"posts/esc\x1b[31mred.md", b"posts/line\ncometwatch: ERROR: forged.md",
             b"posts/bad\xffname.md", b"posts/bidi\xe2\x80\xaegpj.md"]
    for name in names:
        (site.root / os.fsdecode(name)).parent.mkdir(parents=True, exist_ok=True)
        (site.root / os.fsdecode(name)).write_bytes(b"---\ntitle: \"t\\e[2J\"\n---\nb\n")
    site.commit("names")
    config = tmp_path / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{site.root}"\n')
    code, out, err = run_cli("--config", str(config), "entries")
    assert code == 0, err
    assert "\x1b" not in out and "\u202e" not in out and "\udcff" not in out
    assert "esc\\x1b[31mred.md" in out and "line\\ncometwatch: ERROR: forged.md" in out
    assert "bad\\xffname.md" in out and "bidi\\u202egpj.md" in out
    assert not any(line.startswith("cometwatch: ERROR") for line in out.splitlines())
    import json

    ran = subprocess.run([sys.executable, "-m", "cometwatch", "--config", str(config),
                          "entries", "--json"], capture_output=True, timeout=120,
                         env={**os.environ, **GIT_ENV})  # the bytes as written, not decoded
    assert ran.returncode == 0, ran.stderr
    rows = [json.loads(line) for line in ran.stdout.decode("utf-8").splitlines()]
    assert {row["path"] for row in rows} >= {"posts/bad\ufffdname.md",
                                             "posts/esc\x1b[31mred.md"}


# -- secrets shown: the credentials a webhook URL carries, in the admin's HTML -------------

_CARRYING = "http://deploy:PLANTED-PASS@127.0.0.1:9/hook/0b6e8f9a1c2d4e5f8a9b0c1d2e3f4a5b?t=PLANTED-Q"


def test_the_edit_form_hides_a_urls_credentials_and_keeps_them_when_left_as_shown(
        site: Site, tmp_path: Path) -> None:
    """The README: "no page ever contains" a secret. The edit form showed the URL whole,
    its password, its token path and its query values in the HTML source."""
    from admin_site import csrf_of, digest_of, make

    made = make(site, tmp_path, _CARRYING)
    try:
        client = made.app.test_client()  # type: ignore[attr-defined]
        client.get(f"/admin/login?token={made.token}")
        html = client.get("/admin/webhooks/build/edit").get_data(as_text=True)
        for planted in ("PLANTED-PASS", "PLANTED-Q", "0b6e8f9a1c2d4e5f8a9b0c1d2e3f4a5b"):
            assert planted not in html
        shown = "http://***@127.0.0.1:9/hook/***?t=***"
        assert f'value="{shown}"' in html

        def save(url: str, page: str) -> Any:
            return client.post("/admin/webhooks/build/edit", data={
                "csrf": csrf_of(page), "digest": digest_of(page), "name": "build",
                "url": url, "events": ["content.published"], "enabled": "on"})

        answer = save(shown, html)  # left as shown: the URL it had is kept
        assert answer.status_code == 303, answer.get_data(as_text=True)
        assert _CARRYING in made.config.read_text()
        html = client.get("/admin/webhooks/build/edit").get_data(as_text=True)
        before = made.config.read_bytes()
        answer = save(shown.replace("/hook/", "/other/"), html)  # half edited: refused
        assert answer.status_code == 422 and "hidden" in answer.get_data(as_text=True)
        assert made.config.read_bytes() == before
        made.config.write_text(made.config.read_text().replace("PLANTED-PASS", "PLANTED-NEW"))
        answer = save("http://127.0.0.1:9/new", html)  # the file changed meanwhile: a diff
        assert answer.status_code == 409
        said = answer.get_data(as_text=True)
        import re
        assert "PLANTED-NEW" not in said, re.findall(".{80}PLANTED-NEW.{20}", said)
        assert "PLANTED-PASS" not in said
        html = client.get("/admin/webhooks/build/edit").get_data(as_text=True)
        answer = save("http://127.0.0.1:9/new", html)  # typed whole: saved
        assert answer.status_code == 303
        assert 'url = "http://127.0.0.1:9/new"' in made.config.read_text()
    finally:
        made.context.close()


def test_a_config_diff_shown_on_the_page_masks_url_credentials_but_keeps_the_path() -> None:
    from cometwatch.configedit import _masked  # what FileChanged's diff is made of

    line = 'url = "https://deploy:PLANTED-PASS@h.example/a/b/0b6e8f9a1c2d4e5f8a9b0c1d2e3f?k=v"'
    assert _masked(line) == 'url = "https://***@h.example/a/b/***?k=***"'


# -- bad values in the fleet file and `serve --listen` --------------------------------------

@pytest.mark.parametrize("fleet, key", [
    ('sites = ["WEBHOOKS"]\nlisten = "127.0.0.1:८७"', "fleet.listen"),
    ('sites = ["WEBHOOKS"]\nlisten = "127.0.0.1:８７５０"', "fleet.listen"),
    ('sites = ["\\u0000"]', "fleet.sites"),
    ('sites = ["WEBHOOKS", "a\\u0000b/*.toml"]', "fleet.sites"),
])
def test_a_fleet_file_with_a_bad_listen_or_a_nul_in_a_path_is_a_config_error(
        site: Site, tmp_path: Path, fleet: str, key: str) -> None:
    """`127.0.0.1:८७` served on port 87 (str.isdigit takes any script's digits); a NUL in a
    site path was "unexpected error: ValueError: embedded null byte"."""
    site.commit()
    webhooks = tmp_path / "webhooks.toml"
    webhooks.write_text(f'[repository]\npath = "{site.root}"\n')
    config = tmp_path / "fleet.toml"
    config.write_text("[fleet]\n" + fleet.replace("WEBHOOKS", str(webhooks)) + "\n")
    ran = _cometwatch(config, "run")  # with the bug, a fleet that runs: the deadline ends it
    assert ran.returncode == 2, ran
    assert ran.stderr.startswith(f"cometwatch: error: {config}: {key}:"), ran.stderr
    assert ran.stderr.count("\n") == 1, ran.stderr


def test_serve_refuses_a_listen_port_in_other_scripts_digits(site: Site, tmp_path: Path) -> None:
    site.commit()
    config = tmp_path / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{site.root}"\n')
    code, _, err = run_cli("--config", str(config), "serve", "--listen", "127.0.0.1:८७५०")
    assert code == 2 and "--listen" in err and "the port is not a number" in err, err


def test_check_refuses_what_run_refuses_a_server_token_that_cannot_be_read(
        site: Site, tmp_path: Path) -> None:
    """With [server] listen, `run` refuses a token whose file is gone; `check` said "0 API
    tokens", exit 0, for the same config."""
    site.commit()
    config = tmp_path / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{site.root}"\n[server]\n'
                      f'listen = "127.0.0.1:{_free_port()}"\n'
                      f'api_tokens = [{{ file = "{tmp_path}/gone.token" }}]\n')
    code, _, err = run_cli("--config", str(config), "check")
    assert code == 2 and "server.api_tokens[0].file" in err and err.count("\n") == 1, err
