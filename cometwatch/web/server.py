"""The HTTP server: the only module that imports waitress.

waitress reads each request whole (headers and body, spilling a large body to a temporary file)
in its one event-loop thread before a worker thread sees it, so a slow client holds a
connection, never a worker. Its loop runs in a daemon thread. `stop()` shuts down in the order
waitress's own shutdown path takes (workers first, sockets after), so no thread ever touches a
socket that another has closed: a worker finishing a response writes to its channel and pulls
the loop's trigger (a pipe); closed under it, that is EBADF, or worse a write into whatever file
took the freed descriptor number.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from waitress import wasyncore
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ThreadedTaskDispatcher

from cometwatch.errors import CometwatchError

log = logging.getLogger("cometwatch.web")

WsgiApp = Callable[..., Any]

THREADS = 4  # two cores: more workers only queue on the GIL
CONNECTIONS = 200  # open connections before waitress stops accepting (the backlog waits)
HEADER_BYTES = 64 * 1024  # request line + headers: a long path past this is a 431
BODY_BYTES = 26 * 1024 * 1024  # forges send push payloads of up to 25 MB
IDLE_TIMEOUT = 30.0  # seconds a connection may sit with no byte in either direction


class ServerError(CometwatchError):
    """The listening socket could not be opened (address in use, not allowed, unknown)."""


class Server:
    """A WSGI app served on host:port from a daemon thread. Port 0 takes a free port: `port`
    is the bound one after `start()`."""

    def __init__(self, app: WsgiApp, host: str, port: int, threads: int = THREADS) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._threads = threads
        self._server: Any = None  # waitress's stubs lack effective_port, _map, trigger
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            return
        # waitress starts its worker threads before it binds: when binding fails they would
        # live on, idle, for the rest of the process. Given our own dispatcher, we end them.
        dispatcher = ThreadedTaskDispatcher()
        dispatcher.set_thread_count(self._threads)
        try:
            server = create_server(
                self.app, _dispatcher=dispatcher, host=self.host, port=self.port,
                threads=self._threads,
                connection_limit=CONNECTIONS, max_request_header_size=HEADER_BYTES,
                max_request_body_size=BODY_BYTES, channel_timeout=IDLE_TIMEOUT,
                cleanup_interval=min(IDLE_TIMEOUT, 10), asyncore_use_poll=True,
                ident="cometwatch", expose_tracebacks=False, clear_untrusted_proxy_headers=True,
                # Our own log says what matters; waitress's would print each dropped client.
                log_socket_errors=False)
        except (OSError, ValueError) as exc:
            dispatcher.shutdown(cancel_pending=True, timeout=5)
            raise ServerError(f"cannot listen on {self.host}:{self.port}: {exc}") from exc
        if not isinstance(server, BaseWSGIServer):  # several sockets: one host gives one
            server.close()
            dispatcher.shutdown(cancel_pending=True, timeout=5)
            raise ServerError(f"{self.host}: names several addresses; listen on one")
        self._server = server
        self.port = int(self._server.effective_port)
        self._thread = threading.Thread(target=self._run, name="cometwatch-http", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self._server is not None
        try:
            self._server.run()
        except Exception:  # the loop itself failed: say so, the process goes on
            log.exception("the HTTP server stopped")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let the workers finish what they hold (cancelling what waits), then
        close every socket inside the loop, which ends it. All within `timeout` seconds."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._server = self._thread = None
        deadline = time.monotonic() + timeout
        # Each closing runs as a thunk in the loop's thread: only that thread polls the sockets.
        self._in_loop(server, lambda: wasyncore.dispatcher.close(server))  # the listening one
        # Workers finish while the loop still runs: it flushes their answers, reads their
        # trigger pulls. Once they are gone, nothing but the loop holds a socket.
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=_left(deadline))
        self._in_loop(server, lambda: wasyncore.close_all(server._map))  # an empty map: it ends
        thread.join(_left(deadline))
        if thread.is_alive():  # never close from here: that is the race this order avoids
            log.warning("the HTTP server's loop did not stop within %.0f s", timeout)

    @staticmethod
    def _in_loop(server: Any, thunk: Callable[[], None]) -> None:
        with contextlib.suppress(OSError):  # the loop has closed its trigger already
            server.trigger.pull_trigger(thunk)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def parse_listen(text: str) -> tuple[str, int]:
    """"HOST:PORT" (an IPv6 host in brackets: "[::1]:8750") → (host, port). ValueError names
    what is wrong."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host:
        raise ValueError(f"{text!r}: not HOST:PORT (for example 127.0.0.1:8750)")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError(f"{text!r}: an IPv6 address goes in brackets, as [::1]:8750")
    if not (port_text.isascii() and port_text.isdigit()) or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"{text!r}: the port is not a number from 0 to 65535")
    return host, int(port_text)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses no other machine reaches."""
    from cometwatch.netpolicy import loopback_host

    return loopback_host(host)
