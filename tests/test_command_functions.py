"""The commands as typed functions (argparse only at the edge): each does what its command line
does, so a test or a caller needs neither a process nor a Namespace."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from conftest import Site, post
from receiver import RECEIVER_SECRET, Receiver
from testing import run_cli

from cometwatch.commands.check import check
from cometwatch.commands.entries import entries
from cometwatch.commands.events import events
from cometwatch.commands.init import init
from cometwatch.commands.send_test import send_test_named
from cometwatch.config import load_config
from cometwatch.errors import UsageError


@pytest.fixture
def hugo(site: Site) -> Site:
    site.write("hugo.toml", 'title = "t"\n')
    site.write("content/posts/a.md", post("title: A"))
    site.commit()
    site.write("content/posts/b.md", post("title: B\ndraft: true"))
    site.commit()
    return site


def test_init_writes_the_config_the_command_writes(hugo: Site) -> None:
    with redirect_stdout(io.StringIO()) as said:
        assert init(hugo.root) == 0
    assert "Detected: hugo" in said.getvalue()
    written = (hugo.root / "webhooks.toml").read_text()
    with pytest.raises(UsageError, match="already exists"):
        init(hugo.root)
    assert run_cli("init", "--force", cwd=hugo.root).returncode == 0
    assert (hugo.root / "webhooks.toml").read_text().splitlines()[:3] == written.splitlines()[:3]


def test_init_refuses_an_unknown_preset(hugo: Site) -> None:
    with pytest.raises(UsageError, match="unknown preset 'nope'"):
        init(hugo.root, preset="nope")


def _config(site: Site, more: str = "") -> Path:
    path = site.root / "webhooks.toml"
    path.write_text('[repository]\npreset = "hugo"\n' + more)
    return path


def test_events_writes_the_bytes_the_command_prints(hugo: Site) -> None:
    config = _config(hugo)
    out = io.BytesIO()
    assert events(load_config(config, secrets=False), all_history=True, with_ids=True,
                  out=out) == 0
    printed = run_cli("--config", str(config), "events", "--all", "--with-ids")
    assert printed.returncode == 0 and out.getvalue() == printed.output
    assert out.getvalue().count(b"\n") >= 2
    with pytest.raises(UsageError, match="either a RANGE"):
        events(load_config(config, secrets=False), "HEAD", all_history=True, out=out)


def test_entries_and_check_say_what_their_commands_say(hugo: Site) -> None:
    config = _config(hugo)
    out = io.StringIO()
    assert entries(load_config(config, secrets=False), as_json=True, out=out) == 0
    listed = run_cli("--config", str(config), "entries", "--json")
    assert out.getvalue() == listed.stdout and out.getvalue().count("\n") == 2
    with redirect_stdout(io.StringIO()) as said:
        assert check(load_config(config)) == 0
    assert said.getvalue() == run_cli("--config", str(config), "check").stdout
    assert "entries     2 (1 published)" in said.getvalue()


def test_send_test_named_sends_one_signed_request(hugo: Site,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", RECEIVER_SECRET)
    with Receiver() as receiver:
        config = load_config(_config(hugo, f'[[webhooks]]\nname = "site"\nurl = '
                                           f'"{receiver.url_for("/hook")}"\n'
                                           'secret_env = "HOOK_SECRET"\n'))
        with redirect_stdout(io.StringIO()):
            assert send_test_named(config, "site") == 0
            with pytest.raises(UsageError, match="no webhook named 'other'"):
                send_test_named(config, "other")
        [arrival] = receiver.wait_for(1)
        assert arrival.verified
