"""`POST /hooks/push`: a forge's push webhook makes the daemon look now instead of at its next
fetch_interval (Flux's and Argo CD's receivers, for cometwatch).

The sender is detected and its signature verified over the raw body in constant time
(cometwatch.forges); the secret is the forge's in `[server.push_secrets]`. A verified push to the
watched branch is a poke: `site.poke` asks for one fetch now (remote mode) or one scan now
(local mode); pokes coalesce there, so a burst of pushes costs one fetch in flight and at most
one queued. The payload's commit sha is never used: the fetch decides what is there.

Answers: 202 for a poke, 200 with a note for a ping, a push to another ref or another event
(the forge's delivery page stays green), 401 for a bad, missing or unconfigured signature
(logged without the body), 413 past MAX_BODY, 400 for a sender we do not know or a verified
payload we cannot read. waitress buffers the body before a worker sees the request, so a slow
sender holds no worker.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, Response, request

from cometwatch import forges
from cometwatch.forges import Ask, Forge
from cometwatch.web.app import JSON, error_response
from cometwatch.web.context import SiteContext

log = logging.getLogger("cometwatch.push")

MAX_BODY = 3 * 1024 * 1024  # forges' push payloads are far smaller; GitHub caps its own at 25 MB


def blueprint(site: SiteContext) -> Blueprint:
    """The /hooks blueprint; each request is counted in site.metrics by forge and result."""
    routes = Blueprint("push", __name__)
    counted = site.metrics.push_request

    @routes.post("/push")
    def push() -> Response:
        forge, result, response = _answer(site)
        counted(forge, result)
        return response

    return routes


def _answer(site: SiteContext) -> tuple[str, str, Response]:
    """(forge name, result label, response) for the current request."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        return "unknown", "too_large", _too_large()
    body = _read_body()  # enforced while reading, whatever Content-Length claimed
    if body is None:
        return "unknown", "too_large", _too_large()
    sender = forges.detect(forges.lower_keys(request.headers.items()))
    if sender is None:
        return "unknown", "unknown_sender", error_response(
            400, "unknown_sender", "No forge push headers (X-GitHub-Event, X-Gitea-Event, "
            "X-Gitlab-Event, X-Event-Key…); see the README's Push receivers section.")
    name = sender.forge.value
    secrets = _secrets(site, sender.forge)
    if not secrets:
        _refused(sender, f"no [server.push_secrets] {name} is configured")
        return name, "unauthorized", error_response(
            401, "unauthorized", f"No push secret is configured for {name}.")
    if not forges.verify(sender, secrets, body):
        reason = "no signature" if sender.signature is None else "bad signature"
        _refused(sender, f"{reason} ({forges.signature_header(sender.forge)})")
        return name, "unauthorized", error_response(
            401, "unauthorized", f"Missing or invalid {forges.signature_header(sender.forge)}.")
    verdict = forges.classify(sender, body, request.content_type or "", site.branch)
    if verdict.ask is Ask.MALFORMED:
        log.warning("push from %s: %s", name, verdict.note)
        return name, "malformed", error_response(400, "invalid_request",
                                                 verdict.note[:1].upper() + verdict.note[1:] + ".")
    status, note = 200, verdict.note
    if verdict.ask is Ask.FETCH:
        status = 202
        if site.poke is None:
            note = "push received; this server only reads (cometwatch serve): nothing fetches"
        else:
            site.poke()
        log.info("push from %s: %s", name, note)
    else:
        log.debug("push from %s: %s", name, note)
    return name, verdict.ask.value, _note(status, sender.forge, verdict.ask, note)


def _read_body() -> bytes | None:
    """The raw body, or None once it passes MAX_BODY (a read may return less than asked)."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY:
        chunk = request.stream.read(MAX_BODY + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def _secrets(site: SiteContext, forge: Forge) -> list[str]:
    """The secrets that verify `forge`: those of the first of its names the table has."""
    now = site.clock()
    table = site.server.push_secrets
    for key in forges.secret_names(forge):
        found = [secret.reveal() for name, secret in table if name == key
                 and (secret.expires_at is None or secret.expires_at > now)]
        if found:
            return found
    return []


def _refused(sender: forges.Request, reason: str) -> None:
    # Which delivery it was, so it can be found on the forge's page; never the body.
    delivery = next((request.headers[h] for h in ("X-GitHub-Delivery", "X-Gitea-Delivery",
                                                   "X-Gitlab-Event-UUID", "X-Request-UUID",
                                                   "X-Request-Id") if h in request.headers), "")
    log.warning("push refused (401): %s %r from %s: %s%s", sender.forge.value,
                sender.event[:60], request.remote_addr or "?", reason,
                f" (delivery {delivery[:80]})" if delivery else "")


def _note(status: int, forge: Forge, ask: Ask, note: str) -> Response:
    body = json.dumps({"forge": forge.value, "result": ask.value, "note": note})
    return Response(body, status=status, content_type=JSON)


def _too_large() -> Response:
    return error_response(413, "payload_too_large",
                          f"A push payload is at most {MAX_BODY // (1024 * 1024)} MiB.")
