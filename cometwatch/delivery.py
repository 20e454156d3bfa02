"""The HTTP edge: one signed POST of one event to one webhook, its answer reduced to an Attempt.

With cometwatch.network beneath it, the only module importing httpx and httpcore. Nothing
here raises for what a network or an endpoint can do: refused, unresolvable, timed out, TLS
rejected, redirected, 5xx; each becomes an Attempt with a one-line `error`. Secrets are only
ever used to sign; no error, log line or Attempt carries one.

Transport safety: plain http:// only to a loopback address unless the webhook allows it;
link-local and cloud metadata addresses are never connected to. Both are checked on the address
actually connected to: the host is resolved once per connection, every address is checked, and
the socket is opened to a checked address (TLS still verifies, and sends SNI for, the URL's
host), so a DNS answer cannot steer a request around the check. Redirects are not followed, at
most 64 KiB of an answer is read, and `timeout` is a deadline for the whole exchange: name
resolution and every socket operation wait at most until it (resolution and connecting each at
most `connect_timeout`), so neither a stuck resolver nor an endpoint trickling bytes can hold a
worker.
"""

from __future__ import annotations

import binascii
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, NamedTuple

import httpcore
import httpx

from cometwatch import __version__
from cometwatch.config import Secret, Webhook
from cometwatch.netpolicy import forbidden, header_refusal, loopback_host
from cometwatch.network import (
    DEADLINE,
    Connections,
    DeadlinePassed,
    GuardedBackend,
    Refused,
    Resolve,
    Transport,
    system_resolve,
)
from cometwatch.outbox import Attempt
from cometwatch.payload import cometcms_signature, standard_signature
from cometwatch.redaction import masked_headers, redact_url
from cometwatch.retry import retry_after_seconds

MAX_READ = 64 * 1024  # bytes of an answer read at most; the connection is dropped after that
KEEP = 4 * 1024  # bytes of an answer kept in the Attempt (and so in the state database)
USER_AGENT = f"cometwatch/{__version__}"


class Sender:
    """Sends events to webhooks; thread-safe, with one pooled connection set per webhook.

    `clock` gives the time for `webhook-timestamp`, secret expiry and Retry-After dates;
    `transport` replaces the network in tests (httpx.MockTransport), `resolve` the DNS lookup.
    """

    def __init__(self, clock: Callable[[], float] = time.time,
                 transport: httpx.BaseTransport | None = None,
                 resolve: Resolve | None = None) -> None:
        self._clock = clock
        self._transport = transport
        self._resolve = resolve or system_resolve
        self._lock = threading.Lock()
        self._routes: dict[str, _Route] = {}
        self._retired: list[httpx.BaseTransport] = []  # a reloaded webhook's old pool
        self._connections = Connections()
        self._aborts = 0  # abort() calls: a request failing after one began was cut by us

    def send(self, webhook: Webhook, event_id: str, event_name: str, body: bytes) -> Attempt:
        """One attempt, started now (`clock`): never raises for what the network or the
        endpoint does."""
        started = _Started(self._clock(), time.monotonic())
        try:
            route = self._route(webhook)
        except Refused as exc:
            return _failed(str(exc), started)
        except (OSError, ssl.SSLError) as exc:
            return _failed(f"cannot load ca_bundle {webhook.ca_bundle}: "
                           f"{getattr(exc, 'strerror', None) or exc}", started)
        try:
            headers = self._signed(route.headers, webhook, event_id, event_name, body)
        except binascii.Error:
            return _failed("a whsec_ secret is not valid base64 (Standard Webhooks secrets are "
                           "whsec_ followed by the base64 of the key)", started)
        token = DEADLINE.set(started.mono + webhook.timeout)
        aborts = self._aborts
        sent: tuple[tuple[str, str], ...] = ()
        try:
            request = httpx.Request("POST", route.url, content=body, headers=headers,
                                    extensions=dict(route.extensions))
            sent = kept_headers(request.headers.raw)
            return self._exchange(route, webhook, request, sent, started)
        except Refused as exc:
            return _failed(str(exc), started, sent=sent)
        except DeadlinePassed:
            return _failed(f"timed out after {webhook.timeout:g}s", started, timed_out=True,
                           sent=sent)
        except httpx.HTTPError as exc:
            if self._aborts != aborts:
                return _failed("cut: cometwatch was stopping", started, cut=True, sent=sent)
            return _failed(_describe(exc, webhook), started,
                           timed_out=isinstance(exc, httpx.TimeoutException), sent=sent)
        except (UnicodeError, OSError) as exc:  # a header httpx cannot encode; a socket bug
            if self._aborts != aborts:
                return _failed("cut: cometwatch was stopping", started, cut=True, sent=sent)
            return _failed(f"request not sent: {type(exc).__name__}", started, sent=sent)
        finally:
            DEADLINE.reset(token)

    def headers(self, webhook: Webhook, event_id: str, event_name: str,
                body: bytes) -> dict[str, str]:
        """Every header of the request, signatures made now (`clock`)."""
        return self._signed(_fixed_headers(webhook), webhook, event_id, event_name, body)

    def abort(self) -> int:
        """Cut every connection open now, for a stop that cannot wait: a request waiting
        for its answer ends at once as an Attempt with `cut` set (the endpoint is not to
        blame: the caller records no attempt). A request still resolving or connecting is
        not reached. Returns how many connections were cut."""
        self._aborts += 1
        return self._connections.cut()

    def close(self) -> None:
        with self._lock:
            owned = [route.transport for route in self._routes.values()
                     if route.transport is not self._transport] + self._retired
            self._routes, self._retired = {}, []
        for transport in owned:
            transport.close()

    def _signed(self, fixed: Mapping[str, str], webhook: Webhook, event_id: str,
                event_name: str, body: bytes) -> dict[str, str]:
        headers = dict(fixed)
        headers["X-CometCMS-Event"] = event_name
        headers["X-CometCMS-Event-Id"] = event_id
        if "cometcms" in webhook.signing:
            headers["X-CometCMS-Signature"] = cometcms_signature(body,
                                                                 webhook.secret.reveal())
        if "standard" in webhook.signing:
            now = self._clock()
            stamp = int(now)
            headers["webhook-id"] = event_id
            headers["webhook-timestamp"] = str(stamp)
            headers["webhook-signature"] = " ".join(
                standard_signature(body, secret.reveal(), event_id, stamp)
                for secret in live_secrets(webhook.secrets, now))
        return headers

    def _route(self, webhook: Webhook) -> _Route:
        """The webhook's route, made once per version of its config: parsing the URL and
        building the headers for every request cost as much as a third of sending it."""
        key = (webhook.url, webhook.ca_bundle, webhook.allow_http, webhook.max_in_flight,
               webhook.timeout, webhook.connect_timeout, webhook.headers)
        with self._lock:  # one pool per webhook, however many threads ask at once
            held = self._routes.get(webhook.name)
            if held is not None and held.key == key:
                return held
            refusal = _refusal(webhook)
            if refusal:
                raise Refused(refusal)
            timeout = httpx.Timeout(webhook.timeout,
                                    connect=min(webhook.connect_timeout, webhook.timeout))
            route = _Route(key, httpx.URL(webhook.url),
                           self._transport or self._network(webhook), _fixed_headers(webhook),
                           {"timeout": timeout.as_dict()})
            if held is not None and held.transport is not self._transport:
                self._retired.append(held.transport)  # maybe in use: closed with the Sender
            self._routes[webhook.name] = route
            return route

    def _network(self, webhook: Webhook) -> httpx.BaseTransport:
        if webhook.ca_bundle is not None:
            context = ssl.create_default_context(cafile=str(webhook.ca_bundle))
        else:
            context = httpx.create_ssl_context()
        plain = httpx.URL(webhook.url).scheme == "http" and not webhook.allow_http
        backend = GuardedBackend(self._resolve, self._connections, loopback_only=plain)
        # No cap on connections: the caller's threads (max_in_flight) are the cap. Idle ones
        # close after 5 s, as httpx's own default.
        return Transport(httpcore.ConnectionPool(
            ssl_context=context, max_connections=None,
            max_keepalive_connections=max(webhook.max_in_flight, 1), keepalive_expiry=5.0,
            network_backend=backend))

    def _exchange(self, route: _Route, webhook: Webhook, request: httpx.Request,
                  sent: tuple[tuple[str, str], ...], started: _Started) -> Attempt:
        # Straight to the transport: an httpx.Client would add redirects (never followed),
        # authentication, a cookie jar (a webhook keeps no cookies) and a third of the time.
        deadline = started.mono + webhook.timeout
        response = route.transport.handle_request(request)
        kept = bytearray()
        try:
            read = 0
            # A response made in memory (httpx.MockTransport) arrives already read.
            chunks = (response.content,) if response.is_stream_consumed else response.iter_raw()
            for chunk in chunks:
                if time.monotonic() > deadline:  # for transports without our sockets
                    raise DeadlinePassed
                kept += chunk[:KEEP - len(kept)]
                read += len(chunk)
                if read >= MAX_READ:
                    break  # closing the response drops the connection with the rest unread
        finally:
            response.close()
        status = response.status_code
        retry_after = None
        if status in (429, 503):
            retry_after = retry_after_seconds(response.headers.get("retry-after"),
                                              self._clock())
        disable = status == 410 or \
            response.headers.get("webhook-delivery", "").strip().lower() == "disable"
        return Attempt(started.at, status, time.monotonic() - started.mono,
                       _answer_error(response, retry_after), bytes(kept), retry_after, disable,
                       headers=sent)


@dataclass(frozen=True, slots=True)
class _Route:
    """What every request to one webhook shares."""

    key: tuple[object, ...]  # the config it was made from
    url: httpx.URL
    transport: httpx.BaseTransport
    headers: Mapping[str, str]  # all but the event's and the signatures
    extensions: Mapping[str, Any]  # the timeouts, as httpx.Client would pass them


def _fixed_headers(webhook: Webhook) -> dict[str, str]:
    """The headers every request to `webhook` carries: httpx.Client's defaults, then the
    webhook's own `headers`, then ours (which they cannot replace)."""
    headers = {"Accept": "*/*", "Connection": "keep-alive"}
    headers.update((name, value) for name, value in webhook.headers
                   if header_refusal(name) is None)  # refused at load too
    headers.update({
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",  # the 4 KiB kept of an answer stay readable
    })
    return headers


def live_secrets(secrets: Sequence[Secret], now: float) -> list[Secret]:
    """The secrets a Standard Webhooks header is signed with: those not expired at `now`
    (the newest always, so a request is never unsigned)."""
    live = [s for s in secrets if s.expires_at is None or s.expires_at > now]
    return live or list(secrets[:1])


def _refusal(webhook: Webhook) -> str | None:
    """What the URL alone rules out (the addresses are checked again when connecting)."""
    try:
        url = httpx.URL(webhook.url)
        url.host  # noqa: B018 - decoding it is the check: httpx does so when sending
    except (httpx.InvalidURL, UnicodeError) as exc:  # UnicodeError: a bad IDNA host name
        return f"refused: not a valid URL ({_line(str(exc), 120)})"
    host = url.raw_host.decode("ascii")  # as sent: an IDNA name stays in its xn-- form
    if url.scheme not in ("http", "https") or not host:
        return "refused: the URL is not http(s)://host/…"
    if url.scheme == "http" and not webhook.allow_http and not loopback_host(host):
        return (f"refused: plain http:// to {host}, which is not a loopback address "
                "(use https://, or set allow_http = true)")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return f"refused: {address} is a link-local or cloud metadata address" \
        if forbidden(address) else None


def _answer_error(response: httpx.Response, retry_after: float | None) -> str | None:
    status = response.status_code
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        location = response.headers.get("location")
        where = f"redirect to {_line(redact_url(location), 200)}" if location else "redirect"
        return f"HTTP {status}: {where} not followed"
    reason = _line(response.reason_phrase, 80)
    if not reason:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = ""
    text = f"HTTP {status} {reason}".rstrip()
    return text + (f" (Retry-After {retry_after:g}s)" if retry_after is not None else "")


class _Started(NamedTuple):
    at: float  # the clock's time, recorded with the attempt
    mono: float  # time.monotonic(), for its duration and deadline


def _failed(error: str, started: _Started, timed_out: bool = False, cut: bool = False,
            sent: tuple[tuple[str, str], ...] = ()) -> Attempt:
    return Attempt(started.at, None, time.monotonic() - started.mono, error, b"", None, False,
                   timed_out, cut, sent)


def kept_headers(raw: Sequence[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    """A request's headers as an attempt keeps them: in the order sent, names as written, the
    value of one that carries a credential masked (so no secret is ever at rest)."""
    return masked_headers((name.decode("latin-1"), value.decode("latin-1"))
                          for name, value in raw)


def _describe(exc: httpx.HTTPError, webhook: Webhook) -> str:
    """One line a user can act on, from the cause at the bottom of the exception chain."""
    host = httpx.URL(webhook.url).raw_host.decode("ascii")
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connection timed out after {min(webhook.connect_timeout, webhook.timeout):g}s"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {webhook.timeout:g}s"
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate of {host} not trusted: {_line(cause.verify_message, 120)}"
        if isinstance(cause, ssl.SSLError):
            return f"TLS error with {host}: {_line(cause.reason or str(cause), 120)}"
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, ConnectionResetError):
            return "connection reset by the endpoint"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve {host}: {_line(cause.strerror or str(cause), 80)}"
        if isinstance(cause, OSError) and cause.strerror:
            return f"cannot connect to {host}: {_line(cause.strerror, 120)}"
    if isinstance(exc, httpx.RemoteProtocolError) and "without sending" in str(exc):
        return "the endpoint closed the connection without answering"
    if isinstance(exc, httpx.ProtocolError):
        return f"protocol error: {_line(str(exc), 160)}"
    if isinstance(exc, httpx.ConnectError):
        return f"cannot connect to {host}: {_line(str(exc), 160)}"
    if isinstance(exc, httpx.NetworkError):
        return f"connection lost: {_line(str(exc), 160)}"
    return f"{type(exc).__name__}: {_line(str(exc), 160)}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _line(text: str | None, limit: int) -> str:
    flat = " ".join("".join(c if c.isprintable() else " " for c in text or "").split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
