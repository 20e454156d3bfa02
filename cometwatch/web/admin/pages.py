"""The webhooks: the list with each one's health and last 24 hours, add, edit, remove, Run now,
disable and enable (the state's switch), recover."""

from __future__ import annotations

import re
from argparse import ArgumentTypeError
from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, request
from werkzeug.wrappers import Response

from cometwatch.config import EVENT_NAMES
from cometwatch.configedit import Change, EditRefused, FileChanged, Listed, WebhookFields
from cometwatch.errors import CometwatchError, ConfigError
from cometwatch.redaction import HIDDEN
from cometwatch.redaction import mask_url as masked
from cometwatch.web.admin import Admin, back, note, page
from cometwatch.web.admin.chart import picture
from cometwatch.web.admin.state import health, reload_daemon, watcher

DAY = 86400.0
RUN_AS = "admin"  # triggered_by of a Run now: the session's name (one admin token, one name)


def register(bp: Blueprint, admin: Admin) -> None:
    @bp.route("/")
    def index() -> Response:
        now = admin.site.clock()
        snapshot = admin.editor.read()
        states = health(admin.site)
        pictures = _pictures(admin, now)
        configured = {w.fields.name for w in snapshot.webhooks}
        return page("index.html", snapshot=snapshot, health=states, pictures=pictures,
                    empty=picture([], [], now),
                    watcher=watcher(admin.site), now=now,
                    gone=sorted(set(states) - configured), config_path=admin.config_path)

    @bp.route("/webhooks/new", methods=["GET", "POST"])
    def new() -> Response:
        snapshot = admin.editor.read()
        if request.method == "GET":
            return _form(admin, None, WebhookFields("", ""), snapshot.digest)
        change = _change()
        try:
            saved = admin.editor.add(request.form.get("digest", ""), change)
        except EditRefused as exc:
            return _refused_form(admin, None, change.fields, exc)
        return _saved(admin, f"Webhook {change.fields.name} added.", saved.generated,
                      change.fields.name)

    @bp.route("/webhooks/<name>/edit", methods=["GET", "POST"])
    def edit(name: str) -> Response:
        snapshot = admin.editor.read()
        listed = snapshot.webhook(name)
        if listed is None:
            abort(404)
        shown = masked(listed.fields.url)
        if request.method == "GET":  # the URL's credentials and tokens are write-only too
            return _form(admin, listed, replace(listed.fields, url=shown), snapshot.digest)
        change = _change()
        if shown != listed.fields.url and change.fields.url == shown:  # left as shown: kept
            change = replace(change, fields=replace(change.fields, url=listed.fields.url))
        elif shown != listed.fields.url and HIDDEN in change.fields.url:
            return _refused_form(admin, listed, change.fields, EditRefused(
                f"parts of this URL are hidden ({HIDDEN}): leave it as shown to keep it, "
                "or type the whole new URL", "url"))
        try:
            saved = admin.editor.edit(request.form.get("digest", ""), name, change)
        except EditRefused as exc:
            return _refused_form(admin, listed, change.fields, exc)
        said = f"Webhook {change.fields.name} saved."
        if change.fields.name != name:
            said += (f" Its deliveries so far stay under the old name {name!r} (see "
                     "Deliveries); open ones are kept, not sent, while no webhook has it.")
        return _saved(admin, said, saved.generated, change.fields.name)

    @bp.route("/webhooks/<name>/remove", methods=["GET", "POST"])
    def remove(name: str) -> Response:
        snapshot = admin.editor.read()
        listed = snapshot.webhook(name)
        if listed is None:
            abort(404)
        if request.method == "GET":
            return page("remove.html", listed=listed, digest=snapshot.digest,
                        writable=snapshot.writable)
        try:
            admin.editor.remove(request.form.get("digest", ""), name)
        except EditRefused as exc:
            return page("remove.html", 409, listed=listed, digest=snapshot.digest,
                        writable=snapshot.writable, error=exc.message,
                        diff=exc.diff if isinstance(exc, FileChanged) else "")
        return _saved(admin, f"Webhook {name} removed from {admin.config_path.name}; its "
                      "open deliveries are kept, not sent, until a webhook of that name is "
                      "back.", None, None)

    @bp.route("/webhooks/<name>/run", methods=["POST"])
    def run_now(name: str) -> Response:
        from cometwatch.commands.send_test import first_bytes, send_manual
        from cometwatch.config import load_config

        try:
            hook = load_config(str(admin.config_path)).webhook(name)
        except ConfigError as exc:
            return _run_page(name, None, f"cannot sign a request: {exc}")
        if hook is None:
            abort(404)
        run = send_manual(hook, RUN_AS, "admin", clock=admin.site.clock)
        return _run_page(name, run, None, first_bytes(run.attempt.answer, 300))

    @bp.route("/webhooks/<name>/disable", methods=["POST"])
    def disable(name: str) -> Response:
        reason = (request.form.get("reason") or "").strip()[:200] or "disabled on the page"
        with admin.store() as store:
            skipped = store.disable_webhook(name, reason, admin.site.clock())
        note("ok", f"Webhook {name} disabled ({reason}); {skipped} open deliveries skipped. "
             "Enable turns it back on.")
        return back("admin.index")

    @bp.route("/webhooks/<name>/enable", methods=["POST"])
    def enable(name: str) -> Response:
        from cometwatch.commands.deliveries import moment

        with admin.store() as store:
            state = store.webhook_states().get(name)
            if not store.enable_webhook(name):
                note("ok", f"Webhook {name} was not disabled.")
                return back("admin.index")
        note("ok", f"Webhook {name} enabled.")
        if state is not None:
            began = min(t for t in (state.failing_since, state.disabled_at) if t is not None)
            note("hint", f"What it missed since it began failing can be sent again: Recover "
                 f"since {moment(began)}.")
        return back("admin.index")

    @bp.route("/webhooks/<name>/recover", methods=["POST"])
    def recover(name: str) -> Response:
        return _recover(admin, name, (request.form.get("since") or "").strip())


# -- the form ----------------------------------------------------------------------------

_SPLIT = re.compile(r"[\s,]+")


def _change() -> Change:
    form = request.form
    raw_collections = (form.get("collections") or "").strip()
    collections = tuple(c for c in _SPLIT.split(raw_collections) if c) or None
    secret = form.get("secret") or None
    return Change(
        WebhookFields(name=(form.get("name") or "").strip(),
                      url=(form.get("url") or "").strip(),
                      events=tuple(form.getlist("events")),
                      collections=collections,
                      enabled=form.get("enabled") == "on"),
        secret=secret, generate=form.get("generate") == "on")


def _form(admin: Admin, listed: Listed | None, fields: WebhookFields, digest: str,
          status: int = 200, errors: dict[str, str] | None = None, problem: str | None = None,
          diff: str = "") -> Response:
    snapshot = admin.editor.read() if status == 200 else None
    writable = snapshot.writable if snapshot is not None else admin.editor.read().writable
    return page("webhook_form.html", status, listed=listed, fields=fields, digest=digest,
                events=EVENT_NAMES, errors=errors or {}, problem=problem, diff=diff,
                writable=writable, config_path=admin.config_path, masked=masked)


def _refused_form(admin: Admin, listed: Listed | None, fields: WebhookFields,
                  exc: EditRefused) -> Response:
    digest = request.form.get("digest", "")
    if exc.field is not None:
        return _form(admin, listed, fields, digest, 422, {exc.field: exc.message})
    if isinstance(exc, FileChanged):
        return _form(admin, listed, fields, digest, 409, problem=exc.message, diff=exc.diff)
    return _form(admin, listed, fields, digest, 409, problem=exc.message)


def _saved(admin: Admin, said: str, generated: str | None, name: str | None) -> Response:
    reloaded = reload_daemon(admin.site)
    if generated is not None:
        # The one time a secret reaches the page: the one just made, for the receiver.
        return page("secret.html", said=said, reloaded=reloaded, secret=generated, name=name)
    note("ok", f"{said} {reloaded}")
    return back("admin.index")


def _run_page(name: str, run: Any, error: str | None, shown: str = "") -> Response:
    fragment = request.headers.get("HX-Request") == "true"
    return page("_run.html" if fragment else "run.html", name=name, run=run, error=error,
                shown=shown)


def _recover(admin: Admin, name: str, since_text: str) -> Response:
    from cometwatch.commands.arguments import since as read_since
    from cometwatch.commands.deliveries import moment
    from cometwatch.commands.recover import parse_since
    from cometwatch.config import load_config

    if not since_text:
        note("error", "Recover needs a moment: a UTC time (2026-05-01T10:00), a duration ago "
             "(2h, 3d) or a commit.")
        return back("admin.index")
    now = admin.site.clock()
    try:
        config = load_config(str(admin.config_path), secrets=False)
        hook = config.webhook(name)
        if hook is None:
            raise CometwatchError(f"no webhook named {name!r} in the config")
        if not hook.enabled:
            raise CometwatchError(f"webhook {name} has enabled = false in the config: set "
                                  "enabled = true first")
        try:
            asked = read_since(since_text)
        except (ValueError, ArgumentTypeError) as exc:  # a duration out of range
            raise CometwatchError(f"--since {since_text!r}: {exc}") from None
        since = parse_since(asked, config)
        with admin.store() as store:
            state = store.webhook_states().get(name)
            if state is not None and state.disabled_at is not None:
                raise CometwatchError(f"webhook {name} is disabled ({state.disabled_reason}): "
                                      "enable it first")
            recovered = store.recover(name, since, now, hook.wants)
    except CometwatchError as exc:
        note("error", f"Recover: {exc}")
        return back("admin.index")
    from cometwatch.web.admin.state import wake_daemon

    sent = ("the daemon sends them now" if wake_daemon(admin.site) else
            "no daemon runs: `cometwatch scan` (or the next `cometwatch run`) sends them")
    note("ok", f"{name}: {len(recovered.reopened)} dead or skipped since {moment(since)} "
         f"reopened, {len(recovered.created)} created; {sent}.")
    if recovered.forgotten:
        note("hint", f"{recovered.forgotten} events it wants were stored before the last purge "
             "of settled deliveries and are left out (a delivery of each may have been sent).")
    return back("admin.logs", webhook=name)


def _pictures(admin: Admin, now: float) -> dict[str, Any]:
    try:
        deliveries, attempts = admin.site.reader().activity_since(now - DAY)
    except CometwatchError:
        return {}
    by_hook: dict[str, tuple[list[tuple[float, str]], list[tuple[float, float]]]] = {}
    for hook, created, status in deliveries:
        by_hook.setdefault(hook, ([], []))[0].append((created, status))
    for hook, started, _code, duration, _error in attempts:
        by_hook.setdefault(hook, ([], []))[1].append((started, duration))
    return {hook: picture(d, a, now) for hook, (d, a) in by_hook.items()}
