"""`cometwatch redeliver ID…`: send deliveries again, now, with a fresh signature."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cometwatch.commands import arguments
from cometwatch.escape import say

if TYPE_CHECKING:
    from cometwatch.config import Config


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "redeliver", help="send deliveries again now (same event id, fresh signature)",
        description="Open these deliveries again and send them now, whatever their state: the "
                    "same event id and body, a fresh signature, a fresh retry schedule if the "
                    "attempt fails. Anything else due is sent too. While `cometwatch run` is "
                    "delivering from the same state, it sends them within a second. An id "
                    "that is not found is an error (exit 1) once the others are queued.")
    parser.add_argument("ids", nargs="+", type=arguments.delivery_id, metavar="ID",
                        help="delivery ids, from `cometwatch deliveries`")
    parser.add_argument("--no-send", action="store_true",
                        help="only queue them (for the running daemon or the next scan)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.config import load_config

    config = load_config(args.config, secrets=not args.no_send)
    return redeliver(config, args.ids, send=not args.no_send)


def redeliver(config: Config, ids: Sequence[int], send: bool = True) -> int:
    """Open these deliveries again, due now, and (with `send`) send what is due."""
    import sys
    import time

    from cometwatch.errors import CometwatchError
    from cometwatch.outbox import held
    from cometwatch.source import open_state

    with open_state(config, create=False) as store:
        found = store.replay(ids, time.time())
        disabled = store.disabled_webhooks()
        hooks = {d.webhook for d in (store.delivery(i) for i in found) if d is not None}
        path = store.path
    missing = sorted(set(ids) - set(found))
    if not found:
        raise CometwatchError(f"no delivery {', '.join(f'#{i}' for i in missing)} (see "
                              "`cometwatch deliveries`; settled ones are purged after "
                              "[delivery] dead_retention)")
    for delivery_id in missing:  # the others are queued all the same
        say(f"cometwatch: error: no delivery #{delivery_id}", file=sys.stderr)
    blocked = sorted(hooks & disabled)
    for name in blocked:
        say(f"webhook {name} is disabled: its deliveries wait until `cometwatch webhooks "
              f"enable {name}`")
    for name in sorted(hooks):
        why = held(name, config.webhook(name))
        if why:
            say(f"the deliveries for webhook {name!r}, {why}")
    if not send:
        say(f"queued {len(found)}")
        return 1 if missing else 0
    sent = send_now(config, path, found)
    return 1 if missing else sent


def send_now(config: Any, path: Path, ids: list[int]) -> int:
    """Send what is due now and say what became of `ids`."""
    from cometwatch.delivery import Sender
    from cometwatch.dispatcher import Dispatcher
    from cometwatch.store import Store

    sender = Sender()
    dispatcher = Dispatcher(config, path, sender)
    try:
        dispatcher.send_due_once()
    finally:
        dispatcher.close()
        sender.close()
    if dispatcher.busy:
        say(f"queued {len(ids)}: the running cometwatch daemon sends them")
        return 0
    from collections import Counter

    from cometwatch.commands.deliveries import moment

    tally: Counter[str] = Counter()
    with Store.open(path, create=False) as store:
        for delivery_id in ids:
            d = store.delivery(delivery_id)
            if d is None:
                continue
            tally[d.status.value] += 1
            if len(ids) > 20:
                continue
            code = f" ({d.last_code})" if d.last_code is not None else ""
            line = f"#{d.id} {d.webhook} {d.event.name}: {d.status.value}{code}"
            if d.status.value != "ok" and d.last_error:
                line += f": {d.last_error}"
            if d.next_at is not None and d.attempts > d.retry_base:
                line += f"; next attempt {moment(d.next_at)}"
            say(line)
    if len(ids) > 20:
        say(", ".join(f"{count} {status}" for status, count in sorted(tally.items())))
    return 0 if tally["ok"] == sum(tally.values()) else 1
