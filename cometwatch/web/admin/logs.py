"""The deliveries: newest first, filtered; one delivery's attempts and the headers it was
sent with; Redeliver one or a selection (the store's replay, as `cometwatch redeliver`)."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, request, url_for
from werkzeug.wrappers import Response

from cometwatch.config import EVENT_NAMES, Secret
from cometwatch.errors import CometwatchError
from cometwatch.outbox import DeliveryStatus
from cometwatch.web.admin import Admin, back, note, page
from cometwatch.web.admin.state import wake_daemon

PAGE = 50
MAX_SELECTION = 500
_SIGNATURES = ("X-CometCMS-Signature", "webhook-signature")
# A webhook's own headers may carry a credential (Authorization: Bearer …): never shown.
_CREDENTIAL = ("auth", "token", "secret", "key", "cookie", "signature", "password")


def register(bp: Blueprint, admin: Admin) -> None:
    @bp.route("/deliveries")
    def logs() -> Response:
        args = request.args
        status_text = args.get("status") or None
        status = None
        if status_text is not None:
            try:
                status = DeliveryStatus(status_text)
            except ValueError:
                status_text = None
        event = args.get("event") if args.get("event") in EVENT_NAMES else None
        before = args.get("before", type=int)
        filters = {"webhook": (args.get("webhook") or "").strip()[:200] or None,
                   "status": status_text, "event": event,
                   "entry": (args.get("entry") or "").strip()[:500] or None}
        problem = None
        try:
            found = admin.site.reader().find_deliveries(
                filters["webhook"], status, event, filters["entry"], before, PAGE + 1)
        except CometwatchError as exc:
            found, problem = [], str(exc)
        older = None
        if len(found) > PAGE:
            kept: dict[str, Any] = {k: v for k, v in filters.items() if v}
            older = url_for("admin.logs", before=found[PAGE].id + 1, **kept)
        names = sorted({w.fields.name for w in admin.editor.read().webhooks})
        return page("deliveries.html", deliveries=found[:PAGE], filters=filters, older=older,
                    statuses=[s.value for s in DeliveryStatus], events=EVENT_NAMES,
                    names=names, problem=problem)

    @bp.route("/deliveries/<int:delivery_id>")
    def delivery(delivery_id: int) -> Response:
        store = admin.site.reader()
        found = store.delivery(delivery_id)
        if found is None:
            abort(404)
        attempts = store.attempts(delivery_id)
        return page("delivery.html", d=found, attempts=attempts,
                    headers=[_headers(admin, found, a.started_at) for a in attempts],
                    answers=[_printable(a.answer) for a in attempts])

    @bp.route("/deliveries/redeliver", methods=["POST"])
    def redeliver() -> Response:
        ids = []
        for value in request.form.getlist("id")[:MAX_SELECTION]:
            if value.isdigit():
                ids.append(int(value))
        if not ids:
            note("error", "Redeliver: no delivery was selected.")
            return back("admin.logs")
        with admin.store() as store:
            found = store.replay(ids, admin.site.clock())
            disabled = store.disabled_webhooks()
            hooks = {d.webhook for d in (store.delivery(i) for i in found) if d is not None}
        missing = sorted(set(ids) - set(found))
        if missing:
            note("error", "No delivery " + ", ".join(f"#{i}" for i in missing) + " (purged "
                 "after [delivery] dead_retention?).")
        if found:
            sent = ("the daemon sends them within a second" if wake_daemon(admin.site) else
                    "no daemon runs: `cometwatch scan` (or the next `cometwatch run`) sends "
                    "them")
            note("ok", f"Queued {len(found)} again (same event id, fresh signature); {sent}.")
        for name in sorted(hooks & disabled):
            note("hint", f"Webhook {name} is disabled: its deliveries wait until it is "
                 "enabled.")
        if len(found) == 1 and request.form.get("from") == "delivery":
            return back("admin.delivery", delivery_id=found[0])
        return back("admin.logs")


def _headers(admin: Admin, delivery: Any, at: float) -> list[tuple[str, str]]:
    """The request's headers as that attempt sent them, from the webhook's config as it is
    now (the state keeps none): the signatures are said, never shown."""
    from cometwatch.config import load_config
    from cometwatch.delivery import Sender
    from cometwatch.payload import body

    try:
        hook = load_config(str(admin.config_path), secrets=False).webhook(delivery.webhook)
    except CometwatchError:
        hook = None
    if hook is None:
        return []
    stand_in = dataclasses.replace(hook, secrets=(Secret("-"),))  # signs nothing shown
    raw = body(delivery.event)
    sender = Sender(clock=lambda: at)
    try:
        made = sender.headers(stand_in, delivery.event.event_id, delivery.event.name, raw)
    finally:
        sender.close()
    parts = urlsplit(hook.url)
    shown = [("Host", parts.netloc.rsplit("@", 1)[-1]), ("Content-Length", str(len(raw)))]
    for name, value in made.items():
        if name in _SIGNATURES:
            value = ("sha256=… (HMAC-SHA256 of the body with the webhook's secret)"
                     if name == "X-CometCMS-Signature" else
                     "v1,… (one per live secret, Standard Webhooks)")
        elif any(word in name.lower() for word in _CREDENTIAL):
            value = "… (from the config; not shown)"
        shown.append((name, value))
    return shown


def _printable(answer: bytes) -> str:
    from cometwatch.commands.deliveries import printable

    return printable(answer)
