"""Pure: which forge sent a push request, whether its signature holds, and what it asks of us.

Each forge signs (or authenticates) its webhooks its own way; these are the documented schemes:

    forge             detected by                               verified by
    forgejo           X-Forgejo-Event                           X-Forgejo-Signature: <hex>
    gitea             X-Gitea-Event                             X-Gitea-Signature: <hex>
    gogs              X-Gogs-Event                              X-Gogs-Signature: <hex>
    github            X-GitHub-Event                            X-Hub-Signature-256: sha256=<hex>
    gitlab            X-Gitlab-Event                            X-Gitlab-Token: <the secret>
    bitbucket-server  X-Event-Key repo:refs_changed, pr:…, …    X-Hub-Signature: sha256=<hex>
    bitbucket         X-Event-Key (Cloud: repo:push, …)         X-Hub-Signature: sha256=<hex>

<hex> is the HMAC-SHA256 of the raw body keyed with the secret's UTF-8 bytes. Forgejo also sends
Gitea's, Gogs' and GitHub's headers, Gitea Gogs' and GitHub's, so the table is read top down:
the most specific sender wins. Nothing here trusts a payload's commit sha: a push only says
"look now", and the fetch decides what is there.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs


class Forge(enum.Enum):
    FORGEJO = "forgejo"
    GITEA = "gitea"
    GOGS = "gogs"
    GITHUB = "github"
    GITLAB = "gitlab"
    BITBUCKET_SERVER = "bitbucket-server"
    BITBUCKET = "bitbucket"  # Bitbucket Cloud


FORGE_NAMES = tuple(forge.value for forge in Forge)

# Bitbucket Server (Data Center) and Cloud share X-Event-Key; their event names differ.
_SERVER_EVENTS = frozenset({"repo:refs_changed", "repo:modified", "repo:forked",
                            "repo:secret_detected", "diagnostics:ping",
                            "mirror:repo_synchronized"})
_SERVER_PREFIXES = ("pr:", "repo:comment:", "mirror:", "diagnostics:")

# (forge, its event header, its signature header); the order is the detection order.
_HEADERS = (
    (Forge.FORGEJO, "x-forgejo-event", "x-forgejo-signature"),
    (Forge.GITEA, "x-gitea-event", "x-gitea-signature"),
    (Forge.GOGS, "x-gogs-event", "x-gogs-signature"),
    (Forge.GITHUB, "x-github-event", "x-hub-signature-256"),
    (Forge.GITLAB, "x-gitlab-event", "x-gitlab-token"),
)
_BITBUCKET_SIGNATURE = "x-hub-signature"


class Ask(enum.Enum):
    """What a verified request asks of the daemon."""
    FETCH = "fetch"  # a push to the watched branch: fetch (or scan) now
    PING = "ping"  # the forge testing the hook
    OTHER_REF = "other-ref"  # a push, to another branch or a tag
    IGNORED = "ignored"  # another kind of event (issues, pull requests…)
    MALFORMED = "malformed"  # verified, but the payload cannot be read


@dataclass(frozen=True, slots=True)
class Request:
    """A request as a forge sent it: its forge, event name and signature header's value."""
    forge: Forge
    event: str
    signature: str | None  # the header's value; None when it is missing


@dataclass(frozen=True, slots=True)
class Verdict:
    ask: Ask
    note: str  # a short sentence for the forge's delivery page


def secret_names(forge: Forge) -> tuple[str, ...]:
    """The [server.push_secrets] keys whose secrets verify `forge`'s requests, in order.
    Forgejo and Gogs speak Gitea's protocol, so a table with only `gitea` serves them too."""
    if forge in (Forge.FORGEJO, Forge.GOGS):
        return (forge.value, Forge.GITEA.value)
    return (forge.value,)


def lower_keys(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header names are case-insensitive: the last of each name, keyed in lower case."""
    return {name.lower(): value for name, value in headers}


def detect(headers: Mapping[str, str]) -> Request | None:
    """The sender of a request, from its lower-cased header names; None for none we know."""
    for forge, event_header, signature_header in _HEADERS:
        event = headers.get(event_header)
        if event is not None:
            return Request(forge, event.strip(), headers.get(signature_header))
    key = headers.get("x-event-key")
    if key is None:
        return None
    key = key.strip()
    server = key in _SERVER_EVENTS or key.startswith(_SERVER_PREFIXES)
    # Cloud names every request with X-Hook-UUID; Server never does.
    if not server and "x-hook-uuid" not in headers and "x-request-id" in headers:
        server = True
    return Request(Forge.BITBUCKET_SERVER if server else Forge.BITBUCKET, key,
                   headers.get(_BITBUCKET_SIGNATURE))


def signature_header(forge: Forge) -> str:
    """The header a forge's signature (or token) is in, as the forge spells it."""
    return {Forge.FORGEJO: "X-Forgejo-Signature", Forge.GITEA: "X-Gitea-Signature",
            Forge.GOGS: "X-Gogs-Signature", Forge.GITHUB: "X-Hub-Signature-256",
            Forge.GITLAB: "X-Gitlab-Token"}.get(forge, "X-Hub-Signature")


def sign(forge: Forge, secret: str, body: bytes) -> str:
    """The header value `forge` sends for `body` (what a test or a forge's client computes)."""
    if forge is Forge.GITLAB:
        return secret
    digest = hmac.new(_key(secret), body, hashlib.sha256).hexdigest()
    if forge in (Forge.FORGEJO, Forge.GITEA, Forge.GOGS):
        return digest
    return f"sha256={digest}"


def verify(request: Request, secrets: Iterable[str], body: bytes) -> bool:
    """True when the request's signature (GitLab: token) matches one of `secrets`. Compared
    in constant time over the raw body; a missing, malformed or foreign header is False."""
    given = request.signature
    if given is None:
        return False
    given = given.strip()
    if request.forge not in (Forge.GITLAB, Forge.FORGEJO, Forge.GITEA, Forge.GOGS):
        if given[:7].lower() != "sha256=":
            return False
        given = "sha256=" + given[7:].lower()
    elif request.forge is not Forge.GITLAB:
        given = given.lower()
    # As bytes every header compares (compare_digest refuses non-ASCII text).
    presented = given.encode("utf-8", "surrogateescape")
    matched = False
    for secret in secrets:  # every secret is tried: the time does not say which one matched
        expected = sign(request.forge, secret, body).encode("utf-8", "surrogatepass")
        matched |= hmac.compare_digest(expected, presented)
    return matched


def _key(secret: str) -> bytes:
    return secret.encode("utf-8", "surrogatepass")


# -- what a verified request asks ------------------------------------------------------------

def classify(request: Request, body: bytes, content_type: str, branch: str | None) -> Verdict:
    """What a verified request asks, given the watched branch (None: any branch counts)."""
    kind = _kind(request)
    if kind == "ping":
        return Verdict(Ask.PING, f"{request.forge.value} ping received")
    if kind != "push":
        return Verdict(Ask.IGNORED, f"{request.event!r} events are not used; only pushes are")
    payload = _payload(body, content_type)
    if payload is None:
        return Verdict(Ask.MALFORMED, "the payload is not a JSON object")
    if request.forge is Forge.GITLAB and request.event == "System Hook" and \
            payload.get("event_name") not in ("push", "tag_push"):
        return Verdict(Ask.IGNORED, "only push system hooks are used")
    refs = _refs(request.forge, payload)
    if refs is None:
        return Verdict(Ask.MALFORMED, "the payload names no ref")
    watched = f"refs/heads/{branch}" if branch else None
    if watched is None and any(ref.startswith("refs/heads/") for ref in refs):
        return Verdict(Ask.FETCH, "push received; fetching now")
    if watched in refs:
        return Verdict(Ask.FETCH, f"push to {branch} received; fetching now")
    shown = ", ".join(echoed(ref) for ref in sorted(refs)[:3]) or "no ref"
    return Verdict(Ask.OTHER_REF, f"push to {shown}; only {watched or 'branches'} is watched")


ECHO_LIMIT = 200  # characters of a sender's text echoed back in a note


def echoed(text: str) -> str:
    """`text` (a ref the sender chose: any length, any characters) as a note may show it:
    control characters escaped as JSON escapes them (\\u000a), at most ECHO_LIMIT characters
    and an ellipsis, so an answer or a log line stays one short line."""
    if len(text) > ECHO_LIMIT:
        text = text[:ECHO_LIMIT] + "…"
    return "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)


def _kind(request: Request) -> str:
    event = request.event
    if request.forge is Forge.GITLAB:
        # "System Hook" carries pushes as well, marked in the payload; read it as one.
        return "push" if event in ("Push Hook", "Tag Push Hook", "System Hook") else "other"
    if request.forge is Forge.BITBUCKET_SERVER:
        if event == "diagnostics:ping":
            return "ping"
        return "push" if event in ("repo:refs_changed", "mirror:repo_synchronized") else "other"
    if request.forge is Forge.BITBUCKET:
        return "push" if event == "repo:push" else "other"
    return {"push": "push", "ping": "ping"}.get(event, "other")


def _payload(body: bytes, content_type: str) -> dict[str, Any] | None:
    text = body
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        # GitHub, Gitea and Gogs can send `payload=<url-encoded JSON>` instead of JSON.
        try:
            fields = parse_qs(body.decode("ascii"), strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            return None
        if len(fields.get("payload", ())) != 1:
            return None
        text = fields["payload"][0].encode("utf-8", "surrogatepass")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _refs(forge: Forge, payload: dict[str, Any]) -> frozenset[str] | None:
    """The full ref names a push payload says moved; None when it names none readably."""
    if forge is Forge.BITBUCKET:
        changes = payload.get("push", {}).get("changes") if isinstance(
            payload.get("push"), dict) else None
        if not isinstance(changes, list):
            return None
        refs = set()
        for change in changes:
            for side in ("new", "old") if isinstance(change, dict) else ():
                ref = change.get(side)
                if isinstance(ref, dict) and isinstance(ref.get("name"), str):
                    folder = "tags" if ref.get("type") == "tag" else "heads"
                    refs.add(f"refs/{folder}/{ref['name']}")
        return frozenset(refs)
    if forge is Forge.BITBUCKET_SERVER:
        changes = payload.get("changes")
        if not isinstance(changes, list):
            return None
        refs = set()
        for change in changes:
            if not isinstance(change, dict):
                continue
            ref = change.get("ref")
            name = ref.get("id") if isinstance(ref, dict) else change.get("refId")
            if isinstance(name, str):
                refs.add(name)
        return frozenset(refs)
    ref = payload.get("ref")
    if not isinstance(ref, str):
        return None
    if forge is Forge.GITLAB and not ref.startswith("refs/"):
        ref = f"refs/heads/{ref}"  # some GitLab system hooks give the bare name
    return frozenset({ref})
