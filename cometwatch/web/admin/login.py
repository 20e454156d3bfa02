"""Logging in (with the admin token, typed or from the printed URL) and out."""

from __future__ import annotations

import math

from flask import Blueprint, g, request, url_for
from werkzeug.wrappers import Response

from cometwatch.web.admin import Admin, back, page, same_origin
from cometwatch.web.admin.access import SESSION_COOKIE, Session, csrf_ok


def register(bp: Blueprint, admin: Admin) -> None:
    @bp.route("/login", methods=["GET", "POST"])
    def login() -> Response:
        session: Session | None = g.session
        target = _safe_next(request.values.get("next"))
        if session is not None and session.admin and request.method == "GET" \
                and "token" not in request.args:
            return back_to(target)
        token = request.form.get("token") if request.method == "POST" else \
            request.args.get("token")
        if token is None:  # the form, with an anonymous session for its CSRF token
            return _form(admin, session, target)
        if request.method == "POST" and (not same_origin() or
                                         not csrf_ok(session, request.form.get("csrf"))):
            return _form(admin, session, target, 403,
                         "This login form is from an old page (or cookies are off): it was "
                         "not checked. Try again on this page.")
        client = request.remote_addr or "?"
        wait = admin.access.wait(client)
        if wait > 0:
            response = _form(admin, session, target, 429,
                             f"Too many wrong tokens: try again in {math.ceil(wait)} s.")
            response.headers["Retry-After"] = str(math.ceil(wait))
            return response
        if not admin.access.check_token(token.strip()):
            admin.access.failed(client)
            if admin.access.expected_hash() is None:
                return _form(admin, session, target, 401,
                             "No admin token is set up yet: set [server] admin_token, or "
                             "restart `cometwatch serve`/`run` to have one printed.")
            return _form(admin, session, target, 401, "That is not the admin token.")
        if session is not None:
            admin.access.end(session.id)
        fresh = admin.access.start(admin=True)
        response = back_to(target)
        _set_cookie(response, fresh)
        return response

    @bp.route("/logout", methods=["POST"])
    def logout() -> Response:
        session: Session = g.session
        admin.access.end(session.id)
        response = back("admin.login")
        response.delete_cookie(SESSION_COOKIE, path=_cookie_path(),
                               secure=request.is_secure, httponly=True, samesite="Strict")
        return response


def _form(admin: Admin, session: Session | None, target: str, status: int = 200,
          error: str | None = None) -> Response:
    if session is None:
        session = admin.access.start(admin=False)
        g.session = session
    response = page("login.html", status, error=error, next=target,
                    generated=admin.site.server.admin_token is None)
    _set_cookie(response, session)
    return response


def back_to(target: str) -> Response:
    from flask import redirect

    return redirect(target, 303)


def _safe_next(value: str | None) -> str:
    """Only a path of this page: never another site (an open redirect), never a control
    character (CR/LF cannot go in the Location header; a tab or NUL no browser keeps)."""
    home = url_for("admin.index")
    if not value or not value.startswith(home) or value.startswith("//") or "\\" in value \
            or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return home
    return value


def _cookie_path() -> str:
    return url_for("admin.index").rstrip("/") or "/"


def _set_cookie(response: Response, session: Session) -> None:
    response.set_cookie(SESSION_COOKIE, session.id, path=_cookie_path(), httponly=True,
                        samesite="Strict", secure=request.is_secure)
