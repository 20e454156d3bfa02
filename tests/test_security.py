"""Transport safety (where a request may go, TLS) and secrets that never show."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from receiver import RECEIVER_SECRET, Answer, Receiver, unused_port
from testing import Ran, run_cli, wait_for

from cometwatch.config import Secret, Webhook
from cometwatch.delivery import Sender
from cometwatch.outbox import Attempt

pytest_plugins = ["receiver"]

BODY = b'{"event":"content.updated","occurred_at":"2025-05-03T12:00:00Z","data":{}}'


def hook(url: str, **changes: Any) -> Webhook:
    return replace(Webhook(name="h", url=url, secrets=(Secret(RECEIVER_SECRET),)), **changes)


class Resolver:
    """A DNS of our own: names → addresses, every lookup recorded."""

    def __init__(self, answers: dict[str, Sequence[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        return self.answers.get(host, ["127.0.0.1"])


def send_with(resolver: Resolver | None, webhook: Webhook) -> Attempt:
    sender = Sender(resolve=resolver)
    try:
        return sender.send(webhook, "evt_sec", "content.updated", BODY)
    finally:
        sender.close()


# -- where a request may go -------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://169.254.169.254/latest/meta-data/",
    "https://[fe80::1]/hook",
    "https://[fd00:ec2::254]/latest/meta-data/",
    "https://[::ffff:169.254.169.254]/hook",
    "http://169.254.169.254/hook",
])
def test_link_local_and_metadata_addresses_are_refused_without_a_connection(url: str) -> None:
    resolver = Resolver({})
    outcome = send_with(resolver, hook(url, allow_http=True))
    assert outcome.code is None
    assert "link-local or cloud metadata" in (outcome.error or "")
    assert resolver.asked == []


# The metadata address as IPv6 spells it: IPv4-mapped, IPv4-compatible, NAT64 (well-known and
# local-use prefixes), 6to4 and Teredo (whose client address is stored inverted).
EMBEDDED_METADATA = ["::ffff:169.254.169.254", "::169.254.169.254", "64:ff9b::a9fe:a9fe",
                     "64:ff9b:1:a9fe:a9:fe00::", "2002:a9fe:a9fe::1",
                     "2001:0:4136:e378:8000:63bf:5601:5601"]


@pytest.mark.parametrize("address", ["169.254.169.254", "169.254.0.1", "fe80::1%eth0",
                                     "fd00:ec2::254", *EMBEDDED_METADATA])
def test_a_name_resolving_to_a_metadata_address_is_refused_when_connecting(
        address: str) -> None:
    resolver = Resolver({"metadata.example": [address]})
    outcome = send_with(resolver, hook("https://metadata.example/hook"))
    assert outcome.code is None
    assert outcome.error == (f"refused: metadata.example resolves to {address}, a link-local "
                             "or cloud metadata address")
    assert resolver.asked == ["metadata.example"]


@pytest.mark.parametrize("address", EMBEDDED_METADATA)
def test_a_metadata_address_written_as_ipv6_is_refused_in_a_url(address: str) -> None:
    resolver = Resolver({})
    outcome = send_with(resolver, hook(f"https://[{address}]/hook"))
    assert "link-local or cloud metadata" in (outcome.error or "")
    assert resolver.asked == []


@pytest.mark.parametrize("address", ["64:ff9b::8.8.8.8", "2002:0808:0808::1", "::1",
                                     "2001:db8::1"])
def test_ipv6_that_embeds_an_ordinary_address_is_not_forbidden(address: str) -> None:
    import ipaddress

    from cometwatch.netpolicy import forbidden

    assert not forbidden(ipaddress.ip_address(address))


def test_of_the_addresses_a_name_has_only_an_allowed_one_is_connected_to(
        receiver: Receiver) -> None:
    # The metadata address comes first; the request still reaches the receiver, by the one
    # address that was checked, with the URL's name as its Host.
    resolver = Resolver({"hooks.example": ["169.254.169.254", "127.0.0.1"]})
    url = receiver.url_for("/hook", host="hooks.example")
    outcome = send_with(resolver, hook(url, allow_http=True))
    assert outcome.ok, outcome.error
    [arrival] = receiver.arrivals
    assert arrival.headers["host"] == f"hooks.example:{receiver.port}" and arrival.verified


def test_plain_http_to_a_name_that_is_not_loopback_is_refused_before_resolving() -> None:
    resolver = Resolver({})
    outcome = send_with(resolver, hook("http://hooks.example/hook"))
    assert outcome.code is None and resolver.asked == []
    assert outcome.error == ("refused: plain http:// to hooks.example, which is not a loopback "
                             "address (use https://, or set allow_http = true)")


def test_plain_http_to_localhost_is_refused_when_it_resolves_elsewhere() -> None:
    resolver = Resolver({"localhost": ["10.1.2.3"]})
    outcome = send_with(resolver, hook(f"http://localhost:{unused_port()}/hook"))
    assert outcome.code is None
    assert outcome.error == ("refused: plain http:// to localhost (10.1.2.3), which is not a "
                             "loopback address (set allow_http = true)")


def test_plain_http_to_localhost_resolving_to_loopback_is_sent(receiver: Receiver) -> None:
    resolver = Resolver({"localhost": ["127.0.0.1"]})
    outcome = send_with(resolver, hook(receiver.url_for("/hook", host="localhost")))
    assert outcome.ok and receiver.arrivals[0].verified


def test_allow_http_permits_plain_http_to_other_addresses_but_never_to_metadata() -> None:
    resolver = Resolver({"intranet.example": ["169.254.10.10"]})
    outcome = send_with(resolver, hook("http://intranet.example/hook", allow_http=True))
    assert "link-local or cloud metadata" in (outcome.error or "")


def test_an_unresolvable_name_is_one_line() -> None:
    outcome = send_with(None, hook("https://nonexistent.invalid/hook", timeout=5.0))
    assert outcome.code is None
    assert (outcome.error or "").startswith("cannot resolve nonexistent.invalid")


def test_a_name_that_takes_forever_to_resolve_times_out_at_the_connect_timeout() -> None:
    stuck = threading.Event()

    def resolve(host: str, port: int) -> Sequence[str]:
        stuck.wait(60)  # a resolver that never answers (released below)
        return ["127.0.0.1"]

    sender = Sender(resolve=resolve)
    try:
        outcome = sender.send(hook("https://slow-dns.example/hook", connect_timeout=0.2),
                              "evt_dns", "content.updated", BODY)
    finally:
        stuck.set()
        sender.close()
    assert (outcome.code, outcome.error) == (None, "connection timed out after 0.2s")


def test_a_pooled_connection_is_resolved_and_checked_once(receiver: Receiver) -> None:
    resolver = Resolver({"hooks.example": ["127.0.0.1"]})
    sender = Sender(resolve=resolver)
    webhook = hook(receiver.url_for("/hook", host="hooks.example"), allow_http=True)
    try:
        assert all(sender.send(webhook, f"evt_{n}", "content.updated", BODY).ok
                   for n in range(3))
    finally:
        sender.close()
    assert resolver.asked == ["hooks.example"]


@pytest.mark.parametrize("url", ["ftp://hooks.example/hook", "https://hooks.example:port/",
                                 "https://[::1/", "https://xn--zz/"])
def test_another_scheme_or_a_broken_url_is_refused_as_an_outcome(url: str) -> None:
    outcome = send_with(None, hook(url))
    assert outcome.code is None and (outcome.error or "").startswith("refused")


def test_a_proxy_from_the_environment_is_never_used(receiver: Receiver,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    nowhere = f"http://127.0.0.1:{unused_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
        monkeypatch.setenv(name, nowhere)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    outcome = send_with(None, hook(receiver.url))
    assert outcome.ok, outcome.error
    assert len(receiver.arrivals) == 1


def test_a_cookie_an_endpoint_sets_is_never_sent_back(receiver: Receiver) -> None:
    receiver.script("/hook", Answer(200, {"Set-Cookie": "session=abc123; Path=/"}))
    sender = Sender()
    try:
        for _ in range(2):
            assert sender.send(hook(receiver.url), "evt_sec", "content.updated", BODY).ok
    finally:
        sender.close()
    assert [a.headers.get("cookie") for a in receiver.arrivals] == [None, None]


# -- TLS --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for hooks.example (and nothing else), made by openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=hooks.example", "-addext", "subjectAltName=DNS:hooks.example",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def tls_receiver(certificate: tuple[Path, Path]) -> Iterator[Receiver]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with Receiver(RECEIVER_SECRET, tls=context) as running:
        yield running


def test_https_verifies_against_the_webhooks_ca_bundle_with_the_urls_name_for_sni(
        tls_receiver: Receiver, certificate: tuple[Path, Path]) -> None:
    resolver = Resolver({"hooks.example": ["127.0.0.1"]})
    url = tls_receiver.url_for("/hook", host="hooks.example")
    outcome = send_with(resolver, hook(url, ca_bundle=certificate[0]))
    assert outcome.ok, outcome.error
    [arrival] = tls_receiver.arrivals
    assert arrival.verified and arrival.headers["host"] == f"hooks.example:{tls_receiver.port}"
    assert tls_receiver.server_names == ["hooks.example"]


def test_abort_cuts_an_https_request_waiting_for_its_answer(
        tls_receiver: Receiver, certificate: tuple[Path, Path]) -> None:
    tls_receiver.script("/hook", Answer(hang=True))
    sender = Sender(resolve=Resolver({"hooks.example": ["127.0.0.1"]}))
    webhook = hook(tls_receiver.url_for("/hook", host="hooks.example"), ca_bundle=certificate[0],
                   timeout=60.0)
    outcomes: list[Attempt] = []
    thread = threading.Thread(target=lambda: outcomes.append(
        sender.send(webhook, "evt_sec", "content.updated", BODY)))
    thread.start()
    try:
        tls_receiver.wait_for(1, timeout=20)
        assert sender.abort() == 1
        thread.join(5)
        assert not thread.is_alive()
    finally:
        tls_receiver.release()
        thread.join(60)
        sender.close()
    assert outcomes[0].code is None and outcomes[0].error


def test_a_certificate_no_trusted_authority_signed_is_refused(tls_receiver: Receiver) -> None:
    resolver = Resolver({"hooks.example": ["127.0.0.1"]})
    outcome = send_with(resolver, hook(tls_receiver.url_for("/hook", host="hooks.example")))
    assert outcome.code is None
    assert (outcome.error or "").startswith("TLS certificate of hooks.example not trusted")
    assert tls_receiver.arrivals == []


def test_a_certificate_for_another_name_is_refused(tls_receiver: Receiver,
                                                   certificate: tuple[Path, Path]) -> None:
    resolver = Resolver({"other.example": ["127.0.0.1"]})
    outcome = send_with(resolver, hook(tls_receiver.url_for("/hook", host="other.example"),
                                       ca_bundle=certificate[0]))
    assert outcome.code is None
    assert (outcome.error or "").startswith("TLS certificate of other.example not trusted")
    assert "other.example" in (outcome.error or "") and tls_receiver.arrivals == []


def test_a_missing_ca_bundle_is_one_line(tmp_path: Path) -> None:
    outcome = send_with(None, hook("https://hooks.example/hook",
                                   ca_bundle=tmp_path / "missing.pem"))
    assert outcome.code is None
    assert outcome.error == f"cannot load ca_bundle {tmp_path / 'missing.pem'}: " \
                            "No such file or directory"


# -- secrets never show -----------------------------------------------------------------------

SECRET = "s3cr3t-that-must-never-show-up-anywhere"


def failing_outcomes(receiver: Receiver) -> list[Attempt]:
    sender = Sender(resolve=Resolver({"metadata.example": ["169.254.169.254"]}))
    webhook = hook(receiver.url, secrets=(Secret(SECRET),), signing=("cometcms", "standard"),
                   timeout=0.2, connect_timeout=0.2)  # all fail: the hang times out
    receiver.script("/hook", 500, Answer(302, {"Location": "https://x.example/"}),
                    Answer(hang=True), Answer(raw=b"garbage\r\n\r\n"))
    urls = [receiver.url] * 4 + [f"http://127.0.0.1:{unused_port()}/hook",
                                 "https://metadata.example/hook", "http://hooks.example/"]
    try:
        return [sender.send(replace(webhook, url=url), "evt_x", "content.updated", BODY)
                for url in urls]
    finally:
        sender.close()


@pytest.mark.parametrize(("url", "shown"), [
    ("ftp://deploy:P4SSW0RD@host/b?token=T0KEN", "ftp://***@host/b?token=***"),
    ("htps://deploy:P4SSW0RD@host/b", "htps://***@host/b"),
    ("https://hc-ping.example/8f14e45f-ceea-467f-a0e6-1c0ed0a1b2c3",
     "https://hc-ping.example/***"),
    ("https://hc-ping.example/8f14e45fceea467fa0e61c0ed0a1b2c3/start",
     "https://hc-ping.example/***/…"),
    ("https://discord.example/Ab3dEf6hIj9kLm2nOp5q", "https://discord.example/***"),
    ("https://api.netlify.com/build_hooks/5f1a2b3c4d5e6f7a8b9c0d1e",
     "https://api.netlify.com/build_hooks/…"),
    ("https://x.org/?a=1&b&c=", "https://x.org/?a=***&***&c=***"),
    ("https://x.org/hook#frag-T0KEN", "https://x.org/hook#…"),
    ("https://[::1/hook?token=T0KEN", "https://[::1/hook?token=***"),
    ("example.org/hook?token=T0KEN", "example.org/hook?token=***"),
    ("https://build.example.org/deploy", "https://build.example.org/deploy"),
    ("https://build.example.org", "https://build.example.org"),
])
def test_a_url_is_shown_without_its_credentials(url: str, shown: str) -> None:
    from cometwatch.redaction import redact_url

    assert redact_url(url) == shown


def test_every_url_in_a_line_of_text_is_redacted() -> None:
    from cometwatch.redaction import redact_text

    line = ("fatal: unable to access 'https://bot:ghp_T0KEN@git.example/site.git/': 403; "
            "see http://u:P4SS@other.example/x?k=v")
    assert redact_text(line) == ("fatal: unable to access 'https://***@git.example/site.git': "
                                 "403; see http://***@other.example/x?k=***")


def test_an_error_shows_a_url_in_its_message_without_credentials() -> None:
    from cometwatch.errors import RepositoryError

    error = RepositoryError("git fetch: fatal: could not read from https://bot:PLANTED@g.example/r")
    assert str(error) == "git fetch: fatal: could not read from https://***@g.example/r"


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_log_record_and_its_traceback_are_redacted_in_both_formats(
        fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    import logging

    from cometwatch.cli import setup_logging

    setup_logging(True, fmt)
    log = logging.getLogger("cometwatch.test")
    try:
        raise ValueError("cannot reach https://u:PLANTED-PASSW0RD@h.example/x?t=PLANTED-T0KEN")
    except ValueError:
        log.exception("fetching %s failed", "https://u:PLANTED-PASSW0RD@h.example/")
    err = capsys.readouterr().err
    assert "ValueError" in err and "https://***@h.example/x?t=***" in err
    assert "PLANTED" not in err


def test_no_outcome_carries_the_secret(receiver: Receiver) -> None:
    outcomes = failing_outcomes(receiver)
    assert [o.ok for o in outcomes] == [False] * 7
    assert all(SECRET not in repr(outcome) for outcome in outcomes)


def test_the_secret_is_not_in_a_webhooks_repr() -> None:
    webhook = hook("https://hooks.example/", secrets=(Secret(SECRET),))
    assert SECRET not in repr(webhook) and SECRET not in str(webhook)


@pytest.mark.process
def test_send_test_never_prints_the_secret_even_when_failing(tmp_path: Path) -> None:
    config = tmp_path / "webhooks.toml"
    config.write_text('[[webhooks]]\nname = "site"\n'
                      f'url = "http://127.0.0.1:{unused_port()}/hook"\nsecret_env = "S"\n')
    result = subprocess.run([sys.executable, "-m", "cometwatch", "-v", "--config", str(config),
                             "send-test", "site"], capture_output=True, text=True, timeout=60,
                            env={**os.environ, "S": SECRET})
    assert result.returncode == 1
    assert SECRET not in result.stdout + result.stderr


def test_a_mock_transport_sees_the_secret_only_as_a_signature() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    sender = Sender(transport=httpx.MockTransport(handler))
    sender.send(hook("https://hooks.example/", secrets=(Secret(SECRET),),
                     signing=("cometcms", "standard")), "evt_x", "content.updated", BODY)
    [request] = seen
    assert SECRET not in str(request.url) and SECRET.encode() not in request.content
    assert all(SECRET not in value for value in request.headers.values())


# -- a planted secret and URL password reach no output channel --------------------------------

PLANTED = ("PLANTED-S3CRET-VALUE", "PLANTED-PASSW0RD", "PLANTED-T0KEN", "PLANTED-L0CATION",
           "PLANTED-REM0TE")


@pytest.mark.process
def test_a_planted_secret_and_url_password_reach_no_output_channel(
        tmp_path: Path, receiver: Receiver) -> None:
    import json
    import signal
    import time

    from conftest import Site, post

    site = Site(tmp_path / "site")
    site.write("posts/a.md", post("title: A"))
    site.commit()
    url = receiver.url_for("/hook").replace(
        "http://", "http://deploy:PLANTED-PASSW0RD@") + "?token=PLANTED-T0KEN"
    good = ('[delivery]\nretry_schedule = ["0s"]\n[[webhooks]]\nname = "build"\n'
            f'url = "{url}"\nsecret = "PLANTED-S3CRET-VALUE"\n')
    broken = good.replace("http://deploy", "htps://deploy")
    config = site.root / "webhooks.toml"
    config.write_text(good)
    receiver.script("/hook?token=PLANTED-T0KEN", *[Answer(302, {"Location": "https://x.example/?k=PLANTED-L0CATION"})
                               ] * 2, Answer(500))
    environ = {k: v for k, v in os.environ.items() if k != "COMETWATCH_CONFIG"}
    seen: list[str] = []

    def cometwatch(*args: str, process: bool = False) -> Ran | subprocess.CompletedProcess[str]:
        """In this process (run_cli captures the same stdout, stderr and log records) unless
        `process`: the verbose scans and the daemon stay real processes."""
        result: Ran | subprocess.CompletedProcess[str]
        if process:
            result = subprocess.run([sys.executable, "-m", "cometwatch", *args], cwd=site.root,
                                    capture_output=True, text=True, env=environ, timeout=120)
        else:
            result = run_cli(*args, cwd=site.root)
        seen.append(f"$ {args}\n{result.stdout}{result.stderr}")
        return result

    assert cometwatch("scan").returncode == 0  # the baseline
    site.write("posts/b.md", post("title: B"))
    site.commit()
    cometwatch("-v", "scan", process=True)
    site.write("posts/c.md", post("title: C"))
    site.commit()
    cometwatch("--log-format", "json", "-v", "scan", process=True)
    for args in (("check",), ("status",), ("status", "--json"), ("deliveries",),
                 ("deliveries", "--json"), ("deliveries", "show", "1"),
                 ("deliveries", "show", "1", "--json"), ("webhooks", "list"), ("events",),
                 ("send-test", "build"), ("--log-format", "json", "send-test", "build")):
        cometwatch(*args)
    state_dir = site.root / ".git" / "cometwatch"
    (state_dir / "hook-scan.log").write_text(  # as a cometwatch before redaction wrote it
        f"# cometwatch scan started by post-commit at {time.strftime('%Y-%m-%dT%H:%M:%SZ')}\n"
        f"cometwatch: error: webhooks.toml: webhooks[0].url: not an http(s) URL: '{url}'\n")
    (state_dir / "fetch-failing.json").write_text(json.dumps({
        "since": time.time(), "last_try": time.time(), "error":
        "fatal: unable to access 'https://bot:PLANTED-REM0TE@git.example/site.git/'"}))
    assert "FAILED" in cometwatch("status").stdout
    cometwatch("status", "--json")
    config.write_text(broken)
    for args in (("check",), ("--log-format", "json", "check"), ("scan",), ("status",)):
        assert cometwatch(*args).returncode == 2
    config.write_text(good)
    log = tmp_path / "daemon.log"
    with log.open("w") as out:
        daemon = subprocess.Popen([sys.executable, "-m", "cometwatch", "run"], cwd=site.root,
                                  stdout=out, stderr=subprocess.STDOUT, env=environ)
    try:
        wait_for(lambda: "watching" in log.read_text(), "the daemon watching", timeout=60,
                 alive=lambda: daemon.poll() is None)
        config.write_text(broken)
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in log.read_text(), "the reload refused", timeout=60,
                 alive=lambda: daemon.poll() is None)
    finally:
        daemon.terminate()
        daemon.wait(timeout=30)
    seen.append(log.read_text())
    everything = "\n".join(seen)
    assert "reload refused" in everything and "not an http(s) URL" in everything
    assert "***@" in everything and "redirect to" in everything
    for planted in PLANTED:
        assert planted not in everything, (planted, everything)


_WORD = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
_SECRET = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:", max_size=16).map(
    lambda s: "SECRET" + s)


@given(scheme=st.sampled_from(["https", "http", "ftp", "htps", "git+ssh"]),
       user=st.one_of(st.none(), _SECRET), password=st.one_of(st.none(), _SECRET),
       host=_WORD, port=st.one_of(st.none(), st.integers(1, 65535)),
       path=st.lists(st.one_of(_WORD, _SECRET), max_size=4),
       query=st.lists(st.tuples(_WORD, _SECRET), max_size=3), fragment=st.booleans())
def test_no_credential_in_a_url_survives_redaction(
        scheme: str, user: str | None, password: str | None, host: str, port: int | None,
        path: list[str], query: list[tuple[str, str]], fragment: bool) -> None:
    from cometwatch.redaction import redact_text, redact_url

    userinfo = (user or "u") + (f":{password}" if password else "") + "@" \
        if user or password else ""
    url = f"{scheme}://{userinfo}{host}{f':{port}' if port else ''}"
    if path and path[0].startswith("SECRET"):
        path[0] = "8f14e45fceea467fa0e61c0ed0a1b2c3"  # only a token-looking first segment hides
    url += "".join(f"/{segment}" for segment in path)
    url += ("?" + "&".join(f"{k}={v}" for k, v in query)) if query else ""
    url += "#SECRET-fragment" if fragment else ""
    for shown in (redact_url(url), redact_text(f"failed: '{url}' (403)")):
        assert "SECRET" not in shown and "8f14e45f" not in shown, (url, shown)
        assert host in shown


@given(st.text())
def test_redaction_takes_any_text(text: str) -> None:
    from cometwatch.redaction import redact_text, redact_url

    redact_url(text)
    assert "://" in redact_text(text) or "://" not in text
