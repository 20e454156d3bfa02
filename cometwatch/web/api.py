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
from importlib.resources import files
from typing import Any

from flask import Blueprint, Response, request

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

log = logging.getLogger("cometwatch.web")

_BEARER = re.compile(r"^Bearer\s+(.+)$", re.IGNORECASE)
_WRITE_METHODS = ["POST", "PUT", "PATCH", "DELETE"]
MAX_BODY_TEXT = 16 * 1024 * 1024  # of a body, what an entry payload carries


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.response = error_response(status, code, message)


def openapi_document() -> bytes:
    return files("cometwatch.web").joinpath("openapi.yaml").read_bytes()


def blueprint(site: SiteContext) -> Blueprint:
    bp = Blueprint("api", __name__)
    catalogs = Catalogs(site)
    workspace = site.server.workspace

    def answer(handler: Callable[..., tuple[Any, bool]]) -> Callable[..., Response]:
        """Run a read route: decode, authenticate, load the catalog, ETag, 304."""

        def view(**kwargs: str) -> Response:
            try:
                _check_path()
                params = _params()
                admin = _authorised(site, time.time())
                if kwargs.pop("workspace") != workspace:
                    raise _Refusal(404, "not_found", "Workspace not found.")
                try:
                    catalog = catalogs.get()
                except Unavailable as exc:
                    log.warning("API: the state cannot be read: %s", exc)
                    raise _Refusal(503, "unavailable", "No scan of the repository is stored "
                                   "yet; try again shortly.") from None
                now = site.clock()
                tag = _etag(catalog, admin, now)
                if _not_modified(tag):
                    response = Response(status=304)
                else:
                    body, _ = handler(catalog, params, admin, now, **kwargs)
                    response = Response(body, status=200, content_type=JSON)
                response.headers["ETag"] = tag
                response.headers["Cache-Control"] = "private, no-cache" if admin else \
                    "public, no-cache"
                response.headers["Vary"] = "Authorization"
                return response
            except _Refusal as refusal:
                return refusal.response
            except CometwatchError as exc:  # the repository could not be read
                log.warning("API: %s", exc)
                return error_response(503, "unavailable", "The repository cannot be read "
                                      "right now.")

        view.__name__ = handler.__name__
        return view

    def health(catalog: Catalog, params: dict[str, Any], admin: bool,
               now: float) -> tuple[str, bool]:
        return _data({"ok": True, "name": "cometwatch", "version": __version__,
                      "time": utc_iso(now), "extensions": {"gd": False, "zip": False},
                      "commit": catalog.commit}), False

    def types(catalog: Catalog, params: dict[str, Any], admin: bool,
              now: float) -> tuple[str, bool]:
        found = content_types(catalog, admin, now, site.config.repository.rules.slug_field)
        return _data(list(found.values())), False

    def one_type(catalog: Catalog, params: dict[str, Any], admin: bool, now: float,
                 collection: str) -> tuple[str, bool]:
        found = content_types(catalog, admin, now, site.config.repository.rules.slug_field)
        if collection not in found:
            raise _Refusal(404, "not_found", "Content type not found.")
        return _data(found[collection]), False

    def index(catalog: Catalog, params: dict[str, Any], admin: bool, now: float,
              collection: str) -> tuple[str, bool]:
        locale = _locale(params)
        items = catalog.entries(collection, admin, admin and params.get("trash") == "1",
                                now, locale)
        if not items and not _known(catalog, collection, admin, now):
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
        data = ",".join(render(item, catalog, admin, now, bodies.get(item.row.path, ""))
                        for item in page)
        meta_text = json.dumps({"total": meta.total, "limit": meta.limit,
                                "offset": meta.offset, "sort": meta.sort,
                                "order": meta.order}, ensure_ascii=False)
        return f'{{"data":[{data}],"meta":{meta_text}}}', False

    def show(catalog: Catalog, params: dict[str, Any], admin: bool, now: float,
             collection: str, identifier: str) -> tuple[str, bool]:
        if not _known(catalog, collection, admin, now):
            raise _Refusal(404, "not_found", "Content collection not found.")
        item = catalog.find(collection, identifier, admin, now, _locale(params))
        if item is None:
            raise _Refusal(404, "not_found", "Content entry not found.")
        body = _bodies(site, [item], only_unrendered=(catalog, admin, now)).get(
            item.row.path, "")
        return f'{{"data":{render(item, catalog, admin, now, body)}}}', False

    prefix = "/workspaces/<workspace>"
    bp.add_url_rule(f"{prefix}/health", view_func=answer(health), methods=["GET"])
    bp.add_url_rule(f"{prefix}/content-types", view_func=answer(types), methods=["GET"])
    bp.add_url_rule(f"{prefix}/content-types/<collection>", view_func=answer(one_type),
                    methods=["GET"])
    bp.add_url_rule(f"{prefix}/content/<collection>", view_func=answer(index),
                    methods=["GET"])
    bp.add_url_rule(f"{prefix}/content/<collection>/<path:identifier>",
                    view_func=answer(show), methods=["GET"])

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


def _check_path() -> None:
    """A path whose percent-escapes decode to bytes that are not UTF-8 is refused (waitress
    hands the decoded bytes over as latin-1 text)."""
    raw = request.environ.get("PATH_INFO", "")
    try:
        raw.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        raise _Refusal(400, "invalid_request", "The request path is not valid UTF-8 once "
                       "percent-decoded.") from None


def _params() -> dict[str, Any]:
    try:
        return parse_query(request.environ.get("QUERY_STRING", ""))
    except QueryError:
        raise _Refusal(400, "invalid_request", "The query string is not valid UTF-8 once "
                       "percent-decoded.") from None


def _authorised(site: SiteContext, now: float) -> bool:
    """True for a configured token, False for none (an empty one, or another scheme);
    an unknown token is refused (401), never taken for anonymous."""
    header = request.headers.get("Authorization", "")
    match = _BEARER.match(header)
    token = match.group(1).strip() if match else ""
    if not token:
        return False
    given = token.encode("utf-8", "surrogateescape")
    valid = False
    for secret in site.server.api_tokens:
        if secret.expires_at is not None and secret.expires_at <= now:
            continue
        # every token is compared, in constant time: no timing tells which one nearly matched
        valid |= hmac.compare_digest(given, secret.reveal().encode("utf-8"))
    if not valid:
        log.warning("API: a request with an invalid bearer token (%s %s)", request.method,
                    request.path[:200])
        raise _Refusal(401, "unauthorized", "Invalid bearer token.")
    return True


def _etag(catalog: Catalog, admin: bool, now: float) -> str:
    uri = request.environ.get("RAW_URI") or request.full_path
    key = (f"{catalog.commit}\n{catalog.generation}\n{catalog.epoch(now)}\n{int(admin)}\n"
           f"{uri}")
    return '"' + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:32] + '"'


def _not_modified(tag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = {part.strip().removeprefix("W/") for part in header.split(",")}
    return tag in wanted


def _locale(params: dict[str, Any]) -> str | None:
    value = params.get("locale")
    return value if isinstance(value, str) and value else None


def _known(catalog: Catalog, collection: str, admin: bool, now: float) -> bool:
    """A collection a reader may know of: one with an entry it can see (with a token, any
    entry, the trash included)."""
    if admin:
        return collection in catalog.collections
    return bool(catalog.entries(collection, False, False, now, None))


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
