"""`cometwatch send-test NAME`: one signed test request to a webhook, and what it answered."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cometwatch.config import Webhook
    from cometwatch.delivery import Sender

TEST_COLLECTION = "test"
TEST_ENTRY = "cometwatch-test"
TEST_SLUG = "test"


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "send-test", help="send a signed test request to one webhook and show its answer",
        description="Send one content.updated event for a test entry (type \"test\", id "
                    "\"cometwatch-test\", slug \"test\", a fresh event id) to the webhook "
                    "NAME, signed like every delivery, and print the answer: status, "
                    "duration, its first bytes. Nothing is stored and nothing is retried. "
                    "Exit 0 on a 2xx answer, 1 otherwise.")
    parser.add_argument("name", metavar="NAME", help="the webhook's name in the config")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.config import load_config
    from cometwatch.errors import UsageError

    config = load_config(args.config)
    hook = config.webhook(args.name)
    if hook is None:
        known = ", ".join(h.name for h in config.webhooks) or "none configured"
        raise UsageError(f"no webhook named {args.name!r} (known: {known})")
    if not hook.enabled:
        print(f"note        {hook.name} has enabled = false: it gets no deliveries, but "
              "this test is sent")
    return send_test(hook)


def send_test(hook: Webhook, sender: Sender | None = None) -> int:
    """Send the test event to `hook`, print what happened; 0 on 2xx, else 1."""
    import os
    import time
    from http import HTTPStatus

    from cometwatch.delivery import Sender
    from cometwatch.identity import base62
    from cometwatch.payload import ContentEvent, body
    from cometwatch.redaction import redact_url

    event = ContentEvent(event_id="evt_" + base62(os.urandom(32), 22), name="content.updated",
                         occurred_at=int(time.time()), collection=TEST_COLLECTION,
                         entry_id=TEST_ENTRY, slug=TEST_SLUG, commit="send-test", path="")
    own = sender is None
    sending = sender or Sender()
    try:
        outcome = sending.send(hook, event.event_id, event.name, body(event))
    finally:
        if own:
            sending.close()
    print(f"webhook     {hook.name} ({redact_url(hook.url)})")
    print(f"event       {event.name} {event.event_id} (test entry: type {TEST_COLLECTION}, "
          f"id {TEST_ENTRY}, slug {TEST_SLUG})")
    took = f"{outcome.duration:.3f}s"
    if outcome.ok:
        assert outcome.status is not None
        try:
            phrase = " " + HTTPStatus(outcome.status).phrase
        except ValueError:  # a 2xx with no standard name
            phrase = ""
        print(f"answer      {outcome.status}{phrase} in {took}")
    elif outcome.status is None:
        print(f"failed      after {took}: {outcome.error}")
    else:
        print(f"answer      {outcome.error} in {took}")
    if outcome.status is not None:
        print(f"body        {_first_bytes(outcome.answer)}")
    return 0 if outcome.ok else 1


def _first_bytes(answer: bytes, limit: int = 200) -> str:
    if not answer:
        return "(empty)"
    text = answer[:limit * 4].decode("utf-8", "replace")
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
