"""The built-in demo: a sample site, a verifying receiver and the daemon, wired together."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from cometwatch.errors import CometwatchError

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "cometwatch demo", "GIT_AUTHOR_EMAIL": "demo@cometwatch.invalid",
    "GIT_COMMITTER_NAME": "cometwatch demo", "GIT_COMMITTER_EMAIL": "demo@cometwatch.invalid",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
}

DRAFT = """---
title: Hello, world
status: draft
---
The first post of the demo site.
"""


@dataclass(frozen=True, slots=True)
class Arrival:
    at: float
    event: str
    event_id: str
    body: bytes
    verified: bool


class _Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, secret: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.secret = secret
        self.arrivals: list[Arrival] = []
        self.changed = threading.Condition()


class _Handler(BaseHTTPRequestHandler):
    server: _Receiver

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        # CometCMS's Python verifier, as a receiver would write it (docs/contract.md §3).
        expected = "sha256=" + hmac.new(self.server.secret.encode(), raw,
                                        hashlib.sha256).hexdigest()
        verified = hmac.compare_digest(expected, self.headers.get("X-CometCMS-Signature", ""))
        self.send_response(200 if verified else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with self.server.changed:
            self.server.arrivals.append(Arrival(
                time.monotonic(), self.headers.get("X-CometCMS-Event", ""),
                self.headers.get("X-CometCMS-Event-Id", ""), raw, verified))
            self.server.changed.notify_all()

    def log_message(self, format: str, *args: object) -> None:
        pass


class Demo:
    def __init__(self, keep: bool = False, timeout: float = 20.0) -> None:
        self.keep, self.timeout = keep, timeout
        self.folder = Path(tempfile.mkdtemp(prefix="cometwatch-demo-"))
        self.site = self.folder / "site"
        self.secret = secrets.token_urlsafe(24)
        self.receiver = _Receiver(self.secret)
        self.daemon: subprocess.Popen[bytes] | None = None
        self.seen = 0
        self.failures = 0

    def __enter__(self) -> Demo:
        # A short poll: shutdown() at the end waits up to one poll interval (0.5 s by default).
        threading.Thread(target=self.receiver.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        self.receiver.shutdown()
        self.receiver.server_close()
        if self.keep:
            print(f"kept {self.folder}")
        else:
            shutil.rmtree(self.folder, ignore_errors=True)

    # -- the story ------------------------------------------------------------------------

    def play(self) -> int:
        port = self.receiver.server_address[1]
        say(f"sample site   {self.site}")
        say(f"receiver      http://127.0.0.1:{port}/hook (verifies X-CometCMS-Signature)")
        self._make_site(port)
        self._start_daemon()
        steps = [
            ("write a draft", self._draft, ["content.created"]),
            ("publish it", self._publish, ["content.updated", "content.published"]),
            ("rename it", self._rename, ["content.updated"]),
            ("move it to the trash", self._trash, ["content.unpublished", "content.deleted"]),
            ("restore it", self._restore, ["content.restored", "content.published"]),
        ]
        for title, action, expected in steps:
            say(f"\n$ git commit   ({title})")
            started = time.monotonic()
            action()
            if not self._expect(expected, started):
                break
        say("")
        if self.failures:
            say(f"demo failed: {self.failures} problem(s) above", err=True)
            return 1
        say(f"demo ok: {self.seen} signed deliveries received and verified. Next: "
            "`cometwatch init` in your own site.")
        return 0

    def _make_site(self, port: int) -> None:
        self.site.mkdir()
        self._git("init", "-q", "-b", "main")
        (self.site / "content" / "posts").mkdir(parents=True)
        (self.site / "content" / "about.md").write_text("---\ntitle: About\n---\nHi.\n")
        config = self.site / "webhooks.toml"
        config.write_text(
            "[repository]\n"
            'content_dir = "content"\n'
            'poll_interval = "2s"\n'
            "[state]\n"
            f'path = "{(self.folder / "state.db").as_posix()}"\n'
            "[[webhooks]]\n"
            'name = "demo"\n'
            f'url = "http://127.0.0.1:{port}/hook"\n'
            'secret_env = "COMETWATCH_DEMO_SECRET"\n'
            'retry_schedule = ["0s", "1s", "2s"]\n')
        self._commit("a site with one page")

    def _start_daemon(self) -> None:
        # The daemon says READY=1 over sd_notify once its first scan (a silent baseline) is
        # stored; the demo listens like systemd would, then starts committing.
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            notify.bind(str(self.folder / "notify.sock"))
        except OSError as exc:  # a socket path is limited to about 100 bytes
            notify.close()
            raise CometwatchError(f"cannot make the demo's notify socket in {self.folder} "
                                  f"({exc.strerror or exc}); set TMPDIR to a shorter folder, "
                                  "such as /tmp") from None
        env = {**os.environ, **GIT_IDENTITY, "COMETWATCH_DEMO_SECRET": self.secret,
               "NOTIFY_SOCKET": str(self.folder / "notify.sock")}
        env.pop("COMETWATCH_CONFIG", None)
        log = (self.folder / "daemon.log").open("wb")
        self.daemon = subprocess.Popen(
            [sys.executable, "-m", "cometwatch", "--config", str(self.site / "webhooks.toml"),
             "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + self.timeout
        with notify:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or self.daemon.poll() is not None:
                    raise CometwatchError("the demo daemon did not start; its log: "
                                          + self._log_tail())
                notify.settimeout(min(left, 0.5))
                try:
                    if b"READY=1" in notify.recv(4096).split(b"\n"):
                        break
                except TimeoutError:
                    continue
        say(f"daemon        cometwatch run (pid {self.daemon.pid}), baseline taken")

    def _draft(self) -> None:
        (self.site / "content/posts/hello-world.md").write_text(DRAFT)
        self._commit("draft: hello world")

    def _publish(self) -> None:
        path = self.site / "content/posts/hello-world.md"
        path.write_text(path.read_text().replace("status: draft", "status: published"))
        self._commit("publish: hello world")

    def _rename(self) -> None:
        self._git("mv", "content/posts/hello-world.md", "content/posts/hello-comets.md")
        self._commit("rename")

    def _trash(self) -> None:
        (self.site / "content/.trash/posts").mkdir(parents=True)
        self._git("mv", "content/posts/hello-comets.md", "content/.trash/posts/")
        self._commit("trash")

    def _restore(self) -> None:
        self._git("mv", "content/.trash/posts/hello-comets.md", "content/posts/")
        self._commit("restore")

    # -- plumbing -------------------------------------------------------------------------

    def _expect(self, names: list[str], started: float) -> bool:
        wanted = self.seen + len(names)
        deadline = time.monotonic() + self.timeout
        with self.receiver.changed:
            while len(self.receiver.arrivals) < wanted:
                left = deadline - time.monotonic()
                if left <= 0 or (self.daemon is not None and self.daemon.poll() is not None):
                    break
                self.receiver.changed.wait(left)
            arrived = self.receiver.arrivals[self.seen:wanted]
        for arrival in arrived:
            data = json.loads(arrival.body)["data"]
            mark = "signature ok" if arrival.verified else "SIGNATURE WRONG"
            say(f"  ← {arrival.event:<20} {data['type']}/{data['slug']:<14} id={data['id']}  "
                f"{mark}  +{(arrival.at - started) * 1000:.0f} ms")
            self.failures += not arrival.verified
        self.seen += len(arrived)
        got = [a.event for a in arrived]
        if got != names:
            self.failures += 1
            say(f"  expected {names}, got {got}; daemon log: {self._log_tail()}", err=True)
            return False
        return True

    def _commit(self, message: str) -> None:
        self._git("add", "-A")
        self._git("commit", "-q", "-m", message)

    def _git(self, *args: str) -> None:
        result = subprocess.run(["git", *args], cwd=self.site, env={**os.environ, **GIT_IDENTITY},
                                capture_output=True, text=True)
        if result.returncode != 0:
            raise CometwatchError(f"git {args[0]} failed in the demo site: "
                                  f"{result.stderr.strip()}")

    def _log_tail(self) -> str:
        try:
            lines = (self.folder / "daemon.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-5:]) or "(empty)"


def say(text: str, err: bool = False) -> None:
    print(text, file=sys.stderr if err else sys.stdout, flush=True)
