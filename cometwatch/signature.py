"""Public: check the `X-CometCMS-Signature` of a request cometwatch (or CometCMS) sent.

    from cometwatch.signature import verify

    if not verify(request_body_bytes, secret, request.headers["X-CometCMS-Signature"]):
        return 401

Pure standard library; safe to call on anything a client sends.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def verify(raw_body: bytes | bytearray | memoryview, secret: str, header: str) -> bool:
    """True when `header` is `sha256=<hex HMAC-SHA256 of raw_body keyed with secret>`.

    raw_body: the request body exactly as received, before any JSON parsing (a re-encoded body
        never matches).
    secret: the webhook's secret as configured on both sides (its UTF-8 bytes are the key; a
        `whsec_…` secret is used as text here, as CometCMS does).
    header: the X-CometCMS-Signature value. Surrounding whitespace and upper-case hex are
        accepted; anything else that is not a match (empty, malformed, another algorithm)
        is False, never an exception.

    The comparison takes the same time wherever the first difference is.
    """
    if not isinstance(raw_body, (bytes, bytearray, memoryview)) or not isinstance(secret, str) \
            or not isinstance(header, str):
        return False
    key = secret.encode("utf-8", "surrogatepass")
    expected = PREFIX + hmac.new(key, bytes(raw_body), hashlib.sha256).hexdigest()
    given = header.strip()
    if given[:len(PREFIX)].lower() == PREFIX:
        given = PREFIX + given[len(PREFIX):].lower()
    # compare_digest refuses non-ASCII text; as bytes any header compares (and mismatches).
    return hmac.compare_digest(expected.encode("ascii"),
                               given.encode("utf-8", "surrogatepass"))
