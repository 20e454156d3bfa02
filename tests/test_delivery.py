"""The HTTP edge against a real receiver on 127.0.0.1 (and httpx.MockTransport for the few
failures a local server cannot produce): one signed request, its answer as an Attempt."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from receiver import (
    RECEIVER_SECRET,
    Answer,
    Receiver,
    unused_port,
    verify_with_node,
    verify_with_php,
)
from standardwebhooks.webhooks import Webhook as StandardWebhook
from standardwebhooks.webhooks import WebhookVerificationError
from testing import Ran, run_cli

from cometwatch import __version__
from cometwatch.config import Secret, Webhook
from cometwatch.delivery import KEEP, Sender
from cometwatch.outbox import Attempt
from cometwatch.redaction import credential_header

pytest_plugins = ["receiver"]

BODY = (b'{"event":"content.published","occurred_at":"2025-05-03T12:00:00Z","data":'
        b'{"type":"posts","id":"7K4p9xQ2mR","slug":"my-first-post"}}')
EVENT = "content.published"
EVENT_ID = "evt_0123456789abcdefghijkl"
T0 = 1_750_000_000.0


def hook(url: str, **changes: Any) -> Webhook:
    return replace(Webhook(name="h", url=url, secrets=(Secret(RECEIVER_SECRET),)), **changes)


@pytest.fixture
def sender() -> Any:
    made = Sender()
    yield made
    made.close()


def send(sender: Sender, webhook: Webhook, event_id: str = EVENT_ID) -> Attempt:
    return sender.send(webhook, event_id, EVENT, BODY)


# -- a request as the spec has it -------------------------------------------------------------

def test_a_2xx_is_success_and_carries_every_header_the_spec_names(
        receiver: Receiver, sender: Sender) -> None:
    receiver.script("/hook", Answer(202, body=b'{"queued":true}'))
    outcome = send(sender, hook(receiver.url))
    assert (outcome.ok, outcome.code, outcome.error) == (True, 202, None)
    assert outcome.answer == b'{"queued":true}' and not outcome.disable
    [arrival] = receiver.arrivals
    assert arrival.method == "POST" and arrival.body == BODY
    assert arrival.verified  # CometCMS's Python verifier
    assert arrival.headers["content-type"] == "application/json"
    assert arrival.headers["user-agent"] == f"cometwatch/{__version__}"
    assert (arrival.event, arrival.event_id) == (EVENT, EVENT_ID)
    assert "webhook-signature" not in arrival.headers  # Standard Webhooks only when asked


def test_cometcms_nodejs_verifier_accepts_a_request_we_sent(
        receiver: Receiver, sender: Sender) -> None:
    send(sender, hook(receiver.url))
    [arrival] = receiver.arrivals
    verdict = verify_with_node(arrival.body, RECEIVER_SECRET, arrival.signature)
    if verdict is None:
        pytest.skip("node is not installed")
    assert verdict is True
    assert verify_with_node(arrival.body + b" ", RECEIVER_SECRET, arrival.signature) is False


def test_cometcms_php_verifier_accepts_a_request_we_sent(
        receiver: Receiver, sender: Sender) -> None:
    send(sender, hook(receiver.url))
    [arrival] = receiver.arrivals
    verdict = verify_with_php(arrival.body, RECEIVER_SECRET, arrival.signature)
    if verdict is None:
        pytest.skip("php is not installed")
    assert verdict is True


def test_a_webhooks_own_headers_are_sent_but_never_replace_ours(
        receiver: Receiver, sender: Sender) -> None:
    headers = (("Authorization", "Bearer abc"), ("X-CometCMS-Signature", "sha256=forged"),
               ("Content-Type", "text/plain"))
    assert send(sender, hook(receiver.url, headers=headers)).ok
    [arrival] = receiver.arrivals
    assert arrival.headers["authorization"] == "Bearer abc"
    assert arrival.verified and arrival.headers["content-type"] == "application/json"


CREDENTIALS = {"Authorization": "Bearer abc-credential", "Private-Token": "gitlab-credential",
               "Cookie": "session=cookie-credential", "X-Api-Key": "key-credential",
               "X-Auth-Token": "token-credential", "X-Client-Secret": "secret-credential"}


def test_an_attempt_keeps_the_headers_sent_with_every_credential_masked(
        receiver: Receiver, sender: Sender) -> None:
    own = (*CREDENTIALS.items(), ("X-Build-Branch", "main"))
    attempt = send(sender, hook(receiver.url, headers=own, signing=("cometcms", "standard")))
    assert attempt.ok and attempt.headers is not None
    [arrival] = receiver.arrivals
    kept = dict(attempt.headers)
    for name in CREDENTIALS:
        assert kept[name] == "***"
    assert not any(value in str(attempt.headers) for value in CREDENTIALS.values())
    assert RECEIVER_SECRET not in str(attempt.headers)
    # everything else exactly as it arrived, the signatures (HMACs) included
    arrived = {name.lower(): value for name, value in arrival.headers.items()}
    for name, value in kept.items():
        if name not in CREDENTIALS:
            assert arrived[name.lower()] == value, name
    assert kept["X-CometCMS-Signature"].startswith("sha256=")
    assert kept["webhook-signature"].startswith("v1,")
    assert kept["X-Build-Branch"] == "main" and kept["Content-Length"] == str(len(BODY))
    assert {"Host", "User-Agent", "X-CometCMS-Event-Id"} <= kept.keys()


def test_an_attempt_refused_before_sending_keeps_no_headers(sender: Sender) -> None:
    attempt = send(sender, hook("http://192.0.2.1/hook"))  # plain http off loopback: refused
    assert attempt.error and attempt.error.startswith("refused") and attempt.headers == ()


def test_an_attempt_that_gets_no_answer_still_keeps_what_it_sent(sender: Sender) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: the connection is refused
        attempt = send(sender, hook(f"http://127.0.0.1:{port}/hook"))
    assert attempt.code is None and attempt.headers
    assert dict(attempt.headers)["Host"] == f"127.0.0.1:{port}"


@pytest.mark.parametrize(("name", "masked"), [
    ("Authorization", True), ("proxy-authorization", True), ("Cookie", True),
    ("X-Api-Key", True), ("X-Auth-Token", True), ("X-Client-Secret", True),
    ("X-Password", True), ("X-Session-Id", True), ("Private-Token", True),
    ("X-CometCMS-Signature", False), ("webhook-signature", False), ("Content-Type", False),
    ("X-Build-Branch", False), ("User-Agent", False), ("X-CometCMS-Event-Id", False),
])
def test_which_header_names_are_taken_for_credentials(name: str, masked: bool) -> None:
    assert credential_header(name) is masked


def test_every_retry_carries_the_same_event_id_and_a_valid_signature(
        receiver: Receiver, sender: Sender) -> None:
    receiver.script("/hook", 500, 502, 200)
    outcomes = [send(sender, hook(receiver.url)) for _ in range(3)]
    assert [o.code for o in outcomes] == [500, 502, 200]
    assert {a.event_id for a in receiver.arrivals} == {EVENT_ID}
    assert all(a.verified for a in receiver.arrivals)


def test_requests_to_one_webhook_share_a_kept_alive_connection(
        receiver: Receiver, sender: Sender) -> None:
    webhook = hook(receiver.url)
    assert all(send(sender, webhook).ok for _ in range(3))
    assert len({a.peer for a in receiver.arrivals}) == 1


def test_many_threads_sending_at_once_all_arrive_signed(receiver: Receiver,
                                                        sender: Sender) -> None:
    webhooks = [hook(receiver.url_for(f"/h{n}"), name=f"h{n}") for n in range(3)]
    outcomes: list[Attempt] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        for m in range(5):
            outcome = sender.send(webhooks[n % 3], f"evt_{n}_{m}", EVENT, BODY)
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 40 and all(o.ok for o in outcomes)
    arrivals = receiver.wait_for(40)
    assert all(a.verified for a in arrivals)
    assert len({a.event_id for a in arrivals}) == 40


def test_a_webhook_whose_url_changes_on_reload_is_sent_to_the_new_url(
        receiver: Receiver, sender: Sender) -> None:
    assert send(sender, hook(receiver.url_for("/old"))).ok
    assert send(sender, hook(receiver.url_for("/new"))).ok
    assert [a.path for a in receiver.arrivals] == ["/old", "/new"]


# -- answers ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "error"), [
    (400, "HTTP 400 Bad Request"), (404, "HTTP 404 Not Found"),
    (500, "HTTP 500 Internal Server Error"), (502, "HTTP 502 Bad Gateway"),
    (599, "HTTP 599 Whatever"),
])
def test_any_non_2xx_answer_is_a_failure_named_in_one_line(
        receiver: Receiver, sender: Sender, status: int, error: str) -> None:
    receiver.script("/hook", Answer(status, body=b"nope"))
    outcome = send(sender, hook(receiver.url))
    assert (outcome.ok, outcome.code, outcome.error) == (False, status, error)
    assert outcome.answer == b"nope" and outcome.retry_after is None and not outcome.disable


def test_410_gone_asks_for_the_webhook_to_be_disabled(receiver: Receiver,
                                                      sender: Sender) -> None:
    receiver.script("/hook", 410)
    outcome = send(sender, hook(receiver.url))
    assert outcome.disable and outcome.code == 410 and not outcome.ok


@pytest.mark.parametrize("value", ["disable", "Disable", " DISABLE "])
def test_a_webhook_delivery_disable_header_asks_for_it_too(
        receiver: Receiver, sender: Sender, value: str) -> None:
    receiver.script("/hook", Answer(400, {"Webhook-Delivery": value}))
    assert send(sender, hook(receiver.url)).disable


def test_other_webhook_delivery_values_ask_for_nothing(receiver: Receiver,
                                                       sender: Sender) -> None:
    receiver.script("/hook", Answer(400, {"Webhook-Delivery": "pause"}))
    assert not send(sender, hook(receiver.url)).disable


@pytest.mark.parametrize(("status", "header", "seconds"), [
    (429, "120", 120.0), (503, "30", 30.0), (429, "86400", 6 * 3600.0), (429, "soon", None),
    (500, "120", None),  # honoured on 429 and 503 only
])
def test_retry_after_is_read_on_429_and_503(receiver: Receiver, sender: Sender, status: int,
                                            header: str, seconds: float | None) -> None:
    receiver.script("/hook", Answer(status, {"Retry-After": header}))
    outcome = send(sender, hook(receiver.url))
    assert outcome.retry_after == seconds and not outcome.ok


def test_a_retry_after_date_is_read_against_the_senders_clock(receiver: Receiver) -> None:
    sender = Sender(clock=lambda: T0)
    try:
        receiver.script("/hook", Answer(503, {"Retry-After": "Sun, 15 Jun 2025 15:16:40 GMT"}))
        outcome = send(sender, hook(receiver.url))
    finally:
        sender.close()
    assert outcome.retry_after == 600.0  # T0 is 15:06:40 GMT
    assert outcome.error == "HTTP 503 Service Unavailable (Retry-After 600s)"


def test_a_redirect_is_not_followed_and_its_location_is_named(receiver: Receiver,
                                                              sender: Sender) -> None:
    elsewhere = receiver.url_for("/elsewhere")
    receiver.script("/hook", Answer(301, {"Location": elsewhere}))
    outcome = send(sender, hook(receiver.url))
    assert outcome.code == 301 and not outcome.ok
    assert outcome.error == f"HTTP 301: redirect to {elsewhere} not followed"
    assert receiver.requests("/elsewhere") == []


# -- the network misbehaving ------------------------------------------------------------------

def test_a_hanging_endpoint_times_out_at_the_webhooks_timeout(receiver: Receiver,
                                                              sender: Sender) -> None:
    receiver.script("/hook", Answer(hang=True))
    outcome = send(sender, hook(receiver.url, timeout=0.2, connect_timeout=0.2))
    assert (outcome.code, outcome.error) == (None, "timed out after 0.2s")
    assert len(receiver.arrivals) == 1


def test_an_endpoint_trickling_its_answer_is_cut_at_the_deadline(receiver: Receiver,
                                                                 sender: Sender) -> None:
    # A byte every 0.02 s never trips a per-read timeout of 0.2 s; the answer's head alone
    # would take 6 s. Only a deadline on every socket wait ends it at the webhook's timeout.
    receiver.script("/hook", Answer(200, {"X-Slow": "y" * 300}, trickle=0.02))
    outcome = send(sender, hook(receiver.url, timeout=0.2, connect_timeout=0.2))
    assert (outcome.code, outcome.error) == (None, "timed out after 0.2s")


def cut_while_waiting(receiver: Receiver, sender: Sender, webhook: Webhook) -> Attempt:
    """Send in a thread, abort once the request has arrived, return its Attempt."""
    outcomes: list[Attempt] = []
    thread = threading.Thread(target=lambda: outcomes.append(send(sender, webhook)))
    thread.start()
    try:
        receiver.wait_for(1, timeout=20)
        assert sender.abort() == 1
        thread.join(5)  # at once, not at the 60 s timeout
        assert not thread.is_alive()
    finally:
        receiver.release()
        thread.join(60)
    return outcomes[0]


def test_abort_cuts_a_request_waiting_for_its_answer_at_once(receiver: Receiver,
                                                             sender: Sender) -> None:
    receiver.script("/hook", Answer(hang=True))
    outcome = cut_while_waiting(receiver, sender, hook(receiver.url, timeout=60.0))
    assert outcome.code is None and outcome.error
    assert send(sender, hook(receiver.url)).ok  # the sender goes on, on a new connection
    assert sender.abort() == 1  # the idle pooled connection; nothing waits on it


def test_a_refused_connection_is_an_outcome_not_an_exception(sender: Sender) -> None:
    outcome = send(sender, hook(f"http://127.0.0.1:{unused_port()}/hook"))
    assert (outcome.code, outcome.error, outcome.ok) == (None, "connection refused", False)


def test_an_endless_answer_is_read_to_64_kib_and_its_first_4_kib_kept(
        receiver: Receiver, sender: Sender) -> None:
    # Reading it all would end in a timeout; the cap makes it a success.
    receiver.script("/hook", Answer(200, endless=True))
    outcome = send(sender, hook(receiver.url, timeout=10.0))
    assert (outcome.ok, outcome.error) == (True, None)
    assert outcome.answer == b"x" * KEEP


def test_a_connection_closed_without_an_answer_is_said_so(receiver: Receiver,
                                                          sender: Sender) -> None:
    receiver.script("/hook", Answer(raw=b""))
    outcome = send(sender, hook(receiver.url))
    assert outcome.code is None
    assert outcome.error == "the endpoint closed the connection without answering"


@pytest.mark.parametrize("raw", [b"garbage\r\n\r\n", b"HTTP/1.1 200 OK\r\nX: " + b"a" * 300_000])
def test_a_malformed_or_oversized_answer_head_is_a_protocol_error(
        receiver: Receiver, sender: Sender, raw: bytes) -> None:
    receiver.script("/hook", Answer(raw=raw))
    outcome = send(sender, hook(receiver.url, timeout=5.0))
    assert outcome.code is None and (outcome.error or "").startswith("protocol error")


# -- Standard Webhooks and secret rotation ----------------------------------------------------

WHSEC_NEW = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
WHSEC_OLD = "whsec_" + "b2xkLXNlY3JldC1rZXktMTIzNDU2Nzg5MA=="


def standard_verifies(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    try:
        StandardWebhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def test_standard_webhooks_headers_verify_with_the_reference_library(
        receiver: Receiver, sender: Sender) -> None:
    webhook = hook(receiver.url, secrets=(Secret(WHSEC_NEW),),
                   signing=("cometcms", "standard"))
    before = int(time.time())
    assert send(sender, webhook).ok
    [arrival] = receiver.arrivals
    assert arrival.headers["webhook-id"] == EVENT_ID
    assert before <= int(arrival.headers["webhook-timestamp"]) <= int(time.time())
    assert standard_verifies(WHSEC_NEW, arrival.body, dict(arrival.headers))
    assert not standard_verifies(WHSEC_OLD, arrival.body, dict(arrival.headers))
    # The CometCMS header is there too, keyed with the whsec_ text as CometCMS would.
    assert arrival.signature.startswith("sha256=")


def test_standard_only_signing_sends_no_cometcms_signature(receiver: Receiver,
                                                           sender: Sender) -> None:
    webhook = hook(receiver.url, secrets=(Secret(WHSEC_NEW),), signing=("standard",))
    assert send(sender, webhook).ok
    [arrival] = receiver.arrivals
    assert "x-cometcms-signature" not in arrival.headers
    assert arrival.event_id == EVENT_ID and "webhook-signature" in arrival.headers


def test_during_a_rotation_each_live_secret_signs_and_the_newest_signs_the_cometcms_header(
        sender: Sender) -> None:
    with Receiver(WHSEC_NEW) as receiver:
        later = time.time() + 3600
        webhook = hook(receiver.url, signing=("cometcms", "standard"),
                       secrets=(Secret(WHSEC_NEW), Secret(WHSEC_OLD, expires_at=later)))
        assert send(sender, webhook).ok
        [arrival] = receiver.arrivals
        headers = dict(arrival.headers)
        assert len(headers["webhook-signature"].split(" ")) == 2
        assert standard_verifies(WHSEC_NEW, arrival.body, headers)
        assert standard_verifies(WHSEC_OLD, arrival.body, headers)  # not yet switched
        assert arrival.verified  # the receiver holds the newest secret


def test_an_expired_secret_no_longer_signs(sender: Sender) -> None:
    with Receiver(WHSEC_NEW) as receiver:
        webhook = hook(receiver.url, signing=("standard",),
                       secrets=(Secret(WHSEC_NEW), Secret(WHSEC_OLD,
                                                          expires_at=time.time() - 1)))
        assert send(sender, webhook).ok
        headers = dict(receiver.arrivals[0].headers)
        assert len(headers["webhook-signature"].split(" ")) == 1
        assert standard_verifies(WHSEC_NEW, receiver.arrivals[0].body, headers)
        assert not standard_verifies(WHSEC_OLD, receiver.arrivals[0].body, headers)


def test_expiry_is_judged_by_the_senders_clock() -> None:
    webhook = hook("http://127.0.0.1:9/hook", signing=("standard",),
                   secrets=(Secret(WHSEC_NEW), Secret(WHSEC_OLD, expires_at=T0 + 10)))
    before = Sender(clock=lambda: T0).headers(webhook, EVENT_ID, EVENT, BODY)
    after = Sender(clock=lambda: T0 + 10).headers(webhook, EVENT_ID, EVENT, BODY)
    assert len(before["webhook-signature"].split()) == 2
    assert len(after["webhook-signature"].split()) == 1
    assert before["webhook-timestamp"] == str(int(T0))


# -- failures only a mock can stage -----------------------------------------------------------

def raising(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc
    return httpx.MockTransport(handler)


def refused() -> Exception:
    exc = httpx.ConnectError("[Errno 111] Connection refused")
    exc.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return exc


@pytest.mark.parametrize(("exc", "error"), [
    (refused(), "connection refused"),
    (httpx.ConnectTimeout("t"), "connection timed out after 5s"),
    (httpx.ReadTimeout("t"), "timed out after 15s"),
    (httpx.WriteTimeout("t"), "timed out after 15s"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."),
     "the endpoint closed the connection without answering"),
    (httpx.ReadError("peer went away\nsecond line"), "connection lost: peer went away second line"),
    (httpx.ConnectError("no route"), "cannot connect to hooks.example: no route"),
])
def test_transport_errors_become_one_line_outcomes(exc: Exception, error: str) -> None:
    sender = Sender(transport=raising(exc))
    outcome = send(sender, hook("https://hooks.example/hook"))
    assert (outcome.code, outcome.error, outcome.answer) == (None, error, b"")
    assert outcome.duration >= 0 and "\n" not in error


def test_a_redirect_without_location_is_still_not_followed() -> None:
    sender = Sender(transport=httpx.MockTransport(lambda request: httpx.Response(307)))
    outcome = send(sender, hook("https://hooks.example/hook"))
    assert (outcome.code, outcome.error) == (307, "HTTP 307: redirect not followed")


def test_an_invalid_whsec_secret_is_an_outcome_that_never_shows_it() -> None:
    secret = "whsec_abcde"  # five base64 digits: no whole byte count
    sender = Sender(transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    outcome = send(sender, hook("https://hooks.example/hook", secrets=(Secret(secret),),
                                signing=("standard",)))
    assert outcome.code is None and "whsec_" in (outcome.error or "")
    assert secret not in repr(outcome)


def test_a_header_value_that_cannot_be_sent_is_an_outcome() -> None:
    sender = Sender(transport=httpx.MockTransport(lambda request: httpx.Response(200)))
    outcome = send(sender, hook("https://hooks.example/hook", headers=(("X-Name", "naïve ☃"),)))
    assert outcome.code is None and (outcome.error or "").startswith("request not sent")


# -- cometwatch send-test ---------------------------------------------------------------------

def write_config(folder: Path, url: str) -> Path:
    path = folder / "webhooks.toml"
    path.write_text(f'[[webhooks]]\nname = "site"\nurl = "{url}"\nsecret_env = "SITE_SECRET"\n')
    return path


def send_test(config: Path, name: str = "site") -> Ran:
    return run_cli("--config", str(config), "send-test", name,
                   env={"SITE_SECRET": RECEIVER_SECRET})


def test_send_test_sends_a_signed_test_event_and_prints_the_answer(
        tmp_path: Path, receiver: Receiver) -> None:
    receiver.script("/hook", Answer(200, body=b'{"ok":true}'))
    result = send_test(write_config(tmp_path, receiver.url))
    assert result.returncode == 0, result.stderr
    [arrival] = receiver.arrivals
    payload = json.loads(arrival.body)
    # CometCMS's "Run now": no content event, so a build hook on updates does not rebuild.
    assert payload["event"] == "webhook.manual" == arrival.event
    assert payload["data"]["manual"] is True
    assert set(payload["data"]["triggered_by"]) == {"id", "username", "role"}
    assert payload["data"]["triggered_by"]["role"] == "cli"
    assert arrival.verified and arrival.event_id.startswith("evt_")
    assert arrival.event_id in result.stdout
    assert "200 OK" in result.stdout and '{"ok":true}' in result.stdout
    assert RECEIVER_SECRET not in result.stdout + result.stderr


def test_send_test_gives_a_fresh_event_id_each_time(tmp_path: Path, receiver: Receiver) -> None:
    config = write_config(tmp_path, receiver.url)
    send_test(config)
    send_test(config)
    ids = [a.event_id for a in receiver.arrivals]
    assert len(ids) == 2 and ids[0] != ids[1]


def test_send_test_exits_1_on_a_failure_with_the_answer(tmp_path: Path,
                                                         receiver: Receiver) -> None:
    receiver.script("/hook", Answer(500, body=b"boom"))
    result = send_test(write_config(tmp_path, receiver.url))
    assert result.returncode == 1
    assert "HTTP 500 Internal Server Error" in result.stdout and "boom" in result.stdout


def test_send_test_exits_1_when_nothing_answers(tmp_path: Path) -> None:
    result = send_test(write_config(tmp_path, f"http://127.0.0.1:{unused_port()}/hook"))
    assert result.returncode == 1 and "connection refused" in result.stdout


def test_check_probe_lines_up_send_tests_labels_with_its_own(
        tmp_path: Path, receiver: Receiver) -> None:
    import re

    site = tmp_path / "site"
    subprocess.run(["git", "init", "-q", "-b", "main", str(site)], check=True)
    subprocess.run(["git", "-C", str(site), "commit", "-q", "--allow-empty", "-m", "a"],
                   check=True)
    config = write_config(tmp_path, receiver.url)
    config.write_text(f'[repository]\npath = "{site}"\n\n' + config.read_text())
    result = run_cli("--config", str(config), "check", "--probe",
                     env={"SITE_SECRET": RECEIVER_SECRET})
    assert result.returncode == 0, result.stderr
    labelled = [line for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert {"answer", "event"} <= {line.split()[0] for line in labelled}
    for line in labelled:
        label = re.match(r"\S+ +", line)
        assert label is not None and label.end() == 12, line


def test_send_test_of_an_unknown_webhook_is_a_usage_error(tmp_path: Path,
                                                          receiver: Receiver) -> None:
    result = send_test(write_config(tmp_path, receiver.url), name="nope")
    assert result.returncode == 2
    assert "no webhook named 'nope' (known: site)" in result.stderr
    assert receiver.arrivals == []
