"""`cometwatch run`: the daemon."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cometwatch.process import Signals


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "run", help="the daemon: watch the branch, derive events, deliver them",
        description="Scan once (the first scan of a repository is a silent baseline), then "
                    "wait: a commit wakes it within milliseconds (inotify on the git "
                    "directory's refs), it polls every [repository] poll_interval as a "
                    "fallback, fetches [repository] remote every fetch_interval, fires "
                    "scheduled publishes and expiries when they fall due, and delivers in the "
                    "background. SIGHUP reloads the config (a broken one is refused and the "
                    "running one kept), SIGUSR1 wakes it (git hooks do this), SIGTERM and "
                    "SIGINT stop it cleanly. Speaks sd_notify under systemd (Type=notify, "
                    "WatchdogSec).")
    parser.add_argument("--no-watch", action="store_true",
                        help="poll only, no inotify (for network file systems, where inotify "
                             "sees nothing)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Handlers first: a git hook's SIGUSR1 must never find the default action (terminate).
    from cometwatch.process import Signals

    signals = Signals()
    signals.install()

    import logging
    import os

    from cometwatch.cli import TextFormatter, setup_logging
    from cometwatch.config import find_config_file, load_config
    from cometwatch.daemon import Daemon
    from cometwatch.errors import UsageError
    from cometwatch.notify import JournalFormatter, Notifier, stderr_is_journal

    chosen = find_config_file(args.config, os.environ)[0]
    if chosen is None:
        # Without a config the daemon would watch this folder with no webhook, and outside a
        # repository retry "not a git repository" forever.
        raise UsageError(f"no webhooks.toml here ({os.getcwd()}), and neither --config nor "
                         "$COMETWATCH_CONFIG names one; `cometwatch init` writes one, or pass "
                         "--config")
    from cometwatch.fleet import is_fleet_file

    if is_fleet_file(chosen):
        return _run_fleet(chosen, args, signals)
    config = load_config(args.config)  # a broken config: one line, exit 2 (cli.py)
    if config.server.listen is not None:  # it serves: its tokens and push secrets must load
        config = load_config(args.config, serving=True)
    log_format = args.log_format or config.daemon.log_format
    setup_logging(args.verbose, log_format)
    if stderr_is_journal():
        # journald adds time and unit name; the <N> prefix carries the priority.
        handler = logging.getLogger("cometwatch").handlers[0]
        inner = handler.formatter if log_format == "json" else TextFormatter("{message}")
        handler.setFormatter(JournalFormatter(inner or TextFormatter("{message}")))
    for warning in config.warnings:
        logging.getLogger("cometwatch").warning("%s", warning)
    daemon = Daemon(config, args.config, signals, Notifier(), watch=not args.no_watch)
    return _exit(daemon.run())


def _run_fleet(file: Path, args: argparse.Namespace, signals: Signals) -> int:
    """A fleet file ([fleet] sites = …): every site in this one process."""
    from cometwatch.cli import setup_logging
    from cometwatch.fleet import Fleet
    from cometwatch.notify import Notifier

    setup_logging(args.verbose, args.log_format or "text")
    fleet = Fleet(file, signals, Notifier(), watch=not args.no_watch)  # broken: exit 2
    return _exit(fleet.run())


def _exit(code: int) -> int:
    import logging
    import os
    import sys
    import threading

    # Everything is committed by now. The dispatcher joins its threads on a stop; a thread
    # still alive is one that could not be cut (a request stuck resolving a name or connecting,
    # a write waiting on a busy database). Interpreter finalization would race it, and that
    # race was seen to hold the exit for 30 s, so only then is it skipped.
    if threading.active_count() > 1:
        logging.getLogger("cometwatch").debug(
            "threads left at exit: %s", ", ".join(t.name for t in threading.enumerate()
                                                  if t is not threading.current_thread()))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return int(code)
