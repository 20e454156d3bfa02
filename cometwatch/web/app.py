"""The WSGI application: one Flask app per site, its blueprints registered here.

Every error leaves as JSON in CometCMS's shape, {"error": {"code", "message"}}: a route not
found, a method not allowed, a request werkzeug refuses, and (logged, never shown) an exception
nothing expected. No HTML error page and no traceback ever reach a client.
"""

from __future__ import annotations

import json
import logging

from flask import Flask, Response
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from werkzeug.exceptions import HTTPException

from cometwatch.web.context import SiteContext

log = logging.getLogger("cometwatch.web")

JSON = "application/json; charset=utf-8"

# HTTP status → CometCMS's error code (its ApiController uses these).
_CODES = {400: "invalid_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 406: "not_acceptable", 413: "payload_too_large",
          414: "uri_too_long", 415: "unsupported_media_type", 429: "rate_limited",
          431: "headers_too_large"}


class _CompiledTemplates(BytecodeCache):
    """The admin templates' compiled code, shared by the apps create_app makes in a process
    (all with the same Jinja settings, which compiled code depends on): a fleet's sites, and
    a test suite's hundreds of apps, compile each template once, not once per app (3 ms a
    template). Jinja keys it on the template's name and its source's checksum."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATES = _CompiledTemplates()


def create_app(site: SiteContext) -> Flask:
    app = Flask("cometwatch.web", static_folder=None)
    app.jinja_options = {**app.jinja_options, "bytecode_cache": _TEMPLATES}
    app.config.update(MAX_CONTENT_LENGTH=None, TRAP_HTTP_EXCEPTIONS=False,
                      PROPAGATE_EXCEPTIONS=False)
    app.extensions["cometwatch.site"] = site
    app.url_map.strict_slashes = False

    # One line per blueprint (each module's `blueprint(site)` returns a flask.Blueprint).
    from cometwatch.web import api
    app.register_blueprint(api.blueprint(site), url_prefix="/api/v1")
    from cometwatch.web import admin
    app.register_blueprint(admin.blueprint(site), url_prefix="/admin")
    from cometwatch.web import push
    app.register_blueprint(push.blueprint(site), url_prefix="/hooks")
    from cometwatch.web import metrics
    app.register_blueprint(metrics.blueprint(site), url_prefix="/metrics")

    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app


def error_response(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False)
    return Response(body, status=status, content_type=JSON)


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        return _unexpected(exc)
    message = {404: "Not found.", 405: "Method not allowed."}.get(
        status, (exc.description or exc.name).strip())
    response = error_response(status, _CODES.get(status, "invalid_request"), message)
    if status == 405 and exc.response is None:
        allowed = getattr(exc, "valid_methods", None)
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
    return response


def _unexpected(exc: Exception) -> Response:
    log.error("unexpected error answering a request: %s: %s", type(exc).__name__, exc,
              exc_info=exc)
    return error_response(500, "internal_error", "Internal error; the server's log says more.")
