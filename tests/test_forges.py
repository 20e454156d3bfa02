"""forges: each forge's real header set detected, its documented signature scheme verified,
and what a verified payload asks (push to the watched branch, another ref, a ping)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cometwatch.forges import (
    Ask,
    Forge,
    Request,
    classify,
    detect,
    lower_keys,
    secret_names,
    sign,
    verify,
)

SECRET = "It's a Secret to Everybody"
BODY = b'{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567"}'


def hmac_hex(secret: str, body: bytes) -> str:
    """HMAC-SHA256 as every HMAC forge documents it, written out here independently."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def github_headers(body: bytes, secret: str = SECRET, event: str = "push") -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": "GitHub-Hookshot/044aadd",
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "X-GitHub-Event": event, "X-GitHub-Hook-ID": "292430182",
            "X-GitHub-Hook-Installation-Target-ID": "79929171",
            "X-GitHub-Hook-Installation-Target-Type": "repository",
            "X-Hub-Signature": "sha1=" + hmac.new(secret.encode(), body, "sha1").hexdigest(),
            "X-Hub-Signature-256": "sha256=" + hmac_hex(secret, body)}


def gitea_headers(body: bytes, secret: str = SECRET, event: str = "push") -> dict[str, str]:
    digest = hmac_hex(secret, body)
    # Gitea sends its own headers, Gogs' and GitHub's, all with the same HMAC.
    return {"Content-Type": "application/json", "User-Agent": "Go-http-client/1.1",
            "X-GitHub-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473",
            "X-GitHub-Event": event, "X-GitHub-Event-Type": event,
            "X-Gitea-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473",
            "X-Gitea-Event": event, "X-Gitea-Event-Type": event, "X-Gitea-Signature": digest,
            "X-Gogs-Delivery": "f6266f16-1bf3-46a5-9ea4-602e06ead473",
            "X-Gogs-Event": event, "X-Gogs-Event-Type": event, "X-Gogs-Signature": digest,
            "X-Hub-Signature": "sha256=" + digest, "X-Hub-Signature-256": "sha256=" + digest}


def forgejo_headers(body: bytes, secret: str = SECRET, event: str = "push") -> dict[str, str]:
    digest = hmac_hex(secret, body)
    return {**gitea_headers(body, secret, event), "X-Forgejo-Delivery": "5a1c",
            "X-Forgejo-Event": event, "X-Forgejo-Event-Type": event,
            "X-Forgejo-Signature": digest}


def gogs_headers(body: bytes, secret: str = SECRET, event: str = "push") -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Gogs-Delivery": "a6d1",
            "X-Gogs-Event": event, "X-Gogs-Signature": hmac_hex(secret, body)}


def gitlab_headers(body: bytes, secret: str = SECRET, event: str = "Push Hook") -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": "GitLab/17.5.0",
            "X-Gitlab-Event": event, "X-Gitlab-Token": secret,
            "X-Gitlab-Instance": "https://gitlab.example.org",
            "X-Gitlab-Webhook-UUID": "16b5c3e0-3b1b-4d8e-9a7c-7c7b3b6a1f11",
            "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e"}


def bitbucket_headers(body: bytes, secret: str = SECRET,
                      event: str = "repo:push") -> dict[str, str]:
    return {"Content-Type": "application/json", "User-Agent": "Bitbucket-Webhooks/2.0",
            "X-Event-Key": event, "X-Hook-UUID": "{cbd6f0b6-4b1f-4b5e-8f2c-64a5e5a4b1aa}",
            "X-Request-UUID": "8f9c7a7c-2ef2-4b28-a0a0-25e3b0b2b38c", "X-Attempt-Number": "1",
            "X-Hub-Signature": "sha256=" + hmac_hex(secret, body)}


def bitbucket_server_headers(body: bytes, secret: str = SECRET,
                             event: str = "repo:refs_changed") -> dict[str, str]:
    return {"Content-Type": "application/json; charset=UTF-8",
            "User-Agent": "Atlassian HttpClient 4.0.1 / Bitbucket-8.19.1 (8019001) / Default",
            "X-Event-Key": event, "X-Request-Id": "e4a2a5b9-4a7e-4c5e-8d53-9b3b8b7b2a10",
            "X-Hub-Signature": "sha256=" + hmac_hex(secret, body)}


HEADERS = {Forge.GITHUB: github_headers, Forge.GITEA: gitea_headers,
           Forge.FORGEJO: forgejo_headers, Forge.GOGS: gogs_headers,
           Forge.GITLAB: gitlab_headers, Forge.BITBUCKET: bitbucket_headers,
           Forge.BITBUCKET_SERVER: bitbucket_server_headers}


def push_body(forge: Forge, ref: str = "refs/heads/main") -> bytes:
    """A push payload shaped as each forge documents it (trimmed to what matters)."""
    name = ref.split("/", 2)[2]
    kind = "tag" if ref.startswith("refs/tags/") else "branch"
    payload: dict[str, Any]
    if forge is Forge.BITBUCKET:
        payload = {"push": {"changes": [{"new": {"type": kind, "name": name,
                                                 "target": {"hash": "abc"}},
                                         "old": {"type": kind, "name": name}}]}}
    elif forge is Forge.BITBUCKET_SERVER:
        payload = {"eventKey": "repo:refs_changed", "changes": [
            {"ref": {"id": ref, "displayId": name, "type": kind.upper()},
             "refId": ref, "fromHash": "a" * 40, "toHash": "b" * 40, "type": "UPDATE"}]}
    elif forge is Forge.GITLAB:
        payload = {"object_kind": "push" if kind == "branch" else "tag_push", "ref": ref,
                   "checkout_sha": "c" * 40}
    else:
        payload = {"ref": ref, "before": "a" * 40, "after": "b" * 40}
    return json.dumps(payload).encode()


def request_of(headers: dict[str, str]) -> Request:
    found = detect(lower_keys(headers.items()))
    assert found is not None
    return found


@pytest.mark.parametrize("forge", list(Forge), ids=[f.value for f in Forge])
def test_each_forges_real_header_set_is_detected_as_that_forge(forge: Forge) -> None:
    body = push_body(forge)
    assert request_of(HEADERS[forge](body)).forge is forge


@pytest.mark.parametrize("forge", list(Forge), ids=[f.value for f in Forge])
def test_each_forges_documented_signature_verifies_and_a_wrong_secret_does_not(
        forge: Forge) -> None:
    body = push_body(forge)
    request = request_of(HEADERS[forge](body))
    assert verify(request, [SECRET], body)
    assert verify(request, ["older secret", SECRET], body)  # during a rotation
    assert not verify(request, [SECRET + "x"], body)
    assert not verify(request, [], body)
    if forge is not Forge.GITLAB:  # GitLab's token does not depend on the body
        assert not verify(request, [SECRET], body + b" ")


@pytest.mark.parametrize("forge", list(Forge), ids=[f.value for f in Forge])
def test_our_sign_matches_what_the_forge_sends(forge: Forge) -> None:
    body = push_body(forge)
    request = request_of(HEADERS[forge](body))
    assert request.signature == sign(forge, SECRET, body)


@pytest.mark.parametrize(("forge", "signature", "valid"), [
    (Forge.GITHUB, "SHA256=" + hmac_hex(SECRET, BODY).upper(), True),
    (Forge.GITHUB, f"  sha256={hmac_hex(SECRET, BODY)}\t", True),
    (Forge.GITHUB, hmac_hex(SECRET, BODY), False),  # bare hex is Gitea's form, not GitHub's
    (Forge.GITHUB, "sha1=" + hmac.new(SECRET.encode(), BODY, "sha1").hexdigest(), False),
    (Forge.GITHUB, "sha256=", False),
    (Forge.GITHUB, "", False),
    (Forge.GITHUB, "sha256=" + "é" * 64, False),
    (Forge.GITHUB, "sha256=\udcff", False),
    (Forge.GITEA, hmac_hex(SECRET, BODY).upper(), True),
    (Forge.GITEA, "sha256=" + hmac_hex(SECRET, BODY), False),
    (Forge.GITEA, hmac_hex(SECRET, BODY)[:-1], False),
    (Forge.BITBUCKET, "sha256=" + hmac_hex(SECRET, BODY), True),
    (Forge.BITBUCKET, hmac_hex(SECRET, BODY), False),
    (Forge.GITLAB, SECRET, True),
    (Forge.GITLAB, f" {SECRET} ", True),  # a header value's surrounding space is not the token's
    (Forge.GITLAB, SECRET.upper(), False),  # a token is compared exactly
    (Forge.GITLAB, SECRET[:-1], False),
    (Forge.GITLAB, "", False),
    (Forge.GITLAB, None, False),
])
def test_only_the_exact_signature_form_verifies(forge: Forge, signature: str | None,
                                                valid: bool) -> None:
    assert verify(Request(forge, "push", signature), [SECRET], BODY) is valid


@given(st.binary(max_size=200), st.text(max_size=40), st.text(max_size=80))
def test_verify_never_raises_and_accepts_only_the_hmac_or_token(
        body: bytes, secret: str, signature: str) -> None:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    given_text = signature.strip().lower()
    for forge in Forge:
        accepted = verify(Request(forge, "push", signature), [secret], body)
        if forge is Forge.GITLAB:
            assert accepted is (signature.strip() == secret)
        elif forge in (Forge.GITEA, Forge.FORGEJO, Forge.GOGS):
            assert accepted is (given_text == digest)
        else:
            assert accepted is (given_text == f"sha256={digest}")


@pytest.mark.parametrize(("headers", "forge"), [
    ({"X-Event-Key": "repo:refs_changed", "X-Request-Id": "1"}, Forge.BITBUCKET_SERVER),
    ({"X-Event-Key": "diagnostics:ping", "X-Request-Id": "1"}, Forge.BITBUCKET_SERVER),
    ({"X-Event-Key": "pr:opened", "X-Request-Id": "1"}, Forge.BITBUCKET_SERVER),
    ({"X-Event-Key": "repo:push", "X-Hook-UUID": "{u}"}, Forge.BITBUCKET),
    ({"X-Event-Key": "pullrequest:created", "X-Hook-UUID": "{u}"}, Forge.BITBUCKET),
    ({"X-Event-Key": "issue:created"}, Forge.BITBUCKET),
    ({"x-github-event": "push"}, Forge.GITHUB),  # header names in any case
    ({"X-GITLAB-EVENT": "Push Hook"}, Forge.GITLAB),
    ({"X-Gogs-Event": "push", "X-GitHub-Event": "push"}, Forge.GOGS),
    ({"X-Forgejo-Event": "push", "X-Gitea-Event": "push", "X-Gogs-Event": "push"},
     Forge.FORGEJO),
])
def test_detection_takes_the_most_specific_sender(headers: dict[str, str],
                                                  forge: Forge) -> None:
    assert request_of(headers).forge is forge


@pytest.mark.parametrize("headers", [
    {}, {"Content-Type": "application/json"}, {"X-Hub-Signature-256": "sha256=00"},
    {"User-Agent": "GitHub-Hookshot/1"},
])
def test_a_request_no_forge_sent_is_not_detected(headers: dict[str, str]) -> None:
    assert detect(lower_keys(headers.items())) is None


@pytest.mark.parametrize("forge", list(Forge), ids=[f.value for f in Forge])
@pytest.mark.parametrize(("ref", "ask"), [
    ("refs/heads/main", Ask.FETCH),
    ("refs/heads/feature", Ask.OTHER_REF),
    ("refs/tags/v1.0", Ask.OTHER_REF),
    ("refs/heads/main-old", Ask.OTHER_REF),
])
def test_only_a_push_to_the_watched_branch_asks_for_a_fetch(forge: Forge, ref: str,
                                                           ask: Ask) -> None:
    body = push_body(forge, ref)
    request = request_of(HEADERS[forge](body))
    verdict = classify(request, body, "application/json", "main")
    assert verdict.ask is ask, verdict.note
    assert verdict.note


@pytest.mark.parametrize(("forge", "event"), [
    (Forge.GITHUB, "ping"), (Forge.BITBUCKET_SERVER, "diagnostics:ping"),
    (Forge.GITEA, "ping"),
])
def test_a_ping_is_recognised(forge: Forge, event: str) -> None:
    body = b'{"zen":"Design for failure.","hook_id":1}'
    request = request_of(HEADERS[forge](body, event=event))
    assert classify(request, body, "application/json", "main").ask is Ask.PING


@pytest.mark.parametrize(("forge", "event"), [
    (Forge.GITHUB, "issues"), (Forge.GITHUB, "pull_request"), (Forge.GITEA, "create"),
    (Forge.GITLAB, "Merge Request Hook"), (Forge.BITBUCKET, "pullrequest:created"),
    (Forge.BITBUCKET_SERVER, "pr:opened"),
])
def test_other_events_are_ignored_not_refused(forge: Forge, event: str) -> None:
    body = b'{"action":"opened"}'
    request = request_of(HEADERS[forge](body, event=event))
    assert classify(request, body, "application/json", "main").ask is Ask.IGNORED


def test_a_gitlab_system_hook_counts_only_when_it_is_a_push() -> None:
    push = json.dumps({"event_name": "push", "ref": "refs/heads/main"}).encode()
    other = json.dumps({"event_name": "project_create", "name": "x"}).encode()
    hook = Request(Forge.GITLAB, "System Hook", SECRET)
    assert classify(hook, push, "application/json", "main").ask is Ask.FETCH
    assert classify(hook, other, "application/json", "main").ask is Ask.IGNORED


def test_a_form_encoded_github_payload_is_read() -> None:
    body = urlencode({"payload": push_body(Forge.GITHUB).decode()}).encode()
    request = request_of(github_headers(body))
    assert verify(request, [SECRET], body)  # signed over the form body as sent
    assert classify(request, body, "application/x-www-form-urlencoded",
                    "main").ask is Ask.FETCH


@pytest.mark.parametrize("body", [
    b"", b"not json", b"[1, 2]", b'{"after": "abc"}', b'{"ref": 7}', b"\xff\xfe",
    b"[" * 100000, b"payload=%ZZ",
])
def test_a_verified_payload_that_cannot_be_read_is_malformed(body: bytes) -> None:
    request = Request(Forge.GITHUB, "push", sign(Forge.GITHUB, SECRET, body))
    assert classify(request, body, "application/json", "main").ask is Ask.MALFORMED
    assert classify(request, body, "application/x-www-form-urlencoded",
                    "main").ask is Ask.MALFORMED


def test_with_no_known_branch_any_branch_push_asks_for_a_fetch() -> None:
    body = push_body(Forge.GITHUB, "refs/heads/anything")
    request = request_of(github_headers(body))
    assert classify(request, body, "application/json", None).ask is Ask.FETCH
    tag = push_body(Forge.GITHUB, "refs/tags/v1")
    assert classify(request_of(github_headers(tag)), tag, "application/json",
                    None).ask is Ask.OTHER_REF


def test_forgejo_and_gogs_fall_back_on_the_gitea_secret() -> None:
    assert secret_names(Forge.FORGEJO) == ("forgejo", "gitea")
    assert secret_names(Forge.GOGS) == ("gogs", "gitea")
    assert secret_names(Forge.GITHUB) == ("github",)
