"""`cometwatch demo`, the quick start's main job, end to end as a newcomer runs it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A short temporary folder: the demo binds a Unix socket in it, and a socket's path is
    limited to about 100 bytes (pytest's own tmp_path can come close)."""
    folder = Path(tempfile.mkdtemp(prefix="cw-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


pytestmark = pytest.mark.process  # the demo is a process of its own, with its daemon


def demo(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "COMETWATCH_CONFIG"}
    env["TMPDIR"] = str(tmp_path)  # where its temporary folder goes, to see it cleaned up
    return subprocess.run([sys.executable, "-m", "cometwatch", "demo", *extra], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_demo_shows_every_event_of_the_story_signed_and_cleans_up(tmp_path: Path) -> None:
    result = demo(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    arrivals = re.findall(r"← (content\.\w+)\s+posts/(\S+)\s+id=(\w+)\s+signature ok",
                          result.stdout)
    assert [(event, slug) for event, slug, _ in arrivals] == [
        ("content.created", "hello-world"),
        ("content.updated", "hello-world"), ("content.published", "hello-world"),
        ("content.updated", "hello-comets"),
        ("content.unpublished", "hello-comets"), ("content.deleted", "hello-comets"),
        ("content.restored", "hello-comets"), ("content.published", "hello-comets"),
    ]
    assert len({entry_id for _, _, entry_id in arrivals}) == 1  # one entry all along
    assert "demo ok: 8 signed deliveries" in result.stdout
    assert "SIGNATURE WRONG" not in result.stdout and "Traceback" not in result.stderr
    assert not list(tmp_path.glob("cometwatch-demo-*"))  # nothing left behind


def test_keep_leaves_the_sample_site_to_look_at(tmp_path: Path) -> None:
    result = demo(tmp_path, "--keep")
    assert result.returncode == 0, result.stdout + result.stderr
    (folder,) = tmp_path.glob("cometwatch-demo-*")
    assert f"kept {folder}" in result.stdout
    assert (folder / "site" / "webhooks.toml").is_file()
    assert (folder / "site" / "content" / "posts" / "hello-comets.md").is_file()
    assert (folder / "state.db").is_file()


def test_a_folder_too_deep_for_a_socket_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    result = demo(deep)
    assert result.returncode == 1
    assert "set TMPDIR to a shorter folder" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list(deep.glob("cometwatch-demo-*"))
