"""Shared fixtures: real temporary git repositories, built with real commits."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings


def _temporary_files_in_memory() -> None:
    """Tests' temporary folders (tmp_path, tempfile, the processes they start) on /dev/shm
    when it is a RAM disk (tmpfs, executable, 1 GiB free) and TMPDIR does not choose: the suite
    writes some 50,000 small files (repositories, states, configs), and creating a file on a
    VM's disk can take a millisecond where tmpfs takes microseconds. Set TMPDIR to choose."""
    if "TMPDIR" in os.environ:
        return
    try:
        with open("/proc/self/mounts", encoding="utf-8") as mounts:
            shm = [line.split() for line in mounts if line.split()[1:3] == ["/dev/shm", "tmpfs"]]
        free = shutil.disk_usage("/dev/shm").free
    except OSError:
        return
    if shm and "noexec" not in shm[-1][3].split(",") and free >= 1 << 30 \
            and os.access("/dev/shm", os.W_OK | os.X_OK):
        os.environ["TMPDIR"] = "/dev/shm"
        tempfile.tempdir = None  # gettempdir() reads TMPDIR again


_temporary_files_in_memory()


def _bytecode_kept_in_a_cache() -> None:
    """With PYTHONDONTWRITEBYTECODE set (as in many containers and CI images) and no
    PYTHONPYCACHEPREFIX chosen, each `python -m cometwatch` process the tests start (daemons,
    git hooks, the demo, commands run as processes) compiled cometwatch's 20,000 lines again,
    some 20-50 ms of CPU. Those processes keep their bytecode in a private
    cache beside the temporary folders instead (PYTHONPYCACHEPREFIX), never beside the sources,
    so the first compiles and the others read; Python checks each file against its source as
    always. The test processes themselves are left as they are (with a cache prefix they would
    compile every installed library again, ignoring the bytecode pip installed). Set
    PYTHONPYCACHEPREFIX to choose the folder."""
    if os.environ.get("PYTHONDONTWRITEBYTECODE", "") == "" or "PYTHONPYCACHEPREFIX" in os.environ:
        return
    cache = Path(tempfile.gettempdir()) / f"cometwatch-tests-pycache-{os.getuid()}"
    try:
        cache.mkdir(mode=0o700, exist_ok=True)
        info = cache.lstat()
    except OSError:
        return
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return  # not a folder of our own: another user's code must not be run as ours
    os.environ["PYTHONPYCACHEPREFIX"] = str(cache)
    del os.environ["PYTHONDONTWRITEBYTECODE"]


_bytecode_kept_in_a_cache()

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
        return self.head()

    def head(self) -> str:
        """HEAD's commit, read where git wrote it (a commit always writes its branch as a loose
        ref); asked of git when it is elsewhere (a packed ref, .git a file, another format).
        The suite makes a few thousand commits: a `git rev-parse` each was a fifth of them."""
        git_dir = self.root / ".git"
        try:
            head = (git_dir / "HEAD").read_text(encoding="ascii").strip()
            if head.startswith("ref: refs/"):
                head = (git_dir / head.removeprefix("ref: ")).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            head = ""
        if len(head) == 40 and set(head) <= set("0123456789abcdef"):
            return head
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


# -- tiers (README: "Running the tests") --------------------------------------------------------
# A test's tier comes from its file, named here once; a test file not named is in neither list
# and runs with the rest (`pytest -m "not process"` keeps it). `core`: the pure modules, in
# this process, with no git repository, no process and no server; the whole tier takes a few
# seconds (`pytest -m core`). A core-file test that asks for a repository (the `site` fixture)
# is not core. `process`, `browser` and `sitetool` are marked here or on the test itself.
CORE_FILES = frozenset({
    "test_entry.py", "test_payload.py", "test_signature.py", "test_retry.py",
    "test_jsglob.py", "test_jsconfig.py", "test_jsdate.py", "test_jstools_properties.py",
    "test_config.py", "test_decap.py", "test_forges.py", "test_admin_chart.py",
    "test_coalescing.py", "test_configedit.py", "test_phpquery.py", "test_plainyaml.py",
})
BROWSER_FILES = frozenset({"test_admin_browser.py"})  # Chromium through chromedriver
SITE_TOOL_FILES = frozenset({  # the real Hugo, Jekyll or Eleventy, run on a fixture site
    "test_hugo_differential.py", "test_jekyll_differential.py", "test_eleventy_differential.py",
})
REPOSITORY_FIXTURES = frozenset({"site", "tmp_path", "tmpdir"})


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """`-m core` imports only the core files: importing the others (Flask, selenium,
    schemathesis…) would cost more than the whole core tier takes to run."""
    if config.getoption("markexpr") != "core" or collection_path.suffix != ".py":
        return None
    return True if collection_path.name.startswith("test_") and \
        collection_path.name not in CORE_FILES else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = item.path.name
        fixtures = set(getattr(item, "fixturenames", ()))
        if name in CORE_FILES and not fixtures & REPOSITORY_FIXTURES \
                and item.get_closest_marker("process") is None \
                and item.get_closest_marker("sitetool") is None:
            item.add_marker(pytest.mark.core)
        if name in BROWSER_FILES:
            item.add_marker(pytest.mark.browser)
        if name in SITE_TOOL_FILES:
            item.add_marker(pytest.mark.sitetool)


@pytest.fixture(autouse=True)
def _core_starts_no_process(request: pytest.FixtureRequest,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The core tier's promise, kept: a core test that starts a process fails, saying so."""
    if request.node.get_closest_marker("core") is None:
        return

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("a core test starts no process: move it out of "
                             "conftest.CORE_FILES, or give it a repository fixture")

    monkeypatch.setattr(subprocess.Popen, "__init__", refused)


# -- Hypothesis profiles (testing.examples scales each property test's own count by them) -------
# `ci`, the default (the README's test command, .ci/run): a quarter of each test's written
# count, enough for any property to fail on a plain input, while the whole suite stays within
# a minute. `thorough`: the written counts; `pytest --hypothesis-profile=thorough`, before a
# release or after touching a parser. No deadline in either: a shared machine is slow at
# random, and speed is benchmarks/' business; a test that sets its own deadline keeps it.
settings.register_profile("ci", max_examples=25, deadline=None)
settings.register_profile("thorough", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
