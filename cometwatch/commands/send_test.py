"""`cometwatch send-test NAME`: one signed test request to a webhook, and what it answered."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cometwatch.config import Config, Webhook
    from cometwatch.delivery import Sender
    from cometwatch.outbox import Attempt


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "send-test", help="send a signed test request to one webhook and show its answer",
        description="Send the webhook.manual event of CometCMS's \"Run now\" (data "
                    "{\"manual\": true, \"triggered_by\": {…}}, a fresh event id) to the "
                    "webhook NAME, signed like every delivery, and print the answer: status, "
                    "duration, its first bytes. It is no content event, so a build hook that "
                    "triggers on updates does not rebuild. Nothing is stored and nothing is "
                    "retried. Exit 0 on a 2xx answer, 1 otherwise.")
    parser.add_argument("name", metavar="NAME", help="the webhook's name in the config")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.config import load_config

    return send_test_named(load_config(args.config), args.name)


def send_test_named(config: Config, name: str) -> int:
    """Send webhook `name` of `config` one signed test request; 0 on a 2xx answer."""
    from cometwatch.errors import UsageError

    hook = config.webhook(name)
    if hook is None:
        known = ", ".join(h.name for h in config.webhooks) or "none configured"
        raise UsageError(f"no webhook named {name!r} (known: {known})")
    if not hook.enabled:
        print(f"note        {hook.name} has enabled = false: it gets no deliveries, but "
              "this test is sent")
    return send_test(hook)


@dataclass(frozen=True, slots=True)
class ManualRun:
    """One manual test request and what it answered."""

    event_id: str
    body: bytes
    attempt: Attempt


def send_manual(hook: Webhook, username: str, role: str, sender: Sender | None = None,
                clock: Callable[[], float] = time.time) -> ManualRun:
    """Send CometCMS's manual event to `hook`, signed like every delivery; nothing stored."""
    import os

    from cometwatch.delivery import Sender
    from cometwatch.identity import base62
    from cometwatch.payload import MANUAL_EVENT, encode_manual
    from cometwatch.utc import iso as utc_iso

    event_id = "evt_" + base62(os.urandom(32), 22)
    raw = encode_manual(utc_iso(int(clock())), None, username, role)
    own = sender is None
    sending = sender or Sender()
    try:
        attempt = sending.send(hook, event_id, MANUAL_EVENT, raw)
    finally:
        if own:
            sending.close()
    return ManualRun(event_id, raw, attempt)


def send_test(hook: Webhook, sender: Sender | None = None) -> int:
    """Send the manual event to `hook` as the user at this terminal, print what happened;
    0 on 2xx, else 1."""
    import getpass
    from http import HTTPStatus

    from cometwatch.payload import MANUAL_EVENT
    from cometwatch.redaction import redact_url

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "cli"
    run = send_manual(hook, user, "cli", sender)
    attempt = run.attempt
    print(f"webhook     {hook.name} ({redact_url(hook.url)})")
    print(f"event       {MANUAL_EVENT} {run.event_id} (manual, triggered by {user})")
    took = f"{attempt.duration:.3f}s"
    if attempt.ok:
        assert attempt.code is not None
        try:
            phrase = " " + HTTPStatus(attempt.code).phrase
        except ValueError:  # a 2xx with no standard name
            phrase = ""
        print(f"answer      {attempt.code}{phrase} in {took}")
    elif attempt.code is None:
        print(f"failed      after {took}: {attempt.error}")
    else:
        print(f"answer      {attempt.error} in {took}")
    if attempt.code is not None:
        print(f"body        {first_bytes(attempt.answer)}")
    return 0 if attempt.ok else 1


def first_bytes(answer: bytes, limit: int = 200) -> str:
    if not answer:
        return "(empty)"
    text = answer[:limit * 4].decode("utf-8", "replace")
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
