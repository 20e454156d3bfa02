"""The Webhooks screen at /admin/: configure, test and watch every webhook.

Server-rendered HTML (Jinja2, autoescaped) and plain forms, so every page works with
JavaScript off; the vendored htmx (static/htmx.min.js, 0BSD) only lets "Run now" and a
redelivery answer in place. Every page needs a login (access.py); every form carries the
session's CSRF token; every answer carries a Content-Security-Policy without inline script,
frame-ancestors 'none', no-referrer and no-store (the pages show deliveries and URLs).

The page edits webhooks.toml itself (cometwatch.configedit) and acts on the state with the
store functions the CLI uses (replay, recover, enable, disable), so the page and the commands
share one config and one state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import flask
from flask import Blueprint, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from cometwatch.configedit import ConfigEditor
from cometwatch.errors import CometwatchError
from cometwatch.web.admin.access import (
    SESSION_COOKIE,
    Access,
    Session,
    csrf_ok,
    new_token,
    token_hash,
)
from cometwatch.web.context import SiteContext

log = logging.getLogger("cometwatch.web.admin")

MAX_FORM_BYTES = 64 * 1024  # a webhook form is a few hundred bytes; a selection of ids more
MAX_FORM_PARTS = 1000
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
_OPEN = {"admin.login", "admin.static"}


@dataclass(frozen=True, slots=True)
class Admin:
    """What the page's views share."""

    site: SiteContext
    access: Access
    editor: ConfigEditor

    @property
    def config_path(self) -> Path:
        return self.editor.path

    def store(self) -> Any:
        """A writable connection to the state, for one action (the CLI's store functions)."""
        from cometwatch.store import Store

        return Store.open(self.site.state_path, create=False)


def config_path(site: SiteContext) -> Path:
    return site.config.file or site.config.repository.path / "webhooks.toml"


def blueprint(site: SiteContext) -> Blueprint:
    bp = Blueprint("admin", __name__, template_folder="templates", static_folder="static",
                   static_url_path="/static")
    access = Access(lambda: _stored_hash(site), site.clock, site.server.admin_token)
    admin = Admin(site, access, ConfigEditor(config_path(site)))
    bp.before_request(lambda: _guard(admin))
    bp.after_request(_headers)
    bp.register_error_handler(HTTPException, _http_error)
    bp.register_error_handler(CometwatchError, _refused)
    bp.register_error_handler(Exception, _unexpected)
    bp.context_processor(lambda: {"when": when, "ms": ms, "redact": _redact})
    from cometwatch.web.admin import login, logs, pages

    login.register(bp, admin)
    pages.register(bp, admin)
    logs.register(bp, admin)
    return bp


def first_token(site: SiteContext) -> str | None:
    """When no `[server] admin_token` is set and the state keeps none yet: a new token, kept
    hashed, to print once with the URL to open. None otherwise."""
    import time

    from cometwatch.store import Store

    if site.server.admin_token is not None:
        return None
    token = new_token()
    with Store.open(site.state_path) as store:
        if store.admin_token_hash() is not None:
            return None
        if not store.put_admin_token_hash(token_hash(token), time.time()):
            return None
    return token


def announce(site: SiteContext, url: str, say: Callable[[str], None] | None = None) -> None:
    """Say where the Webhooks page is; at its first start, with the token that logs in (said
    this once, to the terminal or the journal, never again)."""
    tell = say or (lambda line: print(line, flush=True))
    try:
        token = first_token(site)
    except CometwatchError as exc:
        tell(f"Webhooks page: {url}/admin/ cannot keep an admin token ({exc}); set [server] "
             "admin_token")
        return
    if token is not None:
        tell(f"Webhooks page: open {url}/admin/login?token={token} (the admin token, shown "
             "only now; set [server] admin_token to choose your own)")
    elif site.server.admin_token is not None:
        tell(f"Webhooks page: {url}/admin/ (log in with [server] admin_token)")
    else:
        tell(f"Webhooks page: {url}/admin/ (log in with the token shown at its first start)")


def _stored_hash(site: SiteContext) -> str | None:
    try:
        return site.reader().admin_token_hash()
    except CometwatchError:
        return None


# -- every request --------------------------------------------------------------------------

def _guard(admin: Admin) -> Response | None:
    request.max_content_length = MAX_FORM_BYTES
    request.max_form_parts = MAX_FORM_PARTS
    request.max_form_memory_size = MAX_FORM_BYTES
    g.admin = admin
    g.session = admin.access.session(request.cookies.get(SESSION_COOKIE))
    if request.endpoint in _OPEN:
        return None
    session: Session | None = g.session
    if session is None or not session.admin:
        if request.method in ("GET", "HEAD"):
            # Under a prefix (a fleet's /sites/<workspace>) the path is after it: the link
            # back to this page needs it, as url_for's links have it.
            target = (request.script_root + request.full_path).rstrip("?")
            return redirect(url_for("admin.login", next=target), 303)
        return page("message.html", 401, title="Not logged in",
                    message="This form was sent without a logged-in session (it ended, or "
                            "cookies are off): nothing was done. Log in and try again.")
    if request.method == "POST" and (
            not same_origin() or not csrf_ok(session, request.form.get("csrf"))):
        return page("message.html", 403, title="Refused",
                    message="The form's security token does not match this session (a page "
                            "from before a new login, or another site posting here): nothing "
                            "was done. Reload the page and try again.")
    return None


def same_origin() -> bool:
    """A browser's Origin must be this site's when it sends one (the CSRF token is checked
    as well: an old browser sends none)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return f"{parts.scheme}://{parts.netloc}" == request.host_url.rstrip("/")


def _headers(response: Response) -> Response:
    headers = response.headers
    headers["Content-Security-Policy"] = CSP
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"  # no-referrer makes Origin "null"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.endpoint == "admin.static":
        headers["Cache-Control"] = "public, max-age=3600"
    else:
        headers["Cache-Control"] = "no-store"
    return response


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status == 413:
        return page("message.html", 413, title="Form too large",
                    message=f"The form sent is larger than {MAX_FORM_BYTES // 1024} KiB (or "
                            "has too many fields): nothing was saved. A webhook's form is far "
                            "smaller; check what was pasted.")
    if status == 404:
        return page("message.html", 404, title="Not found",
                    message="There is no such page, webhook or delivery (it may have been "
                            "removed, or purged after [delivery] dead_retention).")
    if status >= 500:
        log.error("unexpected error on the Webhooks page: %s", exc)
        return page("message.html", 500, title="Something went wrong",
                    message="The server's log says more; nothing was changed.")
    return page("message.html", status, title=exc.name,
                message=(exc.description or exc.name).strip())


def _unexpected(exc: Exception) -> Response:
    log.error("unexpected error on the Webhooks page: %s: %s", type(exc).__name__, exc,
              exc_info=exc)
    return page("message.html", 500, title="Something went wrong",
                message="An unexpected error; the server's log says more. Nothing was "
                        "changed by this page.")


def _refused(exc: CometwatchError) -> Response:
    return page("message.html", 409, title="Not done", message=str(exc))


# -- rendering ------------------------------------------------------------------------------

def page(template: str, status: int = 200, **context: Any) -> Response:
    session: Session | None = getattr(g, "session", None)
    notes = list(session.notes) if session is not None else []
    if session is not None:
        session.notes.clear()
    admin: Admin | None = getattr(g, "admin", None)
    fragment = request.headers.get("HX-Request") == "true"  # htmx swaps it into the page
    body = render_template(template, csrf=session.csrf if session else "", fragment=fragment,
                           logged_in=bool(session and session.admin), notes=notes,
                           site=admin.site if admin else None, **context)
    return flask.Response(body, status=status, content_type="text/html; charset=utf-8")


def note(kind: str, text: str) -> None:
    """Say `text` on the next page this session sees (after a redirect)."""
    session: Session | None = getattr(g, "session", None)
    if session is not None:
        session.notes.append((kind, text))


def back(endpoint: str, **values: Any) -> Response:
    return redirect(url_for(endpoint, **values), 303)


def when(seconds: float | None) -> str:
    """A moment as the CLI prints it (UTC); "" for none."""
    if seconds is None:
        return ""
    from cometwatch.commands.deliveries import moment

    return moment(seconds)


def ms(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


def _redact(url: str) -> str:
    from cometwatch.redaction import redact_url

    return redact_url(url)
