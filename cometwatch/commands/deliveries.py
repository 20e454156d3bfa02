"""`cometwatch deliveries [show ID]`: what was sent where, and every attempt."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from cometwatch.commands import arguments
from cometwatch.escape import escape, escape_lines

if TYPE_CHECKING:
    from cometwatch.config import Config

STATUSES = ("pending", "failed", "ok", "dead", "skipped", "coalesced")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "deliveries", help="list deliveries; `deliveries show ID` lists every attempt",
        description="List deliveries, newest first: one per event and webhook, with its state "
                    "(pending, failed = waiting for a retry, ok, dead, skipped while the "
                    "webhook was disabled, coalesced into a later one). `deliveries show ID` "
                    "lists every attempt: time, status code, duration, error, the request "
                    "headers sent (a credential's value masked as ***) and the first 4 KiB of "
                    "the answer.")
    parser.add_argument("--webhook", metavar="NAME", help="only this webhook's")
    parser.add_argument("--status", choices=STATUSES, help="only those in this state")
    parser.add_argument("--limit", type=arguments.limit, default=50, metavar="N",
                        help="at most N (default 50)")
    parser.add_argument("--json", action="store_true", help="a JSON array instead of a table")
    actions = parser.add_subparsers(dest="action", metavar="show ID")
    show = actions.add_parser("show", help="one delivery and every attempt",
                              description="One delivery and every attempt made.")
    show.add_argument("id", type=arguments.delivery_id, metavar="ID")
    show.add_argument("--json", dest="show_json", action="store_true", help="as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.config import load_config

    config = load_config(args.config, secrets=False)  # reads state, never signs
    as_json = args.json or getattr(args, "show_json", False)
    if args.action == "show":
        return show(config, args.id, as_json=as_json)
    return listing(config, webhook=args.webhook, status=args.status, limit=args.limit,
                   as_json=as_json)


def show(config: Config, delivery_id: int, as_json: bool = False) -> int:
    """`deliveries show ID`: one delivery and every attempt, on stdout."""
    from cometwatch.source import open_state

    with open_state(config, create=False) as store:
        return _show(store, delivery_id, as_json)


def listing(config: Config, webhook: str | None = None, status: str | None = None,
            limit: int = 50, as_json: bool = False) -> int:
    """`deliveries`: the newest first, optionally of one webhook and in one state."""
    from cometwatch.source import open_state
    from cometwatch.store import DeliveryStatus

    with open_state(config, create=False) as store:
        state = DeliveryStatus(status) if status else None
        rows = store.deliveries(webhook, state, limit)
        disabled = {name: (state.disabled_at, state.disabled_reason)
                    for name, state in store.webhook_states().items()
                    if state.disabled_at is not None}
        waiting = store.open_counts()
    if as_json:
        json.dump([delivery_json(d) for d in rows], sys.stdout, indent=2)
        print()
        return 0
    if not rows:
        print("no deliveries" + (" match" if webhook or status else " yet"))
        _tell_held(config, waiting, webhook)
        return 0
    table = [("ID", "WEBHOOK", "STATUS", "TRIES", "EVENT", "ENTRY", "CREATED", "LAST")]
    for d in rows:
        event = d.event
        table.append((str(d.id), escape(d.webhook), d.status.value, str(d.attempts),
                      escape(event.name),
                      escape(f"{event.collection}/{event.slug} ({event.entry_id})"),
                      moment(d.created_at), escape(_last(d))))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
              + "  " + row[-1])  # the cells are escaped
    for name in sorted({d.webhook for d in rows} & disabled.keys()):
        since, reason = disabled[name]
        print(escape(f"webhook {name} is DISABLED since {moment(since)}: {reason} "
              f"(`cometwatch webhooks enable {name}`)"))
    _tell_held(config, waiting, webhook)
    return 0


def _tell_held(config: Any, waiting: dict[str, int], only: str | None) -> None:
    """Name the webhooks whose open deliveries are kept but not sent, whichever rows were
    listed: nothing else would show that they wait."""
    from cometwatch.outbox import held
    from cometwatch.progress import counted

    for name, count in sorted(waiting.items()):
        why = held(name, config.webhook(name))
        if why and only in (None, name):
            print(escape(f"{counted(count, 'open delivery', 'open deliveries')} for webhook "
                  f"{name!r}, {why}"))


def _show(store: Any, delivery_id: int, as_json: bool) -> int:
    from cometwatch.errors import CometwatchError

    delivery = store.delivery(delivery_id)
    if delivery is None:
        raise CometwatchError(f"no delivery #{delivery_id} (see `cometwatch deliveries`; "
                              "settled ones are purged after [delivery] dead_retention)")
    attempts = store.attempts(delivery_id)
    if as_json:
        data = delivery_json(delivery)
        data["attempts"] = [{"at": moment(a.started_at), "status_code": a.code,
                             "duration": round(a.duration, 4), "error": a.error,
                             "answer": a.answer.decode("utf-8", "replace"),
                             "headers": None if a.headers is None else [list(pair)
                                                                        for pair in a.headers]}
                            for a in attempts]
        json.dump(data, sys.stdout, indent=2)
        print()
        return 0
    event = delivery.event
    print(escape(f"delivery  #{delivery.id} to {delivery.webhook}: {delivery.status.value}"))
    print(escape(f"event     {event.name} {event.event_id}"))
    print(escape(f"entry     {event.collection}/{event.slug} (id {event.entry_id}) at "
                 f"{event.path}"))
    cause = (f"scheduled at {event.commit[3:]}" if event.commit.startswith("at:")
             else f"commit {event.commit[:12]}")
    print(escape(f"occurred  {moment(event.occurred_at)} ({cause})"))
    print(f"created   {moment(delivery.created_at)}")
    if delivery.next_at is not None:
        print(f"next      {moment(delivery.next_at)}")
    if delivery.coalesced_into is not None:
        print(f"coalesced into #{delivery.coalesced_into}, which carried a later event")
    if delivery.last_error and delivery.status.value in ("skipped",):
        print(escape(f"why       {delivery.last_error}"))
    print(f"attempts  {len(attempts)}" + (":" if attempts else ""))
    for n, attempt in enumerate(attempts, start=1):
        code = str(attempt.code) if attempt.code is not None else "-"
        took = f"{attempt.duration * 1000:.0f} ms"
        line = f"  {n:>3}  {moment(attempt.started_at)}  {code:>3}  {took:>8}"
        print(escape(line + (f"  {attempt.error}" if attempt.error else "")))
        if attempt.headers is None:
            print("       headers not recorded (an attempt from before they were kept)")
        elif not attempt.headers:
            print("       no request sent")
        for name, value in attempt.headers or ():
            print(escape(f"       > {name}: {value}"))
        for text in printable(attempt.answer).split("\n")[:64] if attempt.answer else []:
            print(f"       | {text}")
    if delivery.status.value in ("dead", "skipped"):
        print(f"send it again: cometwatch redeliver {delivery.id}")
    return 0


def delivery_json(d: Any) -> dict[str, Any]:
    event = d.event
    return {
        "id": d.id, "webhook": d.webhook, "status": d.status.value, "attempts": d.attempts,
        "event_id": event.event_id, "event": event.name, "occurred_at": moment(event.occurred_at),
        "type": event.collection, "entry_id": event.entry_id, "slug": event.slug,
        "commit": event.commit, "path": event.path, "created_at": moment(d.created_at),
        "updated_at": moment(d.updated_at),
        "next_attempt_at": None if d.next_at is None else moment(d.next_at),
        "last_status_code": d.last_code, "last_error": d.last_error,
        "coalesced_into": d.coalesced_into,
    }


def moment(seconds: float) -> str:
    """A moment as every command shows it (cometwatch.utc.iso)."""
    from cometwatch.utc import iso

    return iso(seconds)


def printable(answer: bytes) -> str:
    """An answer body as lines a terminal shows safely: control characters escaped."""
    return escape_lines(answer.decode("utf-8", "replace")).rstrip("\n")


def _last(d: Any) -> str:
    if d.status.value == "coalesced":
        return f"into #{d.coalesced_into}"
    parts = []
    if d.last_code is not None:
        parts.append(str(d.last_code))
    if d.last_error and d.status.value != "ok":
        parts.append(d.last_error[:60])
    if d.next_at is not None and d.attempts:
        parts.append(f"next {moment(d.next_at)}")
    return " ".join(parts)
