"""A real webhook receiver for tests: a threaded HTTP server on 127.0.0.1.

It records every request and checks its X-CometCMS-Signature with CometCMS's Python verifier,
verbatim. Answers are scripted per path; nothing waits by sleeping.

    from receiver import Answer, Receiver       # tests/ is on sys.path

    # as a fixture: `pytest_plugins = ["receiver"]` in the test module, then a `receiver`
    # argument (secret RECEIVER_SECRET); or by hand: `with Receiver("secret") as receiver:`
    receiver.url                         # http://127.0.0.1:PORT/hook
    receiver.url_for("/other")           # another path on the same server
    receiver.script("/hook", 500, Answer(429, {"Retry-After": "120"}), 200)
                                         # answers in turn; after them `receiver.default` (200)
    Answer(302, {"Location": "…"})       # any status, headers, body
    Answer(200, delay=2)                 # answer after 2 s (the endpoint's slowness)
    Answer(200, hang=True)               # hold the request until receiver.release() or the end
    Answer(200, body=b"x" * 100, trickle=0.5)  # the whole answer, one byte every 0.5 s
    Answer(200, endless=True)            # headers, then body bytes until the client leaves
    Answer(raw=b"garbage")               # these bytes instead of an HTTP answer
    receiver.hang.set() / .clear()       # while set, every request is held; clear() answers them
    receiver.hanging                     # requests held right now
    receiver.wait_for(3, path="/hook", timeout=10)   # the arrivals once there are 3, or fail
    receiver.arrivals, receiver.requests("/hook")    # Arrival(path, headers, body, at, verified,
                                                     # event, event_id, status, …)

`status` is None until the answer was written to a client still connected (a request the client
abandoned while held keeps None). At the end every held request is let go.
`Receiver(secret, tls=context)` serves HTTPS with that ssl.SSLContext (a server context holding
the certificate); `receiver.server_names` lists the SNI name each client sent.
`verify_with_node` / `verify_with_php` run CometCMS's Node.js / PHP verifier on a captured
request (None when that runtime is not installed).

PYTEST_DONT_REWRITE: test modules import this before pytest loads it as their plugin, too late
for assertion rewriting; it raises its own AssertionError messages instead.
"""

from __future__ import annotations

import contextlib
import json
import select
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

import pytest
from testing import patience

RECEIVER_SECRET = "receiver-test-secret"


def verify_signature(raw_body: bytes, secret: str, signature: str) -> bool:
    """The Python verifier CometCMS documents for receivers, verbatim (docs/contract.md §3)."""
    import hashlib
    import hmac

    expected = 'sha256=' + hmac.new(
        secret.encode(), raw_body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, signature)


@dataclass(frozen=True)
class Answer:
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    hang: bool = False
    trickle: float | None = None
    endless: bool = False
    raw: bytes | None = None


@dataclass(frozen=True)
class Arrival:
    path: str
    method: str
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    at: float  # time.time() on arrival
    peer: tuple[str, int]  # the client's address and port: one port, one connection
    verified: bool  # X-CometCMS-Signature checked with the receiver's secret
    status: int | None = None  # what was answered; None until written (or if abandoned)
    index: int = 0

    @property
    def event(self) -> str:
        return self.headers.get("x-cometcms-event", "")

    @property
    def event_id(self) -> str:
        return self.headers.get("x-cometcms-event-id", "")

    @property
    def signature(self) -> str:
        return self.headers.get("x-cometcms-signature", "")


class Switch:
    """`hang`: set() holds every request that arrives, clear() lets the held ones answer."""

    def __init__(self, cond: threading.Condition) -> None:
        self._cond = cond
        self._on = False

    def set(self) -> None:
        with self._cond:
            self._on = True

    def clear(self) -> None:
        with self._cond:
            self._on = False
            self._cond.notify_all()

    def is_set(self) -> bool:
        return self._on


class Receiver:
    def __init__(self, secret: str = RECEIVER_SECRET, path: str = "/hook",
                 tls: ssl.SSLContext | None = None) -> None:
        self.secret = secret
        self.default = Answer()
        self._cond = threading.Condition()
        self.hang = Switch(self._cond)
        self._arrivals: list[Arrival] = []
        self._scripts: dict[str, list[Answer]] = {}
        self._released = 0  # release() count: a held Answer(hang=True) waits for a change
        self._held = 0
        self._closing = threading.Event()
        self._connections: set[socket.socket] = set()
        self.server_names: list[str | None] = []
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self._tls = tls
        if tls is not None:
            tls.sni_callback = self._sni
            # The handshake happens in the request's thread, not in the accept loop.
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
        self.port = int(self.server.server_address[1])
        self.url = self.url_for(path)

    def __enter__(self) -> Receiver:
        # A short poll: close()'s shutdown() waits up to one poll interval, in every test.
        threading.Thread(target=self.server.serve_forever, args=(0.005,), daemon=True,
                         name="test-receiver").start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with self._cond:
            self._closing.set()
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()
        with self._cond:
            connections = list(self._connections)
        for connection in connections:  # idle keep-alive connections end their threads
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def url_for(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{'https' if self._tls else 'http'}://{host}:{self.port}{path}"

    def script(self, path: str, *answers: int | Answer) -> None:
        """Answer the next requests to `path` with these, in turn (an int is a status)."""
        with self._cond:
            self._scripts[path] = [a if isinstance(a, Answer) else Answer(a) for a in answers]

    def release(self) -> None:
        """Let every request held by Answer(hang=True) answer now."""
        with self._cond:
            self._released += 1
            self._cond.notify_all()

    @property
    def arrivals(self) -> list[Arrival]:
        with self._cond:
            return list(self._arrivals)

    @property
    def hanging(self) -> int:
        with self._cond:
            return self._held

    def requests(self, path: str) -> list[Arrival]:
        with self._cond:
            return [a for a in self._arrivals if a.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 10.0,
                 ) -> list[Arrival]:
        """The arrivals (to `path`, if given) once there are at least `count`; fails the test
        after `timeout` seconds (stretched by testing.patience for a loaded machine)."""
        deadline = time.monotonic() + patience(timeout)
        with self._cond:
            while True:
                got = [a for a in self._arrivals if path is None or a.path == path]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(got)} of {count} requests arrived"
                                         f"{f' at {path}' if path else ''} within {timeout}s")
                self._cond.wait(left)

    # -- the handler's side ---------------------------------------------------------------------

    def _sni(self, connection: ssl.SSLObject, name: str | None, context: ssl.SSLContext,
             ) -> None:
        with self._cond:
            self.server_names.append(name)

    def _arrive(self, path: str, method: str, headers: Mapping[str, str], body: bytes,
                peer: tuple[str, int]) -> tuple[Arrival, Answer]:
        with self._cond:
            arrival = Arrival(path, method, headers, body, time.time(), peer,
                              verify_signature(body, self.secret,
                                               headers.get("x-cometcms-signature", "")),
                              index=len(self._arrivals))
            self._arrivals.append(arrival)
            script = self._scripts.get(path)
            answer = script.pop(0) if script else self.default
            self._cond.notify_all()
            return arrival, answer

    def _hold(self, answer: Answer) -> None:
        """Wait while the request is held: by the switch, or by its Answer until release()."""
        with self._cond:
            released = self._released
            if not (self.hang.is_set() or answer.hang):
                return
            self._held += 1
            try:
                while not self._closing.is_set() and (
                        self.hang.is_set() or (answer.hang and self._released == released)):
                    self._cond.wait()
            finally:
                self._held -= 1

    def _answered(self, arrival: Arrival, status: int) -> None:
        with self._cond:
            self._arrivals[arrival.index] = replace(arrival, status=status)
            self._cond.notify_all()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints

        def setup(self) -> None:
            if isinstance(self.request, ssl.SSLSocket):
                self.request.do_handshake()  # a failure ends this connection, quietly
            super().setup()
            with receiver._cond:
                receiver._connections.add(self.connection)

        def finish(self) -> None:
            with receiver._cond:
                receiver._connections.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            headers = {name.lower(): value for name, value in self.headers.items()}
            arrival, answer = receiver._arrive(self.path, self.command, headers, raw,
                                               self.client_address[:2])
            receiver._hold(answer)
            if answer.delay and receiver._closing.wait(answer.delay):
                return
            if receiver._closing.is_set() or _gone(self.connection):
                self.close_connection = True
                return
            try:
                self._answer(answer)
            except OSError:
                self.close_connection = True  # the client gave up (a timeout): the scenario
                return
            receiver._answered(arrival, answer.status)

        do_PUT = do_PATCH = do_DELETE = do_GET = do_POST

        def _answer(self, answer: Answer) -> None:
            if answer.raw is not None:
                self.wfile.write(answer.raw)
                self.close_connection = True
                return
            head = [f"HTTP/1.1 {answer.status} {_phrase(answer.status)}"]
            head += [f"{key}: {value}" for key, value in answer.headers.items()]
            length = 10 ** 12 if answer.endless else len(answer.body)
            head.append(f"Content-Length: {length}")
            data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
            if answer.endless:
                self.wfile.write(data)
                chunk = b"x" * 65536
                while not receiver._closing.is_set():
                    self.wfile.write(chunk)  # raises once the client has gone
            elif answer.trickle:
                for byte in data + answer.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    if receiver._closing.wait(answer.trickle):
                        raise OSError("receiver closing")
            else:
                self.wfile.write(data + answer.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that gave up, a TLS handshake refused: scenarios, not receiver bugs


def _phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Whatever"


def _gone(connection: socket.socket) -> bool:
    """Whether the client closed its side while the request was held."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def unused_port() -> int:
    """A port on 127.0.0.1 nothing listens on (a refused connection)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- CometCMS's other verifiers (docs/contract.md §3) -------------------------------------------

_NODE = """
const crypto = require("crypto");

function verifySignature(rawBody, secret, signature) {
  const expected =
    "sha256=" +
    crypto.createHmac("sha256", secret).update(rawBody).digest("hex");
  return crypto.timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
}

const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const [secret, signature] = JSON.parse(process.argv[1]);
  process.stdout.write(String(verifySignature(Buffer.concat(chunks), secret, signature)));
});
"""

_PHP = """
function verifySignature(string $rawBody, string $secret, string $signature): bool {
    $expected = 'sha256=' . hash_hmac('sha256', $rawBody, $secret);
    return hash_equals($expected, $signature);
}

[$secret, $signature] = json_decode($argv[1]);
echo verifySignature(file_get_contents('php://stdin'), $secret, $signature) ? 'true' : 'false';
"""


def verify_with_node(raw_body: bytes, secret: str, signature: str) -> bool | None:
    """CometCMS's Node.js verifySignature over these bytes; None without `node`."""
    node = shutil.which("node")
    if node is None:
        return None
    return _run([node, "-e", _NODE, json.dumps([secret, signature])], raw_body)


def verify_with_php(raw_body: bytes, secret: str, signature: str) -> bool | None:
    """CometCMS's PHP verifySignature over these bytes; None without `php`."""
    php = shutil.which("php")
    if php is None:
        return None
    return _run([php, "-r", _PHP, json.dumps([secret, signature])], raw_body)


def _run(command: list[str], stdin: bytes) -> bool:
    result = subprocess.run(command, input=stdin, capture_output=True, timeout=60, check=True)
    return result.stdout.strip() == b"true"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A running Receiver (secret RECEIVER_SECRET), closed after the test."""
    with Receiver(RECEIVER_SECRET) as running:
        yield running
