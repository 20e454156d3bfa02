"""The network beneath the HTTP edge: what httpcore connects through, for cometwatch.delivery.

Resolves a host once per connection, checks every address (never link-local or cloud metadata;
only loopback for plain http:// unless allowed) and connects to a checked one. Every socket wait
ends at the current request's deadline (DEADLINE, set by the sender around each request), name
resolution included. Connections are registered so that another thread can cut them
(`Connections.cut`: a stop that cannot wait). `Transport` is the small httpx transport over a
pool of these connections, httpcore's errors turned into httpx's. Only cometwatch.delivery uses
this module.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

# Re-exported for cometwatch.delivery; the family lives in cometwatch.errors.
from cometwatch.errors import DeadlinePassed as DeadlinePassed
from cometwatch.errors import Refused as Refused
from cometwatch.netpolicy import forbidden, loopback

Resolve = Callable[[str, int], Sequence[str]]  # (host, port) → IP addresses, in order of use


DEADLINE: ContextVar[float | None] = ContextVar("cometwatch_delivery_deadline", default=None)


def _left(timeout: float | None) -> float | None:
    """`timeout` shortened to what is left before the current request's deadline."""
    deadline = DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


def system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _resolve_within(resolve: Resolve, host: str, port: int,
                    timeout: float | None) -> Sequence[str]:
    """getaddrinfo takes no timeout: it runs in a thread of its own, left behind if it is still
    looking when the connect timeout ends (a thread per new connection, not per request)."""
    if timeout is None:
        return resolve(host, port)
    found: list[Sequence[str] | Exception] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            found.append(resolve(host, port))
        except Exception as exc:
            found.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, daemon=True, name=f"resolve {host}").start()
    if not done.wait(timeout):
        raise httpcore.ConnectTimeout(f"resolving {host} took longer than {timeout:g}s")
    if isinstance(found[0], Exception):
        raise found[0]
    return found[0]


class Connections:
    """The connections a Sender has open, so that `Sender.abort` can cut them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: set[_DeadlineStream] = set()

    def add(self, stream: _DeadlineStream) -> None:
        with self._lock:
            self._open.add(stream)

    def discard(self, stream: _DeadlineStream) -> None:
        with self._lock:
            self._open.discard(stream)

    def cut(self) -> int:
        with self._lock:
            streams = list(self._open)
        for stream in streams:
            stream.cut()
        return len(streams)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolves once, checks every address, connects only to a checked one."""

    def __init__(self, resolve: Resolve, connections: Connections,
                 loopback_only: bool) -> None:
        self._resolve = resolve
        self._connections = connections
        self._loopback_only = loopback_only
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        try:
            found = _resolve_within(self._resolve, host, port, _left(timeout))
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        allowed: list[str] = []
        refusal = ""
        for text in found:
            address = ipaddress.ip_address(text.partition("%")[0])
            if forbidden(address):
                refusal = refusal or (f"refused: {host} resolves to {text}, a link-local or "
                                      "cloud metadata address")
            elif self._loopback_only and not loopback(address):
                refusal = refusal or (f"refused: plain http:// to {host} ({text}), which is "
                                      "not a loopback address (set allow_http = true)")
            else:
                allowed.append(text)
        if not allowed:
            if refusal:
                raise Refused(refusal)
            raise httpcore.ConnectError(f"cannot resolve {host}: no address")
        failure: Exception | None = None
        for checked in allowed:
            try:
                stream = self._sockets.connect_tcp(checked, port, _left(timeout), local_address,
                                                   socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, self._connections)
        assert failure is not None
        raise failure

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                            ) -> httpcore.NetworkStream:
        raise Refused("refused: unix sockets are not a webhook destination")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    """A connected socket whose every wait ends at the current request's deadline, and which
    another thread can cut."""

    def __init__(self, stream: httpcore.NetworkStream, connections: Connections) -> None:
        self._stream = stream
        self._connections = connections
        connections.add(self)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout))

    def close(self) -> None:
        self._connections.discard(self)
        self._stream.close()

    def cut(self) -> None:
        """Shut the socket down: a read or write blocked in another thread returns at once
        (closing it would not wake that thread)."""
        sock = self._stream.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):  # closed meanwhile
                # The plain socket's shutdown, also under TLS: SSLSocket's would drop its
                # SSL object under the reading thread's feet.
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        self._connections.discard(self)  # the TLS stream below takes over the socket
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname,
                                                      _left(timeout)), self._connections)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


# httpx has no public way to give its transport a network backend, so this is the small
# transport httpx.HTTPTransport is, over a pool of our own, its errors turned into httpx's.
_ERRORS: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


def _mapped(exc: Exception, request: httpx.Request) -> Exception:
    for theirs, ours in _ERRORS:
        if isinstance(exc, theirs):
            if issubclass(ours, httpx.RequestError):
                return ours(str(exc), request=request)
            return ours(str(exc))  # pragma: no cover - every entry above is a RequestError
    return exc


class Transport(httpx.BaseTransport):
    def __init__(self, pool: httpcore.ConnectionPool) -> None:
        self._pool = pool

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream,
            extensions=request.extensions)
        try:
            answer = self._pool.handle_request(core)
        except httpcore.ConnectionNotAvailable as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except Exception as exc:
            mapped = _mapped(exc, request)
            if mapped is exc:
                raise
            raise mapped from exc
        assert isinstance(answer.stream, Iterable)
        return httpx.Response(status_code=answer.status, headers=answer.headers,
                              stream=_AnswerStream(answer, request),
                              extensions=answer.extensions)

    def close(self) -> None:
        self._pool.close()


class _AnswerStream(httpx.SyncByteStream):
    def __init__(self, answer: httpcore.Response, request: httpx.Request) -> None:
        self._answer = answer
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._answer.iter_stream()
        except Exception as exc:
            mapped = _mapped(exc, self._request)
            if mapped is exc:
                raise
            raise mapped from exc

    def close(self) -> None:
        self._answer.close()
