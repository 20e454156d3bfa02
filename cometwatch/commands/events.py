"""`cometwatch events`: print the payloads a range of history gives, sending nothing."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from cometwatch.config import Config


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "events",
        help="print the events a range of commits gives (sends nothing, changes nothing)",
        description="Print, one per line and in order, the exact payload bytes each event of "
                    "a range would be sent with. Without a range: the events of the branch's "
                    "last commit. Writes no state and sends nothing.",
    )
    parser.add_argument("range", nargs="?", metavar="RANGE",
                        help="A..B (after A, up to B), or one commit REV")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--since", metavar="REV", help="from after REV to the branch tip")
    group.add_argument("--all", action="store_true", help="the whole history of the branch")
    parser.add_argument("--with-ids", action="store_true",
                        help="prefix each line with the event id and the commit")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.config import load_config

    config = load_config(args.config, secrets=False)  # prints, never signs
    return events(config, args.range, since=args.since, all_history=args.all,
                  with_ids=args.with_ids)


def events(config: Config, rev_range: str | None = None, since: str | None = None,
           all_history: bool = False, with_ids: bool = False, out: BinaryIO | None = None,
           ) -> int:
    """Write the payload of each event of `rev_range` (A..B or REV; default the tip's commit),
    or from after `since`, or of the whole history, one per line, to `out` (stdout)."""
    import time

    from cometwatch.engine import Engine
    from cometwatch.errors import UsageError
    from cometwatch.flow import history
    from cometwatch.payload import body
    from cometwatch.progress import Progress
    from cometwatch.source import Source

    if rev_range and (since or all_history):
        raise UsageError("give either a RANGE or --since/--all, not both")
    with Source.open(config) as source:
        repo = source.repo
        if rev_range and ".." in rev_range:
            start, _, end = rev_range.partition("..")
            tip = repo.resolve_or_fail(end or source.ref)
            base: str | None = repo.resolve_or_fail(start) if start else None
        else:
            tip = repo.resolve_or_fail(rev_range) if rev_range else source.tip_or_fail()
            if all_history:
                base = None
            elif since:
                base = repo.resolve_or_fail(since)
            else:
                base = repo.resolve(f"{tip}^")
        engine = Engine.for_repository(config.repository)
        # The whole first-parent history to the tip is read: a bar on stderr when it is a
        # terminal and the history is long, nothing otherwise.
        progress = Progress(lambda: repo.count(None, tip), "reading history")
        # A commit dated in the future is evaluated now, as a scan now would evaluate it.
        now = time.time()
        try:
            if base is not None:  # ids and states at the base come from the history before it
                for _ in history(repo, engine, None, base, progress, now):
                    pass
            out = out or sys.stdout.buffer
            for save in history(repo, engine, base, tip, progress, now):
                for event in save.events:
                    if with_ids:
                        out.write(f"{event.event_id} {event.commit} ".encode())
                    out.write(body(event) + b"\n")
            out.flush()
        finally:
            progress.close()
    return 0
