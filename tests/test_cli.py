"""The command line's edge: what argparse lets through, and how failures are said."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from pathlib import Path

import pytest
from conftest import Site, post
from hypothesis import given
from hypothesis import strategies as st
from receiver import Answer

from cometwatch.cli import JsonFormatter, TextFormatter, main
from cometwatch.escape import escape

HUGE = str(10**23)


@pytest.mark.parametrize("argv", [
    ["deliveries", "show", HUGE],
    ["deliveries", "show", "0"],
    ["deliveries", "show", "-1"],
    ["deliveries", "show", "nan"],
    ["redeliver", HUGE],
    ["redeliver", "1", HUGE],
    ["deliveries", "--limit", HUGE],
    ["deliveries", "--limit", "0"],
    ["recover", "--webhook", "h", "--since", "99999999999999999999d"],
    ["scan", "--timeout", "1e400"],
    ["scan", "--timeout", "99999999999999999999d"],
    ["scan", "--timeout", "inf"],
    ["scan", "--timeout", "nan"],
    ["scan", "--timeout", "-5s"],
    ["demo", "--timeout", "nan"],
    ["demo", "--timeout", "inf"],
])
def test_a_number_out_of_range_on_the_command_line_is_a_usage_error(
        argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(tmp_path / "none.toml"), *argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and "Traceback" not in err
    assert len(err.strip().splitlines()[-1]) < 200


@pytest.mark.parametrize(("text", "seconds"), [
    ("30", 30.0), ("30s", 30.0), ("5m", 300.0), ("2h", 7200.0), ("3d", 259200.0),
    ("250ms", 0.25), ("36500d", 36500 * 86400.0),
])
def test_a_duration_in_range_is_read_as_seconds(text: str, seconds: float) -> None:
    from cometwatch.commands.arguments import duration

    assert duration(text) == seconds


def test_a_since_that_is_no_time_or_duration_is_left_to_be_resolved_as_a_revision() -> None:
    from cometwatch.commands.arguments import since

    assert since("HEAD~3").revision == "HEAD~3"
    assert since("2026-05-01").moment == 1777593600.0
    assert since("2026-05-01T12:00+02:00").moment == 1777593600.0 + 36000


# -- a state it cannot use is said, not hidden -------------------------------------------------

def config_for(tmp_path: Path, state: Path, repository: Path | None = None) -> str:
    path = tmp_path / "webhooks.toml"
    path.write_text(f'[repository]\npath = "{repository or tmp_path}"\n'
                    f'[state]\npath = "{state}"\n'
                    '[[webhooks]]\nname = "h"\nurl = "https://example.org/h"\n'
                    'secret = "s"\n')
    return str(path)


def newer_state(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 999")
    return path


def test_webhooks_list_on_a_state_from_a_newer_cometwatch_says_so_and_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_for(tmp_path, newer_state(tmp_path / "state.db"))
    assert main(["--config", config, "webhooks", "list"]) == 1
    captured = capsys.readouterr()
    assert "newer cometwatch" in captured.err and "active" not in captured.out


def test_webhooks_list_called_in_process_raises_what_it_cannot_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cometwatch.commands import webhooks
    from cometwatch.config import load_config
    from cometwatch.errors import StateError

    config = load_config(config_for(tmp_path, newer_state(tmp_path / "state.db")))
    with pytest.raises(StateError, match="newer cometwatch"):
        webhooks.listing(config)
    assert capsys.readouterr().out == ""


def test_webhooks_list_on_a_state_it_cannot_open_says_so_and_exits_1(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "state.db").mkdir()  # not a database: what an unreadable one also gives
    config = config_for(tmp_path, tmp_path / "state.db")
    assert main(["--config", config, "webhooks", "list"]) == 1
    captured = capsys.readouterr()
    assert "cometwatch: error:" in captured.err and "active" not in captured.out


def test_webhooks_list_with_no_state_yet_shows_the_config(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_for(tmp_path, tmp_path / "state.db")
    assert main(["--config", config, "webhooks", "list"]) == 0
    assert "h  https://example.org/h  active" in capsys.readouterr().out


def test_hooks_install_on_a_state_from_a_newer_cometwatch_refuses_and_installs_nothing(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    config = config_for(tmp_path, newer_state(tmp_path / "state.db"), site.root)
    assert main(["--config", config, "hooks", "install"]) == 1
    captured = capsys.readouterr()
    assert "newer cometwatch" in captured.err and "baseline" not in captured.out
    assert not (site.root / ".git" / "hooks" / "post-commit").exists()


# -- the last line of a failure ----------------------------------------------------------------

def test_with_log_format_json_the_final_error_line_is_a_json_object(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_for(tmp_path, newer_state(tmp_path / "state.db"))
    assert main(["--log-format", "json", "--config", config, "status"]) == 1
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["level"] == "error" and "newer cometwatch" in line["message"]


# -- control characters from outside never reach a terminal raw ---------------------------------

HOSTILE = ["a\ncometwatch: ERROR: webhook r disabled: FORGED LINE\nb.md", "\x1b[2J\x1b[31mred.md",
           "tab\there.md", "bell\x07.md", "del\x7f.md", "c1\x9b31m.md", "\u202egpj.md",
           "iso\u2066late.md", "cr\rreturn.md"]
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize("name", HOSTILE)
def test_a_text_log_line_escapes_control_characters_in_what_it_quotes(name: str) -> None:
    record = logging.LogRecord("cometwatch.x", logging.WARNING, __file__, 1,
                               "broken frontmatter in %s", (name,), None)
    line = TextFormatter().format(record)
    assert not UNSAFE.search(line)
    assert line.startswith("cometwatch: WARNING: broken frontmatter in ")


def unescape(shown: str) -> str:
    named = {"n": "\n", "r": "\r", "t": "\t"}
    return re.sub(r"\\(?:([nrt])|x([0-9a-f]{2})|u([0-9a-f]{4}))",
                  lambda m: named[m[1]] if m[1] else chr(int(m[2] or m[3], 16)), shown)


@given(st.text().filter(lambda text: "\\" not in text))
def test_escaping_leaves_no_control_character_and_loses_nothing(text: str) -> None:
    shown = escape(text)
    assert not UNSAFE.search(shown)
    assert unescape(shown) == text


@pytest.mark.parametrize(("raw", "shown"), [
    ("a\nb", "a\\nb"), ("\x1b[31m", "\\x1b[31m"), ("\x7f", "\\x7f"), ("\x9b", "\\x9b"),
    ("\u202e", "\\u202e"), ("bad\udcffname", "bad\\xffname"),
    ("caf\u00e9 \u65e5", "caf\u00e9 \u65e5"),
])
def test_each_control_character_has_an_escape_the_operator_can_find_the_file_by(
        raw: str, shown: str) -> None:
    assert escape(raw) == shown


def test_the_json_log_format_escapes_c1_and_bidi_controls_too() -> None:
    record = logging.LogRecord("cometwatch.x", logging.WARNING, __file__, 1, "in %s",
                               ("\u202egpj\x9b.md\n",), None)
    line = JsonFormatter().format(record)
    assert not UNSAFE.search(line)
    assert json.loads(line)["message"] == "in \u202egpj\x9b.md\n"


def test_deliveries_show_and_list_escape_a_hostile_file_name(
        site: Site, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from receiver import Receiver

    site.write("posts/a.md", post("title: A"))
    site.commit()
    with Receiver("s") as receiver:
        config = tmp_path / "webhooks.toml"
        config.write_text(f'[repository]\npath = "{site.root}"\n'
                          f'[state]\npath = "{tmp_path / "state.db"}"\n'
                          f'[[webhooks]]\nname = "h"\nurl = "{receiver.url_for("/h")}"\n'
                          'secret = "s"\n')
        receiver.script("/h", Answer(500, body=b"no\x1b]0;pwned\x07 way\r\nsecond line"))
        assert main(["--config", str(config), "scan"]) == 0
        site.write(f"posts/{HOSTILE[1]}", post("title: Red"))
        site.commit()
        assert main(["--config", str(config), "scan"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "deliveries"]) == 0
    listed = capsys.readouterr().out
    assert main(["--config", str(config), "deliveries", "show", "1"]) == 0
    shown = capsys.readouterr().out
    for out in (listed, shown):
        assert "\x1b" not in out and "\r" not in out
    assert "\\x1b[2J\\x1b[31mred.md" in shown
    assert "       | no\\x1b]0;pwned\\x07 way\n       | second line" in shown


def test_events_warnings_on_stderr_escape_a_hostile_file_name(site: Site) -> None:
    from testing import run_cli

    site.write("posts/a.md", post("title: A"))
    site.commit()
    site.write(f"posts/{HOSTILE[0]}", "---\ntitle: [unclosed\n---\nbody\n")  # broken frontmatter
    site.write(f"posts/{HOSTILE[1]}", "---\ntitle: [unclosed\n---\nbody\n")
    site.commit()
    config = site.root / "webhooks.toml"
    config.write_text("")
    ran = run_cli("--config", str(config), "events", "--with-ids")
    assert ran.returncode == 0, ran.stderr
    assert "\x1b" not in ran.stderr and "FORGED" in ran.stderr
    assert all(line.startswith("cometwatch: ") for line in ran.stderr.splitlines())
    assert "\\x1b[2J\\x1b[31mred.md" in ran.stderr


def test_serve_help_says_what_its_webhooks_page_writes_and_sends(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps the lines
    assert "sends nothing" not in text
    assert "never scans or sends deliveries" in text
    for writes in ("Save rewrites webhooks.toml", "disable, enable, redeliver and recover "
                   "change the state", "Run now sends one signed webhook.manual test request"):
        assert writes in text
