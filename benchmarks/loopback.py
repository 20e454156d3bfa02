"""What the daemon benchmarks share: a loopback webhook receiver that times each request's
arrival, per path, and git run with a fixed identity and no user or system config."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(root: Path, *args: str, stdin: bytes | None = None) -> None:
    subprocess.run(["git", *args], cwd=root, env={**os.environ, **GIT_ENV}, check=True,
                   capture_output=True, input=stdin)


class Receiver(ThreadingHTTPServer):
    """Counts the POSTs to each path and remembers when the last one arrived."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.arrived = threading.Condition()
        self.counts: dict[str, int] = {}
        self.last: dict[str, float] = {}

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def count(self, path: str) -> int:
        with self.arrived:
            return self.counts.get(path, 0)

    def wait_for(self, path: str, count: int, timeout: float) -> float:
        """When request `count` to `path` arrived (time.monotonic), waiting up to `timeout`."""
        with self.arrived:
            if not self.arrived.wait_for(lambda: self.counts.get(path, 0) >= count, timeout):
                raise SystemExit(f"request {count} to {path} did not arrive within {timeout}s")
            return self.last[path]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver
    protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints

    def do_POST(self) -> None:
        arrived = time.monotonic()
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.arrived:
            self.server.counts[self.path] = self.server.counts.get(self.path, 0) + 1
            self.server.last[self.path] = arrived
            self.server.arrived.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass
