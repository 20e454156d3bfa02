"""What the Webhooks page shows of a site besides its config: the watcher, each webhook's
health, and whether a daemon runs on this state (to reload it as SIGHUP does)."""

from __future__ import annotations

import contextlib
import os
import signal
from dataclasses import dataclass
from pathlib import Path

from cometwatch.errors import CometwatchError
from cometwatch.outbox import DeliveryStatus, WebhookState
from cometwatch.process import pid_path
from cometwatch.web.context import SiteContext


@dataclass(frozen=True, slots=True)
class Watcher:
    branch: str
    remote: str | None
    commit: str | None  # the cursor; None before the first scan
    subject: str | None  # its message's first line
    scanned_at: float | None
    next_timer: float | None
    fetch_failing: dict[str, object] | None  # since, last_try, error
    problem: str | None  # why the state could not be read


@dataclass(frozen=True, slots=True)
class Health:
    state: WebhookState | None
    counts: dict[DeliveryStatus, int]

    @property
    def disabled(self) -> bool:
        return self.state is not None and self.state.disabled_at is not None


def watcher(site: SiteContext) -> Watcher:
    from cometwatch.daemon import fetch_failure

    remote = site.config.repository.remote
    failing = fetch_failure(site.state_path.parent)
    try:
        cursor = site.reader().cursor(site.branch)
    except CometwatchError as exc:
        return Watcher(site.branch, remote, None, None, None, None, failing, str(exc))
    if cursor is None:
        return Watcher(site.branch, remote, None, None, None, None, failing,
                       "no scan yet: the first `cometwatch run` or `scan` takes the baseline")
    subject = None
    with contextlib.suppress(CometwatchError):
        from cometwatch.gitrepo import Repository

        with Repository(site.config.repository.path) as repo:
            subject = repo.commit_subject(cursor.commit)
    return Watcher(site.branch, remote, cursor.commit, subject, cursor.scanned_at,
                   cursor.next_timer, failing, None)


def health(site: SiteContext) -> dict[str, Health]:
    try:
        store = site.reader()
        states, counts = store.webhook_states(), store.counts()
    except CometwatchError:
        return {}
    return {name: Health(states.get(name), counts.get(name, {}))
            for name in set(states) | set(counts)}


def running_daemon(state_path: Path) -> int | None:
    """The pid of the `cometwatch run` using this state, if one runs (its pid file names it
    and /proc agrees it is that process, not a reused pid)."""
    try:
        fields = pid_path(state_path).read_text(encoding="ascii").split()
        pid = int(fields[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return None  # another user's: it cannot be signalled from here
    if len(fields) > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return pid
        if len(stat) > 19 and stat[19] != fields[1]:
            return None  # the pid was reused by another process
    return pid


def reload_daemon(site: SiteContext) -> str:
    """Have the running daemon read the config again (SIGHUP); say what happened."""
    pid = running_daemon(site.state_path)
    if pid is None:
        return ("No `cometwatch run` is running on this state: it reads the file when it "
                "starts.")
    try:
        os.kill(pid, signal.SIGHUP)
    except OSError as exc:
        return (f"The daemon (pid {pid}) could not be told to reload ({exc.strerror}): "
                f"`kill -HUP {pid}` or `systemctl reload` does it.")
    if pid == os.getpid():
        return "The daemon reloads it now (as on SIGHUP)."
    return f"The daemon (pid {pid}) reloads it now (as on SIGHUP)."


def wake_daemon(site: SiteContext) -> bool:
    """Ask the running daemon to look at the outbox now; False when none runs."""
    if site.poke is not None:
        site.poke()
        return True
    pid = running_daemon(site.state_path)
    if pid is None:
        return False
    try:
        os.kill(pid, signal.SIGUSR1)
    except OSError:
        return False
    return True
