"""`cometwatch scan`: one pass (derive, store, send what is due), then exit."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from cometwatch.commands import arguments

if TYPE_CHECKING:
    from cometwatch.config import Config


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "scan", help="one pass: derive new events, store them, send what is due",
        description="Derive the events of the commits since the last scan (and the scheduled "
                    "publishes and expiries that fell due), store them with the new cursor in "
                    "one transaction, send what is due, and exit: for cron and git hooks. The "
                    "first scan of a repository takes the tip as its baseline and sends nothing, "
                    "unless --all or --since asks for a backfill. While `cometwatch run` is "
                    "delivering from the same state, scan only stores and leaves the sending to "
                    "it.")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--all", action="store_true",
                       help="backfill: the events of the whole history (each stored once)")
    group.add_argument("--since", metavar="REV", help="backfill: the events after REV")
    parser.add_argument("--no-deliver", action="store_true",
                        help="store the events and deliveries, send nothing")
    parser.add_argument("--wait", action="store_true",
                        help="keep sending until nothing is due any more, coalescing windows "
                             "included; with --timeout, also the retries that fall due before "
                             "it (without, retries are left for later)")
    parser.add_argument("--timeout", metavar="S", type=arguments.duration,
                        help="stop sending after this long (seconds, or 30s, 5m)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.config import load_config

    config = load_config(args.config, secrets=not args.no_deliver)
    return scan(config, backfill="all" if args.all else args.since,
                deliver=not args.no_deliver, wait=args.wait, timeout=args.timeout)


def scan(config: Config, backfill: str | None = None, deliver: bool = True, wait: bool = False,
         timeout: float | None = None) -> int:
    """One pass: derive and store the new events (`backfill`: "all", or a revision to read
    the history after), then (with `deliver`) send what is due; `wait`: until nothing is,
    coalescing windows included; `timeout`: seconds at most for the sending."""
    import logging
    import time

    from cometwatch.progress import Progress, counted
    from cometwatch.scanner import Scanner
    from cometwatch.source import Source
    from cometwatch.store import Store

    log = logging.getLogger("cometwatch")
    for warning in config.warnings:
        log.warning("%s", warning)
    with Source.open(config) as source:
        path = Store.default_path(config, source.repo)
        with Store.open(path) as store:
            scanner = Scanner(config, store, source)
            long_read = backfill is not None or store.cursor(source.branch) is None
            # A first scan and a backfill read the whole first-parent history to the tip.
            progress = (Progress(lambda: source.repo.count(None, source.tip_or_fail()),
                                 "reading history") if long_read else None)
            try:
                result = scanner.scan(time.time(), backfill, progress)
            finally:
                if progress is not None:
                    progress.close()
    where = f"{source.branch} at {(result.cursor or '')[:12]}"
    if result.baseline:
        print(f"baseline: {where} ({counted(result.commits, 'commit')} read); nothing sent "
              "(`cometwatch scan --all` or `--since REV` backfills)")
    elif result.commits or result.events:
        print(f"{where}: {counted(result.commits, 'commit')}, "
              f"{counted(result.events, 'event')}, "
              f"{counted(result.deliveries, 'delivery', 'deliveries')}")
    else:
        print(f"{where}: nothing new")
    if not deliver or not any(hook.enabled for hook in config.webhooks):
        return 0
    return _send(config, path, wait, timeout)


def _send(config: Any, path: Any, wait: bool, timeout: float | None) -> int:
    from cometwatch.delivery import Sender
    from cometwatch.dispatcher import Dispatcher

    sender = Sender()
    dispatcher = Dispatcher(config, path, sender)
    try:
        sent = dispatcher.drain(timeout) if wait else dispatcher.send_due_once(timeout)
    finally:
        dispatcher.close()
        sender.close()
    if dispatcher.busy:
        print("another cometwatch process (the daemon?) is delivering from this state; it will "
              "send them")
    else:
        if sent:
            tally = ", ".join(f"{count} {status}" for status, count in
                              sorted(dispatcher.outcomes.items()))
            print(f"sent {sent} ({tally})")
        _tell_windows(config, path)
    sys.stdout.flush()
    return 0


def _tell_windows(config: Any, path: Any) -> None:
    """Deliveries left waiting for a coalescing window: this scan has ended, so say who
    sends them, and when."""
    import time

    from cometwatch.commands.deliveries import moment
    from cometwatch.progress import counted
    from cometwatch.store import Store

    now = time.time()
    hooks = [hook.name for hook in config.webhooks if hook.enabled and hook.coalesce]
    with Store.open(path, create=False) as store:
        windows = store.in_windows(hooks, now)
    for name, (count, due) in windows.items():
        print(f"{name}: {counted(count, 'delivery', 'deliveries')} "
              f"{'waits' if count == 1 else 'wait'} for its coalescing window, which closes at "
              f"{moment(due)} (in {max(due - now, 0):.0f} s); `cometwatch scan --wait` (or the "
              f"daemon) sends {'it' if count == 1 else 'them as one request'} when it closes")
