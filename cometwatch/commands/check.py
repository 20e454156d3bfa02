"""`cometwatch check`: validate the config, read the repository, show what would be watched."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import Any
from urllib.parse import urlsplit


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "check", help="validate the config, open the repository, count entries",
        description="Validate the config, open the repository, resolve the branch, count "
                    "entries per collection and their published state, and list webhooks with "
                    "secrets redacted. Exit 2 on a config error, 1 when the repository or "
                    "branch cannot be read.")
    parser.add_argument("--probe", action="store_true",
                        help="also send a signed test request to each enabled webhook")
    parser.set_defaults(handler=run)


def redact_url(url: str) -> str:
    """Build hook URLs carry their token in the path or query: show only where they go."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    first = parts.path.strip("/").split("/", 1)[0]
    shown = f"{parts.scheme}://{host}/{first}"
    return shown + ("/…" if parts.path.strip("/") != first or parts.query else "")


def run(args: argparse.Namespace) -> int:
    import logging
    import time

    from cometwatch.config import load_config
    from cometwatch.engine import Engine
    from cometwatch.flow import shallow_warning, snapshot
    from cometwatch.source import Source

    config = load_config(args.config)
    print(f"config      {config.file or '(none: defaults)'}")
    for warning in config.warnings:
        print(f"warning     {warning}")
    problems: list[str] = []
    with Source.open(config) as source:
        tip = source.tip_or_fail()
        print(f"repository  {config.repository.path}" + (" (bare)" if source.repo.bare else ""))
        print(f"branch      {source.branch} ({source.ref} at {tip[:12]})")
        print(f"preset      {config.repository.preset}; content in "
              f"{config.repository.rules.content_dir or '(the root)'}/")
        shallow = shallow_warning(source.repo)
        if shallow:
            problems.append(shallow)
        engine = Engine(config.repository.rules, warn=problems.append)
        files = snapshot(source.repo, engine, tip, time.time(), warn_shallow=False)
    logging.getLogger("cometwatch").debug("read %d files", files)
    total: Counter[str] = Counter()
    published: Counter[str] = Counter()
    trashed = 0
    for record in engine.ledger.entries.values():
        if record.trashed:
            trashed += 1
            continue
        total[record.collection] += 1
        published[record.collection] += record.published
    print(f"entries     {sum(total.values())} ({sum(published.values())} published)"
          + (f", {trashed} in trash" if trashed else ""))
    for collection in sorted(total):
        print(f"  {collection:<20} {total[collection]:>6} entries, "
              f"{published[collection]:>6} published")
    for problem in problems:
        print(f"warning     {problem}")
    if not config.webhooks:
        print("webhooks    none configured: events are stored but not sent")
    for hook in config.webhooks:
        state = "enabled" if hook.enabled else "disabled"
        scope = "all collections" if hook.collections is None else ", ".join(hook.collections)
        print(f"webhook     {hook.name}: {redact_url(hook.url)} ({state}; "
              f"{len(hook.events)} events; {scope}; signing {'+'.join(hook.signing)}; "
              f"secret ********)")
    if args.probe:
        return _probe(config)
    return 0


def _probe(config: Any) -> int:
    from cometwatch.commands.send_test import send_test

    failed = 0
    for hook in config.webhooks:
        if hook.enabled:
            failed += send_test(hook) != 0
    return 1 if failed else 0
