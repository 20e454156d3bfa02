"""Git hook scripts that wake the daemon, or run a scan when no daemon runs.

The scripts are plain sh: on the fast path (a daemon is running) they read its pid file and
send SIGUSR1, with no Python start, and return to git in a few milliseconds. Without a daemon
they start `cometwatch scan --wait` in the background, detached, its output in a log file.
They never fail the git command. A hook that was there before is kept beside ours
(`post-commit.pre-cometwatch`), still run first, and put back by `uninstall`.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from cometwatch import utc
from cometwatch.errors import RepositoryError

MARKER = "# cometwatch-hook: installed by `cometwatch hooks install`"
KEPT_SUFFIX = ".pre-cometwatch"
WORKTREE_HOOKS = ("post-commit", "post-merge", "post-rewrite")
BARE_HOOKS = ("post-receive",)
_STDIN_HOOKS = ("post-receive", "post-rewrite")  # git writes lines to their stdin
RUN_MARK = "# cometwatch scan started by "  # the log line before each background scan
_ERROR_PREFIXES = ("cometwatch: error: ", "cometwatch: unexpected error: ")
SCAN_TIMEOUT = 60
LOG_LIMIT = 1 << 20  # bytes of hook-scan.log before it is rotated
# What git exports to a hook that would point the background scan at the wrong place.
_GIT_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_COMMON_DIR",
                  "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                  "GIT_QUARANTINE_PATH")


@dataclass(frozen=True, slots=True)
class HookPlan:
    """What an installed hook knows, recorded when it is written."""

    interpreter: str  # sys.executable at install; `cometwatch` on PATH when it has gone
    config: Path | None  # passed as --config to the background scan
    pid_file: Path  # written by `cometwatch run` next to its state database
    log_file: Path  # the background scan's output


def hook_names(bare: bool) -> tuple[str, ...]:
    return BARE_HOOKS if bare else WORKTREE_HOOKS


def is_ours(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return MARKER.encode() in head


def script(name: str, plan: HookPlan) -> str:
    """The sh text of hook `name`. Pure, for tests and for `install`."""
    q = shlex.quote
    chained = f'"${{0%/*}}/{name}{KEPT_SUFFIX}"'
    # post-receive's output reaches the pusher and its status is reported: the kept hook's
    # status is passed on there. The others always succeed, whatever happens.
    final = 'exit "$status"' if name == "post-receive" else "exit 0"
    drain = ("" if name not in _STDIN_HOOKS else
             "else\n    cat >/dev/null 2>&1  # git feeds this hook lines; take them\n")
    config = f"--config {q(str(plan.config))} " if plan.config else ""
    return f"""#!/bin/sh
{MARKER}
# `cometwatch hooks uninstall` removes it (and puts back a hook kept as {name}{KEPT_SUFFIX}).
# Wakes a running `cometwatch run`, else starts `cometwatch scan` in the background.
# Never fails the git command; returns at once.
status=0
if [ -x {chained} ]; then
    {chained} "$@"
    status=$?
{drain}fi

pid_file={q(str(plan.pid_file))}
pid= started=
[ -r "$pid_file" ] && read -r pid started 2>/dev/null <"$pid_file"
case $pid in ''|*[!0-9]*) pid= ;; esac
if [ -n "$pid" ]; then
    # The pid file outlives a killed daemon, and its pid may be reused: signal only the
    # process that wrote it (same start time, field 22 of /proc/PID/stat; builtins only).
    if [ -n "$started" ] && [ -r /proc/self/stat ]; then
        stat=
        [ -r "/proc/$pid/stat" ] && read -r stat 2>/dev/null <"/proc/$pid/stat"
        set -- ${{stat##*) }}
        if [ "$#" -lt 20 ] || eval '[ "${{20}}" != "$started" ]'; then pid=; fi
    else
        case $(ps -p "$pid" -o command= 2>/dev/null) in *cometwatch*) ;; *) pid= ;; esac
    fi
fi
if [ -n "$pid" ]; then
    # A daemon run by another user cannot be signalled; it watches the refs itself.
    kill -USR1 "$pid" 2>/dev/null
    {final}
fi

unset {" ".join(_GIT_VARIABLES)}
# -P: the current folder (a bare repository holds a `cometwatch` state folder) is not a package.
if [ -x {q(plan.interpreter)} ]; then
    set -- {q(plan.interpreter)} -P -m cometwatch
elif command -v cometwatch >/dev/null 2>&1; then
    set -- cometwatch
else
    {final}
fi
log={q(str(plan.log_file))}
mkdir -p "${{log%/*}}" 2>/dev/null
# Kept small: past {LOG_LIMIT} bytes the log starts again, the previous one kept as .1.
if [ -f "$log" ] && [ "$(wc -c <"$log")" -gt {LOG_LIMIT} ]; then mv -f "$log" "$log.1"; fi
# A line per scan started, for `cometwatch status` to tell when the last error happened.
echo "{RUN_MARK}{name} at $(date -u +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)" >>"$log" 2>/dev/null
if command -v setsid >/dev/null 2>&1; then
    set -- setsid "$@"
else
    set -- nohup "$@"
fi
"$@" {config}scan --wait --timeout {SCAN_TIMEOUT} </dev/null >>"$log" 2>&1 &
{final}
"""


@dataclass(frozen=True, slots=True)
class ScanFailure:
    """The last error a background scan wrote to its log."""

    message: str  # the one line of the error, without the `cometwatch: error:` prefix
    started: float | None  # when that scan started (None: a log older than the run lines)
    log_file: Path


def last_failure(log_file: Path, tail: int = 1 << 16) -> ScanFailure | None:
    """The last error in the background scans' log, with when its scan started; None when
    the log has none (or is not there). Only the last `tail` bytes are read."""
    try:
        with log_file.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(size - tail, 0))
            text = handle.read().decode("utf-8", "replace")
            modified = os.fstat(handle.fileno()).st_mtime
    except OSError:
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    started: float | None = None
    failure: ScanFailure | None = None
    for line in lines:
        if line.startswith(RUN_MARK):
            started = _moment(line.rpartition(" at ")[2])
        elif line.startswith(_ERROR_PREFIXES):
            message = line.split(": ", 2)[2] if line.startswith(_ERROR_PREFIXES[0]) \
                else line.removeprefix("cometwatch: ")
            failure = ScanFailure(message, started, log_file)
    if failure is not None and failure.started is None:
        # A log written before the run lines: its last line's age is all there is to go by.
        if not lines[-1].startswith(_ERROR_PREFIXES):
            return None
        failure = ScanFailure(failure.message, modified, log_file)
    return failure


def _moment(text: str) -> float | None:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text):
        return None
    return utc.parse(text)


def resolve_hooks_dir(work_root: Path, git_dir: Path, common_dir: Path, bare: bool,
                      hooks_path: str | None) -> Path:
    """Where git looks for hooks: core.hooksPath (relative to where hooks run: the work
    tree's root, or the git dir of a bare repository), else the common git dir's hooks/."""
    if not hooks_path:
        return common_dir / "hooks"
    path = Path(os.path.expanduser(hooks_path))
    return path if path.is_absolute() else (git_dir if bare else work_root) / path


def install(hooks_dir: Path, names: tuple[str, ...], plan: HookPlan) -> list[str]:
    """Write our hooks, keeping any other hook beside them; returns one line per hook.
    Installing again updates ours in place."""
    hooks_dir.mkdir(parents=True, exist_ok=True)
    clashes = [name for name in names
               if (hooks_dir / name).exists() and not is_ours(hooks_dir / name)
               and _kept(hooks_dir, name).exists()]
    if clashes:
        name = clashes[0]
        raise RepositoryError(f"{hooks_dir / name} and {_kept(hooks_dir, name)} both exist; "
                              "merge them into one hook, then run `cometwatch hooks install` "
                              "again")
    report = []
    for name in names:
        target = hooks_dir / name
        if target.is_symlink() or target.exists():
            if is_ours(target):
                report.append(f"{target}: updated")
            else:
                target.rename(_kept(hooks_dir, name))
                report.append(f"{target}: installed; the existing hook is kept as "
                              f"{_kept(hooks_dir, name).name} and still runs first")
        else:
            report.append(f"{target}: installed")
        _write_executable(target, script(name, plan))
    return report


def uninstall(hooks_dir: Path, names: tuple[str, ...]) -> list[str]:
    """Remove our hooks and put kept ones back; a hook that is not ours is left alone."""
    report = []
    for name in names:
        target, kept = hooks_dir / name, _kept(hooks_dir, name)
        if target.exists() and not is_ours(target):
            report.append(f"{target}: not a cometwatch hook, left alone")
            continue
        if target.exists():
            target.unlink()
            report.append(f"{target}: removed")
        if kept.is_symlink() or kept.exists():
            kept.rename(target)
            report.append(f"{target}: the previous hook is back")
    return report


def _kept(hooks_dir: Path, name: str) -> Path:
    return hooks_dir / f"{name}{KEPT_SUFFIX}"


def _write_executable(target: Path, text: str) -> None:
    # Written beside and renamed over: git never runs a half-written hook.
    temporary = target.with_name(f".{target.name}.cometwatch-tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.chmod(0o755)
    temporary.replace(target)
