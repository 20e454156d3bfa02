"""The Public API blueprint: CometCMS's read routes under /api/v1/workspaces/{workspace}.

Read-only. Every answer is JSON in CometCMS's shapes ({"data": …, "meta": …} or
{"error": {"code", "message"}}), carries an ETag (the cursor, the scheduled moments passed,
who asks and what), and a matching If-None-Match gets a 304.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from http import HTTPStatus
from importlib.resources import files
from typing import Any

from flask import Blueprint, Response, request
from flask.sansio.blueprints import BlueprintSetupState

from cometwatch import __version__
from cometwatch.errors import CometwatchError
from cometwatch.utc import iso as utc_iso
from cometwatch.web import listing
from cometwatch.web.app import JSON, error_response
from cometwatch.web.context import SiteContext
from cometwatch.web.entries import (
    CORE_FIELDS,
    Catalog,
    Catalogs,
    Item,
    Unavailable,
    content_types,
    render,
    status,
)
from cometwatch.web.phpquery import QueryError, parse_query
from cometwatch.web.server import WsgiApp

log = logging.getLogger("cometwatch.web")

_BEARER = re.compile(r"^Bearer\s+(.+)$", re.IGNORECASE)
_WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]
MAX_BODY_TEXT = 16 * 1024 * 1024  # of a body, what an entry payload carries


Answer = tuple[int, list[tuple[str, str]], bytes]  # status, headers, body


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.answer = refusal(status, code, message)


def refusal(status: int, code: str, message: str) -> Answer:
    body = json.dumps({"error": {"code": code, "message": message}},
                      ensure_ascii=False).encode("utf-8")
    return status, [("Content-Type", JSON)], body


def openapi_document() -> bytes:
    return files("cometwatch.web").joinpath("openapi.yaml").read_bytes()


class ReadApi:
    """The read routes, on a WSGI environ: what the blueprint's views and the fast path
    (`FastPath`) both answer with, so the two can never differ."""

    def __init__(self, site: SiteContext) -> None:
        self.site = site
        self.catalogs = Catalogs(site)
        self.workspace = site.server.workspace
        self.routes: dict[str, Callable[..., str]] = {
            "health": self.health, "types": self.types, "one_type": self.one_type,
            "index": self.index, "show": self.show}

    def respond(self, environ: dict[str, Any], route: str, workspace: str,
                **kwargs: str) -> Answer:
        """Decode, authenticate, load the catalog, ETag or 304, then the route's JSON."""
        site = self.site
        try:
            _check_path(environ)
            params = _params(environ)
            admin = _authorised(site, environ, time.time())
            if workspace != self.workspace:
                raise _Refusal(404, "not_found", "Workspace not found.")
            try:
                catalog = self.catalogs.get()
            except Unavailable as exc:
                log.warning("API: the state cannot be read: %s", exc)
                raise _Refusal(503, "unavailable", "No scan of the repository is stored "
                               "yet; try again shortly.") from None
            now = site.clock()
            tag = _etag(environ, catalog, admin, now)
            headers = [("ETag", tag),
                       ("Cache-Control", "private, no-cache" if admin else "public, no-cache"),
                       ("Vary", "Authorization")]
            if _not_modified(environ, tag):
                return 304, headers, b""
            if route == "index":  # a list: kept whole, its query repeats (builds, caches)
                key = (admin, catalog.epoch(now), environ.get("PATH_INFO", ""),
                       environ.get("QUERY_STRING", ""))
                data = catalog.answers.get(key)
                if data is None:
                    data = self.index(catalog, params, admin, now, **kwargs).encode("utf-8")
                    catalog.answers.put(key, data)
            else:
                data = self.routes[route](catalog, params, admin, now, **kwargs).encode("utf-8")
            return 200, [("Content-Type", JSON), *headers], data
        except _Refusal as refused:
            return refused.answer
        except CometwatchError as exc:  # the repository could not be read
            log.warning("API: %s", exc)
            return refusal(503, "unavailable", "The repository cannot be read right now.")

    # -- the routes -----------------------------------------------------------------------

    def health(self, catalog: Catalog, params: dict[str, Any], admin: bool,
               now: float) -> str:
        return _data({"ok": True, "name": "cometwatch", "version": __version__,
                      "time": utc_iso(now), "extensions": {"gd": False, "zip": False},
                      "commit": catalog.commit})

    def types(self, catalog: Catalog, params: dict[str, Any], admin: bool,
              now: float) -> str:
        found = content_types(catalog, admin, now, self.site.config.repository.rules.slug_field)
        return _data(list(found.values()))

    def one_type(self, catalog: Catalog, params: dict[str, Any], admin: bool, now: float,
                 collection: str) -> str:
        found = content_types(catalog, admin, now, self.site.config.repository.rules.slug_field)
        if collection not in found:
            raise _Refusal(404, "not_found", "Content type not found.")
        return _data(found[collection])

    def index(self, catalog: Catalog, params: dict[str, Any], admin: bool, now: float,
              collection: str) -> str:
        site = self.site
        locale = _locale(params)
        items = catalog.entries(collection, admin, admin and params.get("trash") == "1",
                                now, locale)
        if not items and not catalog.known(collection, admin, now):
            raise _Refusal(404, "not_found", "Content collection not found.")
        bodies: dict[str, str] = {}
        needle = params.get("q")
        if isinstance(needle, str) and needle.strip():
            bodies = _bodies(site, items)

        def value_at(item: Item, name: str) -> Any:
            return status(item.row, now) if name == "status" else item.flat.get(name)

        def filterable(name: str) -> bool:
            return name in CORE_FIELDS or any(name in item.data for item in items)

        def search(item: Item, text: str) -> bool:
            if text in item.row.title.lower() or text in item.row.slug.lower():
                return True
            if any(isinstance(v, str) and text in v.lower() for v in item.data.values()):
                return True
            return text in bodies.get(item.row.path, "").lower()

        page, meta = listing.page_of(items, params, value_at, lambda i: i.row.entry_id,
                                     filterable, search)
        bodies.update(_bodies(site, [i for i in page if i.row.path not in bodies],
                              only_unrendered=(catalog, admin, now)))
        authors = self.site.server.authors != "none"
        data = ",".join(render(item, catalog, admin, now, bodies.get(item.row.path, ""),
                               authors) for item in page)
        meta_text = json.dumps({"total": meta.total, "limit": meta.limit,
                                "offset": meta.offset, "sort": meta.sort,
                                "order": meta.order}, ensure_ascii=False,
                               separators=(",", ":"))
        return f'{{"data":[{data}],"meta":{meta_text}}}'

    def show(self, catalog: Catalog, params: dict[str, Any], admin: bool, now: float,
             collection: str, identifier: str) -> str:
        item = catalog.find(collection, identifier, admin, now, _locale(params))
        if item is None:
            if not catalog.known(collection, admin, now):
                raise _Refusal(404, "not_found", "Content collection not found.")
            raise _Refusal(404, "not_found", "Content entry not found.")
        body = _bodies(self.site, [item], only_unrendered=(catalog, admin, now)).get(
            item.row.path, "")
        authors = self.site.server.authors != "none"
        return f'{{"data":{render(item, catalog, admin, now, body, authors)}}}'


class FastPath:
    """WSGI middleware: GETs of entries and lists (the hot routes) answered by ReadApi
    directly, without Flask's request machinery (its routing and contexts cost about as much
    as the whole of waitress); every other request, and any path this does not take in
    whole, goes on to Flask, whose views answer with the same ReadApi."""

    def __init__(self, api: ReadApi, inner: WsgiApp, prefix: str) -> None:
        self.api = api
        self.inner = inner
        self._pattern = re.compile(rf"^{re.escape(prefix)}/workspaces/([^/]+)/content/"
                                   r"([^/]+)(?:/([^/](?:.*[^/])?))?$", re.DOTALL)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        method = environ.get("REQUEST_METHOD")
        found = self._pattern.match(environ.get("PATH_INFO", "")) \
            if method in ("GET", "HEAD") else None
        if found is None:
            return self.inner(environ, start_response)
        try:
            workspace, collection, identifier = (
                None if part is None else part.encode("latin-1").decode("utf-8")
                for part in found.groups())
        except (UnicodeEncodeError, UnicodeDecodeError):
            return self.inner(environ, start_response)  # Flask's view refuses it (400)
        assert workspace is not None and collection is not None
        try:
            if identifier is None:
                status_code, headers, body = self.api.respond(environ, "index", workspace,
                                                              collection=collection)
            else:
                status_code, headers, body = self.api.respond(
                    environ, "show", workspace, collection=collection, identifier=identifier)
        except Exception as exc:  # as app.py's last handler answers
            log.error("unexpected error answering a request: %s: %s", type(exc).__name__, exc,
                      exc_info=exc)
            status_code, headers, body = refusal(
                500, "internal_error", "Internal error; the server's log says more.")
        headers.append(("Content-Length", str(len(body))))
        start_response(f"{status_code} {HTTPStatus(status_code).phrase}", headers)
        return [b"" if method == "HEAD" else body]


def blueprint(site: SiteContext) -> Blueprint:
    bp = Blueprint("api", __name__)
    api = ReadApi(site)

    def view(route: str) -> Callable[..., Response]:
        def answer(workspace: str, **kwargs: str) -> Response:
            status_code, headers, body = api.respond(request.environ, route, workspace,
                                                     **kwargs)
            return Response(body, status=status_code, headers=headers)

        answer.__name__ = route
        return answer

    prefix = "/workspaces/<workspace>"
    bp.add_url_rule(f"{prefix}/health", view_func=view("health"), methods=["GET"])
    bp.add_url_rule(f"{prefix}/content-types", view_func=view("types"), methods=["GET"])
    bp.add_url_rule(f"{prefix}/content-types/<collection>", view_func=view("one_type"),
                    methods=["GET"])
    bp.add_url_rule(f"{prefix}/content/<collection>", view_func=view("index"),
                    methods=["GET"])
    bp.add_url_rule(f"{prefix}/content/<collection>/<path:identifier>",
                    view_func=view("show"), methods=["GET"])

    def install(state: BlueprintSetupState) -> None:
        state.app.wsgi_app = FastPath(api, state.app.wsgi_app,  # type: ignore[attr-defined]
                                      state.url_prefix or "")

    bp.record_once(install)

    @bp.route("/openapi.yaml", methods=["GET"])
    def openapi() -> Response:
        return Response(openapi_document(), content_type="application/yaml; charset=utf-8")

    @bp.route("/content", methods=["GET", *_WRITE_METHODS])
    @bp.route("/content/<path:rest>", methods=["GET", *_WRITE_METHODS])
    @bp.route("/content-types", methods=["GET", *_WRITE_METHODS])
    @bp.route("/content-types/<path:rest>", methods=["GET", *_WRITE_METHODS])
    @bp.route("/media", methods=["GET", *_WRITE_METHODS])
    @bp.route("/media/<path:rest>", methods=["GET", *_WRITE_METHODS])
    def unscoped(rest: str = "") -> Response:
        return error_response(400, "workspace_required", "A workspace is required: use "
                              "/api/v1/workspaces/{workspace}/...")

    return bp


def _check_path(environ: dict[str, Any]) -> None:
    """A path whose percent-escapes decode to bytes that are not UTF-8 is refused (waitress
    hands the decoded bytes over as latin-1 text)."""
    raw = environ.get("PATH_INFO", "")
    try:
        raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise _Refusal(400, "invalid_request", "The request path is not valid UTF-8 once "
                       "percent-decoded.") from None


def _params(environ: dict[str, Any]) -> dict[str, Any]:
    try:
        return parse_query(environ.get("QUERY_STRING", ""))
    except QueryError:
        raise _Refusal(400, "invalid_request", "The query string is not valid UTF-8 once "
                       "percent-decoded.") from None


def _authorised(site: SiteContext, environ: dict[str, Any], now: float) -> bool:
    """True for a configured token, False for none (an empty one, or another scheme);
    an unknown token is refused (401), never taken for anonymous."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    match = _BEARER.match(header)
    token = match.group(1).strip() if match else ""
    if not token:
        return False
    given = token.encode("latin-1", "replace")  # WSGI headers carry bytes as latin-1
    valid = False
    for secret in site.server.api_tokens:
        if secret.expires_at is not None and secret.expires_at <= now:
            continue
        # every token is compared, in constant time: no timing tells which one nearly matched
        valid |= hmac.compare_digest(given, secret.reveal().encode("utf-8"))
    if not valid:
        log.warning("API: a request with an invalid bearer token (%s %s)",
                    environ.get("REQUEST_METHOD"), environ.get("PATH_INFO", "")[:200])
        raise _Refusal(401, "unauthorized", "Invalid bearer token.")
    return True


def _etag(environ: dict[str, Any], catalog: Catalog, admin: bool, now: float) -> str:
    uri = environ.get("RAW_URI") or environ.get("REQUEST_URI") or (
        environ.get("PATH_INFO", "") + "?" + environ.get("QUERY_STRING", ""))
    key = (f"{catalog.commit}\n{catalog.generation}\n{catalog.epoch(now)}\n{int(admin)}\n"
           f"{uri}")
    return '"' + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32] + '"'


def _not_modified(environ: dict[str, Any], tag: str) -> bool:
    header = environ.get("HTTP_IF_NONE_MATCH", "")
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = {part.strip().removeprefix("W/") for part in header.split(",")}
    return tag in wanted


def _locale(params: dict[str, Any]) -> str | None:
    value = params.get("locale")
    return value if isinstance(value, str) and value else None


def _bodies(site: SiteContext, items: list[Item],
            only_unrendered: tuple[Catalog, bool, float] | None = None) -> dict[str, str]:
    """The Markdown bodies of these files, read from git by blob (cached there)."""
    if only_unrendered is not None:
        catalog, admin, now = only_unrendered
        items = [i for i in items
                 if (i.row.path, status(i.row, now), admin) not in catalog.rendered]
    if not items:
        return {}
    blobs = site.blobs.read(list(dict.fromkeys(i.row.blob for i in items)), MAX_BODY_TEXT)
    return {i.row.path: blobs.get(i.row.blob, b"")[i.row.body_at:].decode("utf-8", "replace")
            for i in items}


def _data(value: Any) -> str:
    return json.dumps({"data": value}, ensure_ascii=False, separators=(",", ":"))
