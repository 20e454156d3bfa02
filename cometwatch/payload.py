"""Pure: a ContentEvent → the exact body bytes CometCMS sends, and its signatures.

CometCMS builds the body with PHP's `json_encode($payload, JSON_UNESCAPED_SLASHES)`: compact,
keys in insertion order, non-ASCII as lowercase `\\uXXXX` (UTF-16 surrogate pairs beyond the
BMP), `/` left alone. Python's json module with ensure_ascii does exactly that, but for one
character: it escapes DEL (0x7f) as `\\u007f`, which PHP leaves as it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from cometwatch.utc import iso as utc_iso

# `\u007f` as an escape of its own, not the tail of an escaped backslash (`\\u007f`).
_ESCAPED_DEL = re.compile(r"(?<!\\)((?:\\\\)*)\\u007f")
_quote = json.encoder.encode_basestring_ascii  # json.dumps's own quoting, ensure_ascii


@dataclass(frozen=True, slots=True)
class ContentEvent:
    event_id: str
    name: str  # content.created …
    occurred_at: int  # seconds since the epoch, UTC
    collection: str
    entry_id: str
    slug: str
    commit: str  # the commit that caused it, or "at:<time>" for a scheduled transition
    path: str


def body(event: ContentEvent) -> bytes:
    return encode(event.name, utc_iso(event.occurred_at), event.collection, event.entry_id,
                  event.slug)


def encode(name: str, occurred_at: str, collection: str, entry_id: str, slug: str) -> bytes:
    """`{"event":…,"occurred_at":…,"data":{"type":…,"id":…,"slug":…}}`: each string as
    json.dumps writes it (the same C quoting function), assembled directly, as this runs for
    every event a history gives."""
    text = (f'{{"event":{_quote(name)},"occurred_at":{_quote(occurred_at)},"data":{{"type":'
            f'{_quote(collection)},"id":{_quote(entry_id)},"slug":{_quote(slug)}}}}}')
    if "\\u007f" in text:
        text = _ESCAPED_DEL.sub("\\1\x7f", text)
    return text.encode("ascii")


MANUAL_EVENT = "webhook.manual"


def encode_manual(occurred_at: str, user_id: str | None, username: str | None,
                  role: str | None) -> bytes:
    """The body of CometCMS's "Run now" (its WebhooksController::run): event
    `webhook.manual`, data `{"manual": true, "triggered_by": {"id", "username", "role"}}`, in
    the envelope and bytes of every event. No `content.*` event: a build hook that triggers on
    updates does not rebuild for a test."""
    return _php_json({
        "event": MANUAL_EVENT,
        "occurred_at": occurred_at,
        "data": {"manual": True,
                 "triggered_by": {"id": user_id, "username": username, "role": role}},
    })


def _php_json(payload: object) -> bytes:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=True)
    if "\\u007f" in text:
        text = _ESCAPED_DEL.sub("\\1\x7f", text)
    return text.encode("ascii")


def cometcms_signature(raw_body: bytes, secret: str) -> str:
    """`sha256=<hex>`, as PHP's hash_hmac('sha256', $body, $secret) over the secret's bytes."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def standard_signature(raw_body: bytes, secret: str, msg_id: str, timestamp: int) -> str:
    """One `v1,<base64>` signature of the Standard Webhooks spec. A `whsec_` secret is the
    base64 of the key (padding optional, as the reference library reads it); any other secret
    is used as its UTF-8 bytes."""
    key = (base64.b64decode(secret.removeprefix("whsec_") + "==") if secret.startswith("whsec_")
           else secret.encode("utf-8"))
    signed = f"{msg_id}.{timestamp}.".encode() + raw_body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
