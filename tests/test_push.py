"""POST /hooks/push on a real server on 127.0.0.1: each forge's signed push pokes, pings and
other refs answer green, bad signatures are refused and logged without the body, oversized
and slow bodies, and a burst of pushes against the daemon's real Fetcher."""

from __future__ import annotations

import logging
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Site, post
from test_forges import HEADERS, SECRET, push_body

from cometwatch.config import Config, Secret, ServerConfig, load_config
from cometwatch.forges import ECHO_LIMIT, Forge
from cometwatch.web.app import create_app
from cometwatch.web.context import SiteContext
from cometwatch.web.push import MAX_BODY
from cometwatch.web.server import Server

ALL_SECRETS = tuple((forge.value, Secret(SECRET)) for forge in Forge)


class Pokes:
    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.count += 1


def write_config(tmp_path: Path, repository: Path, extra: str = "") -> Config:
    config_file = tmp_path / "webhooks.toml"
    config_file.write_text(f'[repository]\npath = "{repository}"\n{extra}'
                           f'[state]\npath = "{tmp_path / "state.db"}"\n')
    return load_config(str(config_file), secrets=False)


@pytest.fixture
def config(site: Site, tmp_path: Path) -> Config:
    site.write("posts/hello.md", post("title: Hello"))
    site.commit()
    return write_config(tmp_path, site.root)


def serving(config: Config, poke: Callable[[], None] | None,
            secrets: tuple[tuple[str, Secret], ...] = ALL_SECRETS,
            threads: int = 2) -> Iterator[Server]:
    context = SiteContext.open(config, poke=poke,
                               server=ServerConfig(workspace="site", push_secrets=secrets))
    try:
        with Server(create_app(context), "127.0.0.1", 0, threads=threads) as running:
            yield running
    finally:
        context.close()


@pytest.fixture
def pokes() -> Pokes:
    return Pokes()


@pytest.fixture
def server(config: Config, pokes: Pokes) -> Iterator[Server]:
    yield from serving(config, pokes)


def send(server: Server, headers: dict[str, str], body: bytes) -> httpx.Response:
    return httpx.post(f"{server.url}/hooks/push", headers=headers, content=body, timeout=10)


@pytest.mark.parametrize("forge", list(Forge), ids=[f.value for f in Forge])
def test_a_signed_push_to_the_watched_branch_pokes_once(server: Server, pokes: Pokes,
                                                        forge: Forge) -> None:
    body = push_body(forge, "refs/heads/main")
    answer = send(server, HEADERS[forge](body), body)
    assert answer.status_code == 202, answer.text
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.json()["forge"] == forge.value
    assert answer.json()["result"] == "fetch"
    assert pokes.count == 1


@pytest.mark.parametrize("forge", list(Forge), ids=[f.value for f in Forge])
@pytest.mark.parametrize("ref", ["refs/heads/feature", "refs/tags/v1.0"])
def test_a_push_to_another_ref_answers_green_and_does_not_poke(
        server: Server, pokes: Pokes, forge: Forge, ref: str) -> None:
    body = push_body(forge, ref)
    answer = send(server, HEADERS[forge](body), body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "other-ref"
    assert "main" in answer.json()["note"]
    assert pokes.count == 0


@pytest.mark.parametrize("forge", [Forge.GITHUB, Forge.GITLAB, Forge.GITEA],
                         ids=lambda f: f.value)
@pytest.mark.parametrize(("ref", "shown"), [
    ("refs/heads/" + "x" * 2_000_000, "refs/heads/" + "x" * (ECHO_LIMIT - 11) + "…"),
    ("refs/heads/a\nb\r\x00\x1b[31m\u2028", "refs/heads/a\\u000ab\\u000d\\u0000"
     "\\u001b[31m\\u2028"),
], ids=["2MB", "control"])
def test_a_pushed_ref_is_echoed_short_and_with_control_characters_escaped(
        server: Server, pokes: Pokes, forge: Forge, ref: str, shown: str,
        caplog: pytest.LogCaptureFixture) -> None:
    body = push_body(forge, ref)
    with caplog.at_level(logging.DEBUG, logger="cometwatch.push"):
        answer = send(server, HEADERS[forge](body), body)
    assert answer.status_code == 200, answer.text[:200]
    note = answer.json()["note"]
    assert note == f"push to {shown}; only refs/heads/main is watched"
    assert len(answer.content) < 2 * ECHO_LIMIT * 6 and pokes.count == 0
    assert all(shown in r.getMessage() and "\n" not in r.getMessage() for r in caplog.records
               if r.name == "cometwatch.push")


@pytest.mark.parametrize(("forge", "event"), [(Forge.GITHUB, "ping"),
                                              (Forge.BITBUCKET_SERVER, "diagnostics:ping")])
def test_a_signed_ping_answers_green_and_does_not_poke(server: Server, pokes: Pokes,
                                                       forge: Forge, event: str) -> None:
    body = b'{"zen":"Keep it logically awesome.","hook_id":42}'
    answer = send(server, HEADERS[forge](body, event=event), body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "ping"
    assert pokes.count == 0


@pytest.mark.parametrize("forge", list(Forge), ids=[f.value for f in Forge])
def test_a_bad_signature_is_401_and_logged_without_the_body(
        server: Server, pokes: Pokes, forge: Forge, caplog: pytest.LogCaptureFixture) -> None:
    body = push_body(forge)[:-1] + b', "needle": "BODY-NEEDLE"}'
    caplog.set_level(logging.INFO, "cometwatch.push")
    answer = send(server, HEADERS[forge](body, secret="not the secret"), body)
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"]["code"] == "unauthorized"
    assert pokes.count == 0
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "refused" in logged and forge.value in logged
    assert "BODY-NEEDLE" not in logged and SECRET not in logged


@pytest.mark.parametrize("forge", list(Forge), ids=[f.value for f in Forge])
def test_a_missing_signature_is_401(server: Server, pokes: Pokes, forge: Forge) -> None:
    body = push_body(forge)
    headers = HEADERS[forge](body)
    for name in ("X-Hub-Signature-256", "X-Hub-Signature", "X-Gitea-Signature",
                 "X-Forgejo-Signature", "X-Gogs-Signature", "X-Gitlab-Token"):
        headers.pop(name, None)
    answer = send(server, headers, body)
    assert answer.status_code == 401
    assert pokes.count == 0


def test_a_body_changed_after_signing_is_401(server: Server, pokes: Pokes) -> None:
    body = push_body(Forge.GITHUB, "refs/heads/feature")
    headers = HEADERS[Forge.GITHUB](body)
    forged = push_body(Forge.GITHUB, "refs/heads/main")
    assert send(server, headers, forged).status_code == 401
    assert pokes.count == 0


def test_a_forge_without_a_configured_secret_is_401_naming_it(
        config: Config, pokes: Pokes) -> None:
    for running in serving(config, pokes, secrets=(("github", Secret(SECRET)),)):
        body = push_body(Forge.GITLAB)
        answer = send(running, HEADERS[Forge.GITLAB](body), body)
        assert answer.status_code == 401
        assert "gitlab" in answer.json()["error"]["message"]
        # GitHub's own secret does not verify a Gitea request that also carries its headers.
        body = push_body(Forge.GITEA)
        assert send(running, HEADERS[Forge.GITEA](body), body).status_code == 401
    assert pokes.count == 0


def test_forgejo_is_verified_with_the_gitea_secret_when_it_has_none(
        config: Config, pokes: Pokes) -> None:
    for running in serving(config, pokes, secrets=(("gitea", Secret(SECRET)),)):
        body = push_body(Forge.FORGEJO)
        assert send(running, HEADERS[Forge.FORGEJO](body), body).status_code == 202
    assert pokes.count == 1


def test_an_expired_secret_no_longer_verifies(config: Config, pokes: Pokes) -> None:
    secrets = (("github", Secret(SECRET, expires_at=time.time() - 1)),)
    for running in serving(config, pokes, secrets=secrets):
        body = push_body(Forge.GITHUB)
        assert send(running, HEADERS[Forge.GITHUB](body), body).status_code == 401


def test_a_request_no_forge_sent_is_400(server: Server, pokes: Pokes) -> None:
    answer = send(server, {"Content-Type": "application/json"}, b'{"ref":"refs/heads/main"}')
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "unknown_sender"
    assert pokes.count == 0


def test_a_verified_payload_that_cannot_be_read_is_400(server: Server, pokes: Pokes) -> None:
    body = b"this is not JSON"
    answer = send(server, HEADERS[Forge.GITHUB](body), body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"
    assert pokes.count == 0


def test_get_is_a_json_405(server: Server) -> None:
    answer = httpx.get(f"{server.url}/hooks/push")
    assert answer.status_code == 405
    assert answer.json()["error"]["code"] == "method_not_allowed"


def test_a_body_over_the_limit_is_413_by_its_content_length(server: Server,
                                                            pokes: Pokes) -> None:
    body = b'{"ref":"refs/heads/main","pad":"' + b"x" * MAX_BODY + b'"}'
    answer = send(server, HEADERS[Forge.GITHUB](body), body)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"
    assert pokes.count == 0


def test_a_chunked_body_over_the_limit_is_413_while_reading(server: Server,
                                                            pokes: Pokes) -> None:
    body = b'{"ref":"refs/heads/main","pad":"' + b"x" * MAX_BODY + b'"}'

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds on what is read
        for start in range(0, len(body), 65536):
            yield body[start:start + 65536]

    answer = httpx.post(f"{server.url}/hooks/push", headers=HEADERS[Forge.GITHUB](body),
                        content=chunks(), timeout=30)
    assert answer.status_code == 413
    assert pokes.count == 0


def test_a_body_at_the_limit_is_read(server: Server, pokes: Pokes) -> None:
    head, tail = b'{"ref":"refs/heads/main","pad":"', b'"}'
    body = head + b"x" * (MAX_BODY - len(head) - len(tail)) + tail
    assert len(body) == MAX_BODY
    assert send(server, HEADERS[Forge.GITHUB](body), body).status_code == 202
    assert pokes.count == 1


def test_a_slow_sender_holds_no_worker(config: Config, pokes: Pokes) -> None:
    body = push_body(Forge.GITHUB)
    headers = HEADERS[Forge.GITHUB](body)
    for running in serving(config, pokes, threads=1):
        slow = socket.create_connection(("127.0.0.1", running.port))
        try:
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            slow.sendall(f"POST /hooks/push HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}"
                         f"\r\n{head}\r\n".encode() + body[:5])  # then nothing more
            # The one worker thread answers others while that body is still coming.
            for _ in range(3):
                assert send(running, headers, body).status_code == 202
            slow.sendall(body[5:])
            slow.settimeout(10)
            assert slow.recv(64).startswith(b"HTTP/1.1 202")
        finally:
            slow.close()
    assert pokes.count == 4


def test_under_serve_a_push_is_answered_but_nothing_fetches(config: Config) -> None:
    for running in serving(config, None):
        body = push_body(Forge.GITHUB)
        answer = send(running, HEADERS[Forge.GITHUB](body), body)
        assert answer.status_code == 202
        assert "nothing fetches" in answer.json()["note"]


# -- coalescing against the daemon's real Fetcher -------------------------------------------

def test_a_burst_of_50_pushes_gives_one_fetch_in_flight_and_at_most_one_queued(
        tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from cometwatch.daemon import Fetcher
    from cometwatch.gitrepo import Repository
    from cometwatch.process import Wakeup

    site.write("posts/a.md", post("title: A"))
    site.commit()
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(site.root), str(origin)], check=True)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    config = write_config(tmp_path, clone, 'remote = "origin"\nfetch_interval = "1h"\n')

    real_fetch = Repository.fetch
    started: list[threading.Event] = [threading.Event() for _ in range(3)]
    release: list[threading.Event] = [threading.Event() for _ in range(3)]
    state = {"calls": 0, "running": 0, "most": 0}
    lock = threading.Lock()

    def gated_fetch(self: Repository, remote: str, branch: str) -> None:
        with lock:
            n = state["calls"]
            state["calls"] += 1
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
        started[min(n, 2)].set()
        release[min(n, 2)].wait(30)
        try:
            real_fetch(self, remote, branch)
        finally:
            with lock:
                state["running"] -= 1

    monkeypatch.setattr(Repository, "fetch", gated_fetch)
    fetcher = Fetcher(config, "main", Wakeup())
    fetcher.start()
    try:
        assert started[0].wait(30)  # the first, periodic fetch is in flight and held
        for running in serving(config, fetcher.kick, threads=4):
            body = push_body(Forge.GITHUB)
            headers = HEADERS[Forge.GITHUB](body)
            with httpx.Client(base_url=running.url, timeout=10) as client:
                answers = [client.post("/hooks/push", headers=headers, content=body)
                           for _ in range(50)]
        assert [a.status_code for a in answers] == [202] * 50
        assert fetcher.queued  # fifty pushes, one fetch waiting
        release[0].set()
        assert started[1].wait(30)  # the one queued fetch runs
        assert not fetcher.queued  # and nothing waits behind it
        with lock:
            assert (state["calls"], state["most"]) == (2, 1)
    finally:
        for gate in release:
            gate.set()
        fetcher.stop()
        fetcher._thread.join(30)
    assert not started[2].is_set()
