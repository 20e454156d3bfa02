"""`cometwatch status`: cursor, last scan, deliveries per webhook, disabled ones, next timer."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cometwatch.config import Config


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "status", help="cursor, last scan, pending and dead deliveries, disabled webhooks",
        description="What the state database says: the cursor of each branch and when it "
                    "was last scanned, the next scheduled publish or expiry, and per webhook "
                    "its open, dead and skipped deliveries and whether it is disabled. Given "
                    "a fleet file ([fleet] sites), each site's.")
    parser.add_argument("--json", action="store_true", help="as one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.commands.fleetwide import fleet_file, status_fleet
    from cometwatch.config import load_config

    fleet = fleet_file(args.config)
    if fleet is not None:
        return status_fleet(fleet, args.json)
    return status(load_config(args.config, secrets=False), as_json=args.json)  # never signs


def status(config: Config, as_json: bool = False) -> int:
    """What the state database says, on stdout."""
    import json
    import sys

    found = report(config)
    if as_json:
        json.dump(found.as_json(), sys.stdout, indent=2)
        print()
        return 0
    show(found)
    return 0


@dataclass(frozen=True, slots=True)
class Report:
    """What `status` says of one site's state."""

    path: Path
    cursors: list[Any]
    hooks: list[dict[str, Any]]
    timers: list[float]
    failure: Any  # the git hook's last background scan failure, or None
    fetching: dict[str, Any] | None
    hook_scan: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        from cometwatch.commands.deliveries import moment

        return {
            "state": str(self.path),
            "cursors": [{"branch": c.branch, "commit": c.commit,
                         "last_scan": moment(c.scanned_at), "updated": moment(c.updated_at),
                         "next_timer": c.next_timer and moment(c.next_timer)}
                        for c in self.cursors],
            "webhooks": self.hooks,
            "hook_scan_failure": self.hook_scan,
            "fetch_failure": self.fetching,  # remote mode: what the daemon's fetches meet
        }


def report(config: Config) -> Report:
    """Read what `status` says of `config`'s state."""
    from cometwatch.commands.deliveries import moment
    from cometwatch.daemon import fetch_failure
    from cometwatch.hooks import last_failure
    from cometwatch.outbox import held
    from cometwatch.redaction import redact_text
    from cometwatch.source import open_state

    with open_state(config, create=False) as store:
        cursors = store.cursors()
        states = store.webhook_states()
        counts = store.counts()
        waiting = store.open_counts()
        path = store.path
    names = [hook.name for hook in config.webhooks]
    names += sorted((set(states) | set(counts)) - set(names))
    hooks: list[dict[str, Any]] = []
    for name in names:
        state = states.get(name)
        configured = config.webhook(name)
        why = held(name, configured) if waiting.get(name) else None
        hooks.append({
            "name": name,
            "configured": configured is not None,
            "enabled_in_config": bool(configured and configured.enabled),
            "disabled_at": state and state.disabled_at and moment(state.disabled_at),
            "disabled_reason": state and state.disabled_reason,
            "failing_since": state and state.failing_since and moment(state.failing_since),
            "last_success": state and state.last_success and moment(state.last_success),
            "deliveries": {s.value: n for s, n in sorted(counts.get(name, {}).items())},
            # open deliveries kept but not sent, and why (None: they are sent)
            "held": waiting.get(name, 0) if why else 0,
            "held_reason": why,
        })
    timers = [c.next_timer for c in cursors if c.next_timer is not None]
    # A git hook's background scan has no one to tell when it fails but its log; its error
    # stands until a scan succeeds after it (seconds: the log's times are whole seconds).
    failure = last_failure(path.parent / "hook-scan.log")
    last_scan = max((c.scanned_at for c in cursors), default=None)
    if failure is not None and last_scan is not None and failure.started is not None \
            and failure.started < int(last_scan):
        failure = None
    fetch = fetch_failure(path.parent)
    fetching = fetch and {"failing_since": moment(fetch["since"]),
                          "last_try": moment(fetch["last_try"]),
                          "error": redact_text(fetch["error"])}
    hook_scan = failure and {"failed": failure.started and moment(failure.started),
                             "error": redact_text(failure.message),
                             "log": str(failure.log_file)}
    return Report(path, cursors, hooks, timers, failure, fetching or None, hook_scan or None)


def show(found: Report) -> None:
    """`status` as lines on stdout."""
    import time

    from cometwatch.commands.deliveries import moment
    from cometwatch.escape import say
    from cometwatch.progress import counted
    from cometwatch.redaction import redact_text

    now = time.time()
    cursors, hooks, timers = found.cursors, found.hooks, found.timers
    failure, fetching = found.failure, found.fetching
    say(f"state       {found.path}")
    if not cursors:
        say("cursor      none yet (the first scan takes a baseline)")
    for c in cursors:
        say(f"cursor      {c.branch} at {c.commit[:12]}; last scan {moment(c.scanned_at)} "
              f"({_ago(now - c.scanned_at)})")
    if fetching:
        say(f"fetch       FAILING since {fetching['failing_since']} (last try "
              f"{fetching['last_try']}): {fetching['error']}")
    if failure is not None:
        when = f" {moment(failure.started)} ({_ago(now - failure.started)})" \
            if failure.started is not None else ""
        say(f"hook scan   FAILED{when}: {redact_text(failure.message)} "
            f"(its output: {failure.log_file})")
    say("next timer  " + (f"{moment(min(timers))} (a scheduled publish or expiry)" if timers
                            else "none scheduled"))
    if not hooks:
        say("webhooks    none configured")
    for hook in hooks:
        tally = hook["deliveries"]
        line = (f"webhook     {hook['name']}: {tally.get('pending', 0)} pending, "
                f"{tally.get('failed', 0)} retrying, {tally.get('dead', 0)} dead, "
                f"{tally.get('skipped', 0)} skipped, {tally.get('ok', 0)} ok")
        if not hook["configured"]:
            line += "; no longer in the config"
        elif not hook["enabled_in_config"]:
            line += "; enabled = false in the config"
        if hook["disabled_at"]:
            line += f"; DISABLED since {hook['disabled_at']}: {hook['disabled_reason']}"
        elif hook["failing_since"]:
            line += f"; failing since {hook['failing_since']}"
        if hook["last_success"]:
            line += f"; last success {hook['last_success']}"
        say(line)
        if hook["held"]:
            say(f"            {counted(hook['held'], 'open delivery', 'open deliveries')} "
                  f"for webhook {hook['name']!r}, {hook['held_reason']}")


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{max(seconds, 0):.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"
