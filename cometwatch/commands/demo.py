"""`cometwatch demo`: the whole loop on a sample site, in a temporary folder, in seconds.

A sample content repository, a local receiver that verifies every signature, the daemon as a
child process, and a few commits (a draft, its publication, a rename, the trash and back). Each
delivery is shown as it arrives. Everything is removed afterwards.
"""

from __future__ import annotations

import argparse
from typing import Any

from cometwatch.commands import arguments


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "demo", help="run cometwatch end to end on a sample site (nothing to set up)",
        description="Make a sample content repository in a temporary folder, start a local "
                    "receiver and the daemon, make a few commits, show each signed delivery "
                    "as it arrives, clean up.")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder and print where it is")
    parser.add_argument("--timeout", type=arguments.duration, default=20.0,
                        help="seconds to wait for each delivery (default 20)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.demo import Demo

    with Demo(keep=args.keep, timeout=args.timeout) as demo:
        return demo.play()
