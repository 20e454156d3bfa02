"""The HTTP skeleton: waitress in a daemon thread, JSON errors, slow clients, `serve`."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Site, post

from cometwatch.config import ServerConfig, load_config
from cometwatch.web.app import create_app
from cometwatch.web.context import SiteContext
from cometwatch.web.server import Server, is_loopback, parse_listen


@pytest.fixture
def context(site: Site, tmp_path: Path) -> Iterator[SiteContext]:
    site.write("posts/hello.md", post("title: Hello"))
    site.commit()
    config_file = tmp_path / "webhooks.toml"
    config_file.write_text(f'[repository]\npath = "{site.root}"\n'
                           f'[state]\npath = "{tmp_path / "state.db"}"\n')
    ctx = SiteContext.open(load_config(str(config_file), secrets=False),
                           server=ServerConfig(workspace="site"))
    yield ctx
    ctx.close()


@pytest.fixture
def server(context: SiteContext) -> Iterator[Server]:
    with Server(create_app(context), "127.0.0.1", 0, threads=1) as running:
        yield running


def test_port_zero_binds_a_free_port_and_reports_it(server: Server) -> None:
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"


def test_an_unknown_route_is_a_json_404_not_an_html_page(server: Server) -> None:
    answer = httpx.get(f"{server.url}/nothing/here")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert answer.json() == {"error": {"code": "not_found", "message": "Not found."}}


def test_a_wrong_method_is_a_json_405_with_allow(server: Server, context: SiteContext) -> None:
    answer = httpx.post(f"{server.url}/api/v1/workspaces/site/health")
    assert answer.status_code in (404, 405)
    assert answer.json()["error"]["code"] in ("not_found", "method_not_allowed")


def test_stop_closes_the_socket_and_the_thread(context: SiteContext) -> None:
    running = Server(create_app(context), "127.0.0.1", 0)
    running.start()
    port = running.port
    running.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


def test_a_port_in_use_is_a_one_line_error(server: Server, context: SiteContext) -> None:
    from cometwatch.web.server import ServerError

    with pytest.raises(ServerError, match=r"cannot listen on 127\.0\.0\.1"):
        Server(create_app(context), "127.0.0.1", server.port).start()


def test_a_slow_client_holds_no_worker_thread(server: Server) -> None:
    # One worker thread: a client dribbling its request line must not keep it from others.
    slow = socket.create_connection(("127.0.0.1", server.port))
    try:
        slow.sendall(b"GET /api/v1/wor")
        for _ in range(3):
            slow.sendall(b"k")
            answer = httpx.get(f"{server.url}/nothing", timeout=5)
            assert answer.status_code == 404
    finally:
        slow.close()


def test_an_oversized_header_block_is_refused_before_the_app(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        head = raw.recv(200)
    assert head.startswith((b"HTTP/1.1 431", b"HTTP/1.0 431"))


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:8750", ("127.0.0.1", 8750)),
    ("[::1]:0", ("::1", 0)),
    ("localhost:80", ("localhost", 80)),
    ("0.0.0.0:65535", ("0.0.0.0", 65535)),
])
def test_listen_addresses_parse(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["8750", ":8750", "::1:8750", "host:port", "h:65536", "h:-1"])
def test_bad_listen_addresses_say_why(text: str) -> None:
    with pytest.raises(ValueError):
        parse_listen(text)


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.0.2.1", False), ("example.org", False)])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def _serve(config: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "COMETWATCH_CONFIG"}
    return subprocess.Popen([sys.executable, "-m", "cometwatch", "--config", str(config),
                             "serve", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


@pytest.mark.process
def test_serve_takes_a_baseline_serves_and_stops_on_sigterm(site: Site, tmp_path: Path) -> None:
    site.write("posts/hello.md", post("title: Hello"))
    site.commit()
    config_file = tmp_path / "webhooks.toml"
    config_file.write_text(f'[repository]\npath = "{site.root}"\n'
                           f'[state]\npath = "{tmp_path / "state.db"}"\n')
    process = _serve(config_file, "--listen", "127.0.0.1:0")
    try:
        assert process.stdout is not None
        baseline = process.stdout.readline()
        assert "took the baseline" in baseline and "nothing is sent" in baseline
        line = process.stdout.readline()
        assert "serving 'site'" in line, line
        port = int(re.search(r"on http://127\.0\.0\.1:(\d+):", line).group(1))  # type: ignore[union-attr]
        answer = httpx.get(f"http://127.0.0.1:{port}/nothing")
        assert answer.status_code == 404
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err


@pytest.mark.process
def test_serve_refuses_a_public_address_unless_asked(site: Site, tmp_path: Path) -> None:
    site.commit()
    config_file = tmp_path / "webhooks.toml"
    config_file.write_text(f'[repository]\npath = "{site.root}"\n'
                           f'[state]\npath = "{tmp_path / "state.db"}"\n')
    process = _serve(config_file, "--listen", "0.0.0.0:0")
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "not a loopback address" in err and "--public" in err
    assert len(err.strip().splitlines()) == 1


def test_json_bodies_are_utf8(server: Server) -> None:
    answer = httpx.get(f"{server.url}/é")
    assert json.loads(answer.content.decode("utf-8"))["error"]["code"] == "not_found"


def test_many_idle_connections_leave_the_server_answering(server: Server) -> None:
    # 150 clients that connect and send half a request line hold no worker (one thread here)
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(150)]
    try:
        for raw in idle:
            raw.sendall(b"GET /api/v1/wor")
        for _ in range(5):
            assert httpx.get(f"{server.url}/nothing", timeout=10).status_code == 404
    finally:
        for raw in idle:
            raw.close()


def test_a_request_cut_off_midway_is_dropped_without_a_trace(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"GET /api/v1/workspaces/site/health HTTP/1.1\r\nHost: x\r\nContent-")
    assert httpx.get(f"{server.url}/nothing", timeout=10).status_code == 404


def test_garbage_instead_of_http_gets_a_400_not_a_hang(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")
        head = raw.recv(100)
    assert head.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")) or head == b""


def test_a_port_in_use_leaves_no_worker_thread_behind(server: Server,
                                                      context: SiteContext) -> None:
    import threading

    from cometwatch.web.server import ServerError

    before = {t.name for t in threading.enumerate() if t.name.startswith("waitress-")}
    with pytest.raises(ServerError):
        Server(create_app(context), "127.0.0.1", server.port, threads=3).start()
    after = {t.name for t in threading.enumerate() if t.name.startswith("waitress-")}
    assert after <= before
