"""The body and its signatures, byte for byte against what CometCMS's PHP produced."""

from __future__ import annotations

import base64
import json
from calendar import timegm
from pathlib import Path
from time import strptime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook as StandardWebhook
from testing import examples

from cometwatch.payload import (
    ContentEvent,
    _php_json,
    body,
    cometcms_signature,
    encode,
    standard_signature,
)

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "cometcms-payloads.json").read_text(encoding="utf-8"))
IDS = [v["event"] for v in VECTORS]


def test_the_vectors_cover_escapes_non_ascii_and_astral_characters() -> None:
    bodies = "".join(v["body"] for v in VECTORS)
    assert "\\u00fc" in bodies and "\\ud83d\\ude00" in bodies and '\\"' in bodies
    assert "/" in bodies and "\\/" not in bodies


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_encode_reproduces_cometcms_bytes(vector: dict[str, Any]) -> None:
    data = vector["data"]
    got = encode(vector["event"], vector["occurred_at"], data["type"], data["id"], data["slug"])
    assert got == vector["body"].encode("utf-8")


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_a_content_event_gives_the_same_bytes(vector: dict[str, Any]) -> None:
    data = vector["data"]
    moment = timegm(strptime(vector["occurred_at"], "%Y-%m-%dT%H:%M:%SZ"))
    event = ContentEvent("evt_x", vector["event"], moment, data["type"], data["id"],
                         data["slug"], "c0ffee", "posts/x.md")
    assert body(event) == vector["body"].encode("utf-8")


@pytest.mark.parametrize("vector", VECTORS, ids=IDS)
def test_cometcms_signature_reproduces_php_hash_hmac(vector: dict[str, Any]) -> None:
    assert cometcms_signature(vector["body"].encode("utf-8"), vector["secret"]) == \
        vector["signature"]


@pytest.mark.parametrize(("text", "escaped"), [
    ("a/b", "a/b"),  # JSON_UNESCAPED_SLASHES
    ("\u2028\u2029", "\\u2028\\u2029"),  # PHP escapes them too, being non-ASCII
    ("\x01\x1f", "\\u0001\\u001f"),  # lower-case hex, as PHP
    ("\b\f\n\r\t", "\\b\\f\\n\\r\\t"),
    ("\x7f", "\x7f"),  # DEL is ASCII: PHP leaves it (Python's json would escape it)
    ("\\u007f", "\\\\u007f"),  # a backslash then "u007f" is text, not a DEL
    ("\\\x7f", "\\\\\x7f"),
    ("<&'>", "<&'>"),  # no JSON_HEX_* flags in CometCMS's call
    ("\U0001d11e", "\\ud834\\udd1e"),
])
def test_escapes_follow_php_json_encode_with_unescaped_slashes(text: str, escaped: str) -> None:
    raw = encode("content.updated", "2025-01-01T00:00:00Z", "posts", text, "s")
    assert f'"id":"{escaped}"'.encode() in raw
    assert raw.isascii()


def php_json_string(text: str) -> str:
    """PHP's json_encode of a string with JSON_UNESCAPED_SLASHES, rule by rule from
    ext/json/json_encoder.c (its escape charmap, lower-case hex, UTF-16 pairs)."""
    short = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
             "\t": "\\t"}
    out = []
    for char in text:
        code = ord(char)
        if char in short:
            out.append(short[char])
        elif code < 0x20 or 0x80 <= code < 0x10000:
            out.append(f"\\u{code:04x}")
        elif code >= 0x10000:
            code -= 0x10000
            out.append(f"\\u{0xd800 + (code >> 10):04x}\\u{0xdc00 + (code & 0x3ff):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


@given(st.text(max_size=40))
def test_any_text_is_encoded_as_php_would(text: str) -> None:
    raw = encode("content.updated", "2025-01-01T00:00:00Z", text, text, text)
    field = php_json_string(text)
    assert raw.decode("ascii") == ('{"event":"content.updated","occurred_at":'
                                   f'"2025-01-01T00:00:00Z","data":{{"type":{field},'
                                   f'"id":{field},"slug":{field}}}}}')


def test_keys_come_in_cometcms_order_and_the_json_is_compact() -> None:
    raw = encode("content.published", "2025-05-03T12:00:00Z", "posts", "7K4p9xQ2mR",
                 "my-first-post")
    assert raw == (b'{"event":"content.published","occurred_at":"2025-05-03T12:00:00Z",'
                   b'"data":{"type":"posts","id":"7K4p9xQ2mR","slug":"my-first-post"}}')


# -- Standard Webhooks: checked with the reference library ------------------------------------

RAW = VECTORS[0]["body"].encode()


@pytest.mark.parametrize("secret", [
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",  # the Standard Webhooks spec's example secret
    "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode(),
    "whsec_" + base64.b64encode(b"0123456789abcdef0").decode().rstrip("="),  # unpadded
])
def test_standard_signature_verifies_with_the_reference_library(secret: str) -> None:
    import time

    stamp = int(time.time())
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(stamp),
               "webhook-signature": standard_signature(RAW, secret, "evt_1", stamp)}
    StandardWebhook(secret).verify(RAW, headers)  # raises when it does not verify


def test_a_plain_secret_is_its_utf8_bytes_for_standard_webhooks() -> None:
    import time

    stamp = int(time.time())
    signature = standard_signature(RAW, "plain-secret-é", "evt_1", stamp)
    StandardWebhook("plain-secret-é".encode()).verify(
        RAW, {"webhook-id": "evt_1", "webhook-timestamp": str(stamp),
              "webhook-signature": signature})


def test_standard_signature_covers_the_id_and_the_timestamp() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    one = standard_signature(RAW, secret, "evt_1", 1_700_000_000)
    assert one.startswith("v1,")
    assert one != standard_signature(RAW, secret, "evt_2", 1_700_000_000)
    assert one != standard_signature(RAW, secret, "evt_1", 1_700_000_001)


@pytest.mark.parametrize(("args", "expected"), [
    (("2026-12-01T09:00:00Z", None, "alice", "cli"),
     '{"event":"webhook.manual","occurred_at":"2026-12-01T09:00:00Z","data":{"manual":true,'
     '"triggered_by":{"id":null,"username":"alice","role":"cli"}}}'),
    (("2026-12-01T09:00:00Z", "7", "jos\u00e9/admin", None),
     '{"event":"webhook.manual","occurred_at":"2026-12-01T09:00:00Z","data":{"manual":true,'
     '"triggered_by":{"id":"7","username":"jos\\u00e9/admin","role":null}}}'),
])
def test_the_manual_event_has_cometcms_run_now_bytes(args: tuple[Any, ...],
                                                      expected: str) -> None:
    # WebhooksController::run sends data {"manual": true, "triggered_by": {id, username,
    # role}} through json_encode(…, JSON_UNESCAPED_SLASHES): true/null, \uXXXX, / unescaped.
    from cometwatch.payload import encode_manual

    assert encode_manual(*args) == expected.encode("ascii")


@settings(max_examples=examples(1200))
@given(st.lists(st.lists(st.characters() | st.sampled_from(
    ["\x7f", "\\", "\\\x7f", '"', "/", "\udcff", "\U0001f600", "\u2028"])).map("".join),
    min_size=5, max_size=5))
def test_the_body_is_what_json_encoding_the_payload_gives(values: list[str]) -> None:
    name, occurred_at, collection, entry_id, slug = values
    assert encode(name, occurred_at, collection, entry_id, slug) == _php_json({
        "event": name, "occurred_at": occurred_at,
        "data": {"type": collection, "id": entry_id, "slug": slug}})
