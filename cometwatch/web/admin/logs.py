"""The deliveries: newest first, filtered; one delivery's attempts and the headers each sent
(as the state keeps them: a credential's value masked, the signatures as sent); Redeliver
one or a selection (the store's replay, as `cometwatch redeliver`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, request, url_for
from werkzeug.wrappers import Response

from cometwatch.config import EVENT_NAMES
from cometwatch.errors import CometwatchError
from cometwatch.outbox import DeliveryStatus
from cometwatch.web.admin import Admin, back, note, page
from cometwatch.web.admin.state import wake_daemon

PAGE = 50
MAX_SELECTION = 500


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


def _printable(answer: bytes) -> str:
    from cometwatch.commands.deliveries import printable

    return printable(answer)
