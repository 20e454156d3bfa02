"""Stopping the HTTP server while clients are mid-request, many times over: no thread may touch
a socket (or the loop's trigger pipe) after another has closed it. That race showed as waitress
"Bad file descriptor" errors at the teardown of the web tests."""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest
from testing import wait_for

from cometwatch.web.server import Server

BODY = b"x" * 200_000  # bigger than a socket buffer: the loop flushes it while a worker waits


def answer(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def hammer(port: int, stop: threading.Event, answered: list[int]) -> None:
    """Keep-alive requests until told to stop; a refused or cut connection opens a new one."""
    while not stop.is_set():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            while not stop.is_set():
                connection.request("GET", "/")
                connection.getresponse().read()
                answered.append(1)
        except (OSError, http.client.HTTPException):
            pass  # the server went away under us: the point of the test
        finally:
            connection.close()


@pytest.fixture
def thread_failures() -> Iterator[list[str]]:
    """Exceptions that escaped any thread during the test."""
    failures: list[str] = []
    before = threading.excepthook
    threading.excepthook = lambda info: failures.append(f"{info.thread}: {info.exc_value!r}")
    try:
        yield failures
    finally:
        threading.excepthook = before


def test_stopping_under_concurrent_connections_touches_no_closed_socket(
        caplog: pytest.LogCaptureFixture, thread_failures: list[str]) -> None:
    caplog.set_level(logging.INFO, logger="waitress")
    for _ in range(25):
        server = Server(answer, "127.0.0.1", 0, threads=2)
        server.start()
        loop = server._thread
        assert loop is not None
        stop, answered = threading.Event(), []
        clients = [threading.Thread(target=hammer, args=(server.port, stop, answered))
                   for _ in range(4)]
        for client in clients:
            client.start()
        wait_for(lambda: len(answered) >= 3, "the first answers", timeout=60)  # noqa: B023
        server.stop(timeout=30)
        stop.set()
        for client in clients:
            client.join(30)
        assert not loop.is_alive(), "the loop thread outlived stop()"
        assert not any(client.is_alive() for client in clients)
    # Queue-depth and cancelled-task warnings are waitress saying what stop() did; an error, an
    # exception in a trigger thunk or a bad descriptor is a thread touching a closed socket.
    troubles = [r.getMessage() for r in caplog.records
                if r.levelno >= logging.ERROR or "exception" in r.getMessage().lower()
                or "descriptor" in r.getMessage().lower()]
    assert troubles == []
    assert thread_failures == []
    assert not [t.name for t in threading.enumerate() if t.name.startswith("waitress-")]


def test_stop_twice_and_stop_before_start_are_no_ops() -> None:
    server = Server(answer, "127.0.0.1", 0)
    server.stop()
    server.start()
    server.stop()
    server.stop()
