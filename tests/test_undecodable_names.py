"""A file named with bytes that are not UTF-8 shows as git quotes it (`\\xff`), never as the
surrogate code point Python holds it with (`\\udcff`), wherever a person reads the name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import Site, post
from testing import run_cli

from cometwatch.escape import escape, escape_lines

NAME = b"posts/bad\xffname.md"


@pytest.fixture
def config(site: Site, tmp_path: Path) -> Path:
    site.write("posts/first.md", post("title: first"))
    site.commit("first")
    path = tmp_path / "webhooks.toml"
    path.write_text(f'[repository]\npath = "{site.root}"\n\n[state]\npath = "{tmp_path}/s.db"\n'
                    '\n[[webhooks]]\nname = "w"\nurl = "http://127.0.0.1:9/hook"\n'
                    'secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t"\n')
    assert run_cli("--config", str(path), "scan", "--no-deliver").returncode == 0
    (site.root / os.fsdecode(NAME)).write_bytes(b"---\ntitle: [broken\n---\nbody\n")
    site.commit("an undecodable name, broken frontmatter")
    return path


@pytest.mark.parametrize("byte", [0x80, 0xC3, 0xFE, 0xFF])
def test_each_undecodable_byte_escapes_as_git_quotes_it(byte: int) -> None:
    held = bytes([byte]).decode("utf-8", "surrogateescape")
    assert escape(f"a{held}b") == escape_lines(f"a{held}b") == f"a\\x{byte:02x}b"


def test_the_text_log_and_deliveries_show_a_0xff_name_as_backslash_xff(config: Path) -> None:
    scanned = run_cli("--config", str(config), "scan", "--no-deliver")
    assert scanned.returncode == 0, scanned.stderr
    assert "posts/bad\\xffname.md" in scanned.stderr  # the broken frontmatter warning
    shown = run_cli("--config", str(config), "deliveries", "show", "1")
    assert shown.returncode == 0, shown.stderr
    assert "at posts/bad\\xffname.md" in shown.stdout
    status = run_cli("--config", str(config), "status")
    assert status.returncode == 0, status.stderr
    for ran in (scanned, shown, status):
        assert "\\udc" not in ran.stdout + ran.stderr
        assert "\udcff" not in ran.stdout + ran.stderr
