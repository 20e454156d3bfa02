"""Shared fixtures: real temporary git repositories, built with real commits."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.org",
    "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


class Site:
    """A content repository under test: write files, commit with a chosen time, read shas."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.clock = 1_700_000_000  # committer times advance a minute per commit by default
        self.git("init", "-q", "-b", "main")

    def git(self, *args: str, time: int | None = None) -> str:
        env = {**os.environ, **GIT_ENV}
        if time is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{time} +0000"
        return subprocess.run(["git", *args], cwd=self.root, env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")

    def move(self, old: str, new: str) -> None:
        (self.root / new).parent.mkdir(parents=True, exist_ok=True)
        self.git("mv", old, new)

    def remove(self, path: str) -> None:
        self.git("rm", "-q", path)

    def commit(self, message: str = "save", time: int | None = None) -> str:
        self.clock = time if time is not None else self.clock + 60
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, time=self.clock)
        return self.git("rev-parse", "HEAD")

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


def post(front: str = "", body: str = "Body text.\n") -> str:
    """A Markdown file with YAML frontmatter lines `front`."""
    return f"---\n{front.strip()}\n---\n{body}" if front.strip() else body


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield Site(tmp_path / "site")


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(autouse=True)
def _cometwatch_logging_kept() -> Iterator[None]:
    """A command run in this process (cometwatch.cli.main) sets cometwatch's logging up for
    itself; it is undone after each test, so the next one's caplog sees cometwatch's records."""
    from testing import logging_kept

    with logging_kept():
        yield
