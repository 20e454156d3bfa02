"""Git hooks: install and uninstall, keeping existing hooks, and what the sh scripts do."""

from __future__ import annotations

import json
import select
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import testing
from conftest import Site, post
from receiver import RECEIVER_SECRET, Receiver
from testing import Ran, run_cli

from cometwatch import hooks

PYTHON = sys.executable


def cometwatch(*args: str, cwd: Path) -> Ran:
    return run_cli(*args, cwd=cwd)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    testing.wait_for(check, what, timeout)


def read_line(proc: subprocess.Popen[str], timeout: float = 20.0) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], testing.patience(timeout))
    return proc.stdout.readline() if ready else "(nothing)"


def write_hook(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def plan_for(tmp_path: Path, interpreter: str = PYTHON, config: Path | None = None
             ) -> hooks.HookPlan:
    return hooks.HookPlan(interpreter=interpreter, config=config,
                          pid_file=tmp_path / "state" / "cometwatch.pid",
                          log_file=tmp_path / "state" / "hook-scan.log")


@pytest.fixture
def fake_cometwatch(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A `cometwatch` on PATH that records its arguments and GIT_DIR, for the fallback."""
    bin_dir, record = tmp_path / "bin", tmp_path / "called"
    write_hook(bin_dir / "cometwatch",
               f'#!/bin/sh\necho "$* GIT_DIR=${{GIT_DIR:-unset}}" >> "{record}"\n')
    yield bin_dir, record


@pytest.fixture
def daemon_stand_in(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """A process whose command line says cometwatch and that reports each SIGUSR1 it gets."""
    script = tmp_path / "cometwatch_stand_in.py"
    script.write_text(
        "import signal, sys\n"
        "signal.signal(signal.SIGUSR1, lambda *a: print('poked', flush=True))\n"
        "print('ready', flush=True)\n"
        "while True: signal.pause()\n")
    proc = subprocess.Popen([PYTHON, str(script)], stdout=subprocess.PIPE, text=True)
    assert read_line(proc) == "ready\n"
    yield proc, script
    proc.kill()
    proc.wait()


# -- installing -------------------------------------------------------------------------------

def test_install_writes_the_three_work_tree_hooks_executable_and_marked(site: Site) -> None:
    site.commit("first")
    result = cometwatch("hooks", "install", "--repo", str(site.root), cwd=site.root)
    assert result.returncode == 0, result.stderr
    for name in ("post-commit", "post-merge", "post-rewrite"):
        path = site.root / ".git" / "hooks" / name
        assert hooks.is_ours(path)
        assert path.stat().st_mode & stat.S_IXUSR
        assert subprocess.run(["sh", "-n", str(path)]).returncode == 0
    assert not (site.root / ".git" / "hooks" / "post-receive").exists()


def test_a_bare_repository_gets_post_receive_only(tmp_path: Path) -> None:
    bare = tmp_path / "site.git"
    subprocess.run(["git", "init", "-q", "--bare", str(bare)], check=True)
    result = cometwatch("hooks", "install", "--repo", str(bare), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert hooks.is_ours(bare / "hooks" / "post-receive")
    assert not (bare / "hooks" / "post-commit").exists()


def test_install_records_the_interpreter_and_the_config(site: Site) -> None:
    site.write("webhooks.toml", "[repository]\npoll_interval = 5\n")
    site.commit("config")
    result = cometwatch("--config", str(site.root / "webhooks.toml"), "hooks", "install",
                        cwd=site.root)
    assert result.returncode == 0, result.stderr
    text = (site.root / ".git" / "hooks" / "post-commit").read_text()
    assert PYTHON in text
    assert f"--config {site.root.resolve() / 'webhooks.toml'}" in text
    assert str(site.root.resolve() / ".git" / "cometwatch" / "cometwatch.pid") in text


def test_installing_twice_updates_in_place_and_keeps_one_copy_of_the_old_hook(
        site: Site) -> None:
    site.commit("first")
    old = "#!/bin/sh\necho old\n"
    write_hook(site.root / ".git" / "hooks" / "post-commit", old)
    for _ in range(2):
        assert cometwatch("hooks", "install", "--repo", str(site.root),
                          cwd=site.root).returncode == 0
    hooks_dir = site.root / ".git" / "hooks"
    assert (hooks_dir / "post-commit.pre-cometwatch").read_text() == old
    assert sorted(p.name for p in hooks_dir.glob("post-commit*")) == [
        "post-commit", "post-commit.pre-cometwatch"]


def test_core_hooks_path_is_respected(site: Site) -> None:
    site.commit("first")
    site.git("config", "core.hooksPath", ".githooks")
    assert cometwatch("hooks", "install", "--repo", str(site.root), cwd=site.root).returncode == 0
    assert hooks.is_ours(site.root / ".githooks" / "post-commit")
    assert not (site.root / ".git" / "hooks" / "post-commit").exists()


def test_a_linked_worktree_installs_into_the_shared_hooks(site: Site, tmp_path: Path) -> None:
    site.commit("first")
    linked = tmp_path / "linked"
    site.git("worktree", "add", "-q", "-b", "other", str(linked))
    assert cometwatch("hooks", "install", "--repo", str(linked), cwd=linked).returncode == 0
    assert hooks.is_ours(site.root / ".git" / "hooks" / "post-commit")


def test_install_refuses_when_both_a_foreign_hook_and_a_kept_one_exist(site: Site) -> None:
    site.commit("first")
    hooks_dir = site.root / ".git" / "hooks"
    write_hook(hooks_dir / "post-commit", "#!/bin/sh\necho mine\n")
    write_hook(hooks_dir / "post-commit.pre-cometwatch", "#!/bin/sh\necho older\n")
    result = cometwatch("hooks", "install", "--repo", str(site.root), cwd=site.root)
    assert result.returncode == 1
    assert "both exist" in result.stderr and "Traceback" not in result.stderr
    assert (hooks_dir / "post-commit").read_text() == "#!/bin/sh\necho mine\n"


# -- existing hooks keep working --------------------------------------------------------------

@pytest.mark.process
def test_an_existing_hook_still_runs_and_is_restored_by_uninstall(site: Site,
                                                                  tmp_path: Path) -> None:
    site.commit("first")
    marker = tmp_path / "old-hook-ran"
    original = f'#!/bin/sh\necho "$@" >> "{marker}"\n'
    hook = site.root / ".git" / "hooks" / "post-rewrite"
    write_hook(hook, original)
    assert cometwatch("hooks", "install", "--repo", str(site.root), cwd=site.root).returncode == 0
    assert hooks.is_ours(hook)
    site.git("commit", "-q", "--amend", "--allow-empty", "-m", "amended")
    wait_for(lambda: marker.exists(), "the kept hook to run")
    assert marker.read_text() == "amend\n"

    result = cometwatch("hooks", "uninstall", "--repo", str(site.root), cwd=site.root)
    assert result.returncode == 0, result.stderr
    assert hook.read_text() == original and hook.stat().st_mode & stat.S_IXUSR
    assert not (hook.parent / "post-rewrite.pre-cometwatch").exists()
    assert not (site.root / ".git" / "hooks" / "post-commit").exists()


def test_uninstall_leaves_a_hook_that_is_not_ours_alone(site: Site) -> None:
    site.commit("first")
    hook = site.root / ".git" / "hooks" / "post-commit"
    write_hook(hook, "#!/bin/sh\necho mine\n")
    result = cometwatch("hooks", "uninstall", "--repo", str(site.root), cwd=site.root)
    assert result.returncode == 0
    assert "left alone" in result.stdout
    assert hook.read_text() == "#!/bin/sh\necho mine\n"


def test_post_receive_passes_stdin_to_the_kept_hook_and_its_exit_status_on(
        tmp_path: Path) -> None:
    hooks_dir, seen = tmp_path / "hooks", tmp_path / "seen"
    write_hook(hooks_dir / "post-receive", f'#!/bin/sh\ncat > "{seen}"\necho deployed\nexit 3\n')
    hooks.install(hooks_dir, ("post-receive",), plan_for(tmp_path, interpreter="/nonexistent"))
    lines = "a" * 40 + " " + "b" * 40 + " refs/heads/main\n"
    result = subprocess.run([str(hooks_dir / "post-receive")], input=lines, text=True,
                            capture_output=True, env={"PATH": "/usr/bin:/bin"}, timeout=10)
    assert result.returncode == 3
    assert result.stdout == "deployed\n"
    assert seen.read_text() == lines


def test_post_commit_succeeds_even_when_the_kept_hook_fails(tmp_path: Path) -> None:
    hooks_dir = tmp_path / "hooks"
    write_hook(hooks_dir / "post-commit", "#!/bin/sh\nexit 7\n")
    hooks.install(hooks_dir, ("post-commit",), plan_for(tmp_path, interpreter="/nonexistent"))
    result = subprocess.run([str(hooks_dir / "post-commit")], capture_output=True,
                            env={"PATH": "/usr/bin:/bin"}, timeout=10)
    assert result.returncode == 0


# -- waking the daemon, or scanning without one -----------------------------------------------

def start_time(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]


@pytest.mark.process
@pytest.mark.parametrize("with_start_time", [True, False], ids=["proc", "ps"])
def test_the_hook_pokes_a_running_daemon_with_sigusr1(
        tmp_path: Path, daemon_stand_in: tuple[subprocess.Popen[str], Path],
        fake_cometwatch: tuple[Path, Path], with_start_time: bool) -> None:
    proc, _ = daemon_stand_in
    bin_dir, record = fake_cometwatch
    plan = plan_for(tmp_path, interpreter="/nonexistent")
    plan.pid_file.parent.mkdir(parents=True)
    # As `cometwatch run` writes it: the pid and, where /proc exists, its start time; an
    # older or non-Linux pid file has the pid alone, checked by its command line instead.
    started = f" {start_time(proc.pid)}" if with_start_time else ""
    plan.pid_file.write_text(f"{proc.pid}{started}\n")
    hooks.install(tmp_path / "hooks", ("post-commit",), plan)
    result = subprocess.run([str(tmp_path / "hooks" / "post-commit")],
                            env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, timeout=10)
    assert result.returncode == 0
    assert read_line(proc) == "poked\n"
    assert not record.exists()  # no scan started beside a running daemon


@pytest.mark.process
@pytest.mark.parametrize("with_start_time", [True, False], ids=["proc", "ps"])
def test_a_stale_pid_file_is_not_signalled_and_a_scan_starts_instead(
        tmp_path: Path, fake_cometwatch: tuple[Path, Path], with_start_time: bool) -> None:
    bin_dir, record = fake_cometwatch
    # The dead daemon's pid, reused by another process; even one named like cometwatch is
    # told apart by its start time.
    name = "cometwatch-lookalike" if with_start_time else "bystander"
    bystander = subprocess.Popen([name, "60"], executable=shutil.which("sleep"))
    try:
        plan = plan_for(tmp_path, interpreter="/nonexistent", config=tmp_path / "w.toml")
        plan.pid_file.parent.mkdir(parents=True)
        wrong = f" {int(start_time(bystander.pid)) - 1}" if with_start_time else ""
        plan.pid_file.write_text(f"{bystander.pid}{wrong}\n")
        hooks.install(tmp_path / "hooks", ("post-commit",), plan)
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "GIT_DIR": "."}
        result = subprocess.run([str(tmp_path / "hooks" / "post-commit")], env=env, timeout=10)
        assert result.returncode == 0
        # The fake appends its line with `>>`: the file exists a moment before it holds it.
        wait_for(lambda: record.exists() and record.read_text().endswith("\n"),
                 "the background scan to start")
        assert record.read_text() == (f"--config {tmp_path / 'w.toml'} scan --wait --timeout 60 "
                                      "GIT_DIR=unset\n")
        assert bystander.poll() is None
    finally:
        bystander.send_signal(signal.SIGTERM)
        bystander.wait()


@pytest.mark.process
def test_without_a_daemon_the_hook_runs_a_real_scan_in_the_background(site: Site,
                                                                       tmp_path: Path) -> None:
    site.write("posts/a.md", "---\ntitle: A\n---\n")
    site.commit("first")
    assert cometwatch("hooks", "install", cwd=site.root).returncode == 0
    site.write("posts/b.md", "---\ntitle: B\n---\n")
    second = site.commit("second")  # runs post-commit: no daemon, so a detached `cometwatch scan`
    log = site.root / ".git" / "cometwatch" / "hook-scan.log"
    wait_for(lambda: log.exists() and f"main at {second[:12]}: 1 commit" in log.read_text(),
             "the scan's log line")
    assert "# cometwatch scan started by post-commit at " in log.read_text()


@pytest.mark.process
def test_the_background_scans_log_is_rotated_past_its_limit(site: Site) -> None:
    from cometwatch.hooks import LOG_LIMIT

    site.commit("first")
    assert cometwatch("hooks", "install", cwd=site.root).returncode == 0
    log = site.root / ".git" / "cometwatch" / "hook-scan.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text("old line\n" * (LOG_LIMIT // 9 + 1))
    site.commit("second")
    wait_for(lambda: log.exists() and ": 1 commit" in log.read_text(), "the scan's log line")
    assert "old line" not in log.read_text()
    assert (log.parent / "hook-scan.log.1").stat().st_size > LOG_LIMIT


@pytest.mark.process
def test_a_push_to_a_bare_repository_runs_a_scan_there(site: Site, tmp_path: Path) -> None:
    bare = tmp_path / "site.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    (bare / "webhooks.toml").write_text("[repository]\npoll_interval = 30\n")
    result = cometwatch("--config", "webhooks.toml", "hooks", "install", cwd=bare)
    assert result.returncode == 0, result.stderr
    (bare / "cometwatch").mkdir()  # the state folder: must not shadow the package in the hook
    site.write("posts/a.md", "---\ntitle: A\n---\n")
    site.commit("a")
    site.git("push", "-q", str(bare), "main")
    log = bare / "cometwatch" / "hook-scan.log"
    wait_for(lambda: log.exists() and "baseline: main" in log.read_text(), "the scan in the "
             "bare repository")
    assert "Error" not in log.read_text()


# -- hooks only, no daemon: the first commit, a failing scan ---------------------------------

def hooks_only_config(site: Site, receiver: Receiver, secret: str) -> Path:
    config = site.root.parent / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{site.root}"\n\n'
                      f'[[webhooks]]\nname = "site"\nurl = "{receiver.url}"\n{secret}\n')
    return config


@pytest.mark.process
def test_install_takes_the_baseline_so_the_first_commit_after_it_is_sent(
        site: Site, tmp_path: Path) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    with Receiver(RECEIVER_SECRET) as receiver:
        secret = tmp_path / "secret"
        secret.write_text(RECEIVER_SECRET)
        secret.chmod(0o600)
        config = hooks_only_config(site, receiver, f'secret_file = "{secret}"')
        result = cometwatch("--config", str(config), "hooks", "install", cwd=site.root)
        assert result.returncode == 0, result.stderr
        assert f"baseline: main at {site.head()[:12]} (1 commit read), nothing sent; the next " \
            "commit is sent" in result.stdout
        assert "warning" not in result.stderr
        site.write("posts/b.md", post("title: B"))
        site.commit("b")  # the first commit after install: its scan is not a baseline
        arrivals = receiver.wait_for(2, timeout=30)
    assert [a.event for a in arrivals] == ["content.created", "content.published"]
    assert {json.loads(a.body)["data"]["slug"] for a in arrivals} == {"b"}
    assert all(a.verified for a in arrivals)
    again = cometwatch("--config", str(config), "hooks", "install", cwd=site.root)
    assert f"state: main scanned up to {site.head()[:12]}; the next commit is sent" in \
        again.stdout


def test_install_in_a_repository_without_commits_says_the_first_one_is_the_baseline(
        site: Site) -> None:
    result = cometwatch("hooks", "install", cwd=site.root)
    assert result.returncode == 0, result.stderr
    assert "state: branch 'main' has no commits yet: its first commit is the baseline (not " \
        "sent), the commits after it are sent" in result.stdout


@pytest.mark.process
def test_a_failing_hook_scan_is_warned_of_at_install_and_shown_by_status(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CW_HOOK_SECRET", raising=False)
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    with Receiver(RECEIVER_SECRET) as receiver:
        config = hooks_only_config(site, receiver, 'secret_env = "CW_HOOK_SECRET"')
        result = cometwatch("--config", str(config), "hooks", "install", cwd=site.root)
        assert result.returncode == 0, result.stderr  # the baseline needs no secret
        assert "warning: webhook 'site' reads its secret from $CW_HOOK_SECRET" in result.stderr
        assert "secret_file" in result.stderr and "baseline: main" in result.stdout
        quiet = cometwatch("--config", str(config), "status", cwd=site.root)
        assert "hook scan" not in quiet.stdout

        site.write("posts/b.md", post("title: B"))
        site.commit("b")  # the hook's scan lacks the variable: it refuses, in its log only
        log = site.root / ".git" / "cometwatch" / "hook-scan.log"
        wait_for(lambda: log.exists() and "error:" in log.read_text(), "the scan's error")
        status = cometwatch("--config", str(config), "status", cwd=site.root)
        [line] = [line for line in status.stdout.splitlines() if line.startswith("hook scan")]
        assert "FAILED" in line and "environment variable CW_HOOK_SECRET is not set" in line
        assert str(log) in line
        as_json = json.loads(cometwatch("--config", str(config), "status", "--json",
                                        cwd=site.root).stdout)
        assert "CW_HOOK_SECRET" in as_json["hook_scan_failure"]["error"]

        # A scan that works (here: by hand, with the variable) puts the failure behind it.
        # The log's times are whole seconds: the next scan starts in a later one.
        failure = hooks.last_failure(log)
        assert failure is not None and failure.started is not None
        failed_at = int(failure.started)
        wait_for(lambda: int(time.time()) > failed_at, "the next whole second")
        monkeypatch.setenv("CW_HOOK_SECRET", RECEIVER_SECRET)
        assert cometwatch("--config", str(config), "scan", cwd=site.root).returncode == 0
        assert len(receiver.wait_for(2, timeout=30)) == 2
    after = cometwatch("--config", str(config), "status", cwd=site.root)
    assert "hook scan" not in after.stdout


def test_last_failure_reads_the_last_error_and_when_its_scan_started(tmp_path: Path) -> None:
    log = tmp_path / "hook-scan.log"
    assert hooks.last_failure(log) is None
    log.write_text(f"{hooks.RUN_MARK}post-commit at 2024-05-01T10:00:00Z\n"
                   "cometwatch: error: first\n"
                   f"{hooks.RUN_MARK}post-merge at 2024-05-01T11:00:00Z\n"
                   "cometwatch: error: second\n"
                   f"{hooks.RUN_MARK}post-commit at 2024-05-01T12:00:00Z\n"
                   "main at 0123456789ab: nothing new\n")
    failure = hooks.last_failure(log)
    assert failure is not None
    assert (failure.message, failure.started) == ("second", 1714561200.0)
    log.write_text("cometwatch: error: from an older hook\n")  # no run lines: the log's age
    failure = hooks.last_failure(log)
    assert failure is not None and failure.started == log.stat().st_mtime
    log.write_text("cometwatch: error: from an older hook\nbaseline: main at 0123\n")
    assert hooks.last_failure(log) is None
