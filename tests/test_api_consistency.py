"""Webhooks and the API agree: a receiver that fetches each entry it is told about, with the
daemon running (`[server] listen`), finds the state of the commit the webhook was for.

The receiver, on every webhook, fetches the entry by id and by slug, with a token and without,
and checks the answers against the file at the branch's commit (the script waits for each
commit's webhooks before making the next): its title and body, its trash state, and whether an
anonymous reader may see it at that moment. The history renames, trashes, restores, drafts,
publishes, schedules (a publish date passing while the daemon runs) and deletes.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import yaml
from conftest import Site, post
from openapi_check import check_response
from test_daemon import Daemon, wait_for

TOKEN = "consistency-token-0123456789"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class CheckingReceiver:
    """Answers 200 to every webhook after checking the API against the repository."""

    def __init__(self, site: Site, api: str) -> None:
        self.site, self.api = site, api
        self.seen: list[tuple[str, str]] = []
        self.mismatches: list[str] = []
        self.client = httpx.Client(timeout=30)
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                payload = json.loads(body)
                try:
                    receiver.check(payload)
                except Exception as exc:  # a failed check is a mismatch, never a lost one
                    receiver.mismatch(f"checking {body[:200]!r} failed: {exc!r}")
                receiver.note(payload["event"], payload["data"].get("slug", ""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        # A short poll: close()'s shutdown() waits up to one poll interval (0.5 s by default).
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def mismatch(self, text: str) -> None:
        with self._lock:
            self.mismatches.append(text)

    def fetch(self, identifier: str, token: str | None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = self.client.get(f"{self.api}/content/posts/{quote(identifier, safe='')}",
                                 headers=headers)
        check_response(answer)
        return answer

    def check(self, payload: dict[str, Any]) -> None:
        event, data = payload["event"], payload["data"]
        entry_id, slug = data["id"], data["slug"]
        now = time.time()
        by_id, by_slug = self.fetch(entry_id, TOKEN), self.fetch(slug, TOKEN)
        public = self.fetch(entry_id, None)
        where = f"{event} {slug} ({entry_id})"
        live, trashed = self.file(f"posts/{slug}.md"), self.file(f".trash/posts/{slug}.md")
        if live is None and trashed is None:  # deleted for good
            for answer in (by_id, by_slug, public):
                if answer.status_code != 404:
                    self.mismatch(f"{where}: gone from the branch, API {answer.status_code}")
            return
        if by_id.status_code != 200 or by_slug.status_code != 200:
            self.mismatch(f"{where}: by id {by_id.status_code}, by slug {by_slug.status_code}")
            return
        if by_id.json() != by_slug.json():
            self.mismatch(f"{where}: by id and by slug differ")
        entry = by_id.json()["data"]
        if entry["id"] != entry_id or entry["slug"] != slug:
            self.mismatch(f"{where}: the API has {entry['id']}/{entry['slug']}")
        text = live if live is not None else trashed
        assert text is not None
        front, _, body = text.partition("\n---\n")
        meta = yaml.safe_load(front.removeprefix("---\n")) or {}
        if entry["title"] != meta.get("title") or entry["data"]["body"] != body:
            self.mismatch(f"{where}: title/body {entry['title']!r} vs the file's "
                          f"{meta.get('title')!r}")
        if ("deleted_at" in entry) != (live is None):
            self.mismatch(f"{where}: deleted_at {entry.get('deleted_at')} but the file is "
                          f"{'in the trash' if live is None else 'live'}")
        scheduled = meta.get("publishDate")
        visible = live is not None and not meta.get("draft") and (
            scheduled is None or scheduled.timestamp() <= now)
        if (public.status_code == 200) != visible:
            self.mismatch(f"{where}: anonymous {public.status_code}, but visible={visible}")
        if event in ("content.published", "content.restored") and live is not None and \
                not visible and not meta.get("draft"):
            self.mismatch(f"{where}: published, yet not visible")

    def note(self, event: str, slug: str) -> None:
        with self._lock:
            self.seen.append((event, slug))

    def file(self, path: str) -> str | None:
        target = self.site.root / path
        return target.read_text(encoding="utf-8") if target.exists() else None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.client.close()


@pytest.fixture
def running(site: Site, tmp_path: Path) -> Iterator[tuple[CheckingReceiver, Daemon]]:
    site.write("posts/seed.md", post("title: Seed"))
    site.commit()
    port = free_port()
    api = f"http://127.0.0.1:{port}/api/v1/workspaces/site"
    receiver = CheckingReceiver(site, api)
    config = tmp_path / "webhooks.toml"
    config.write_text(
        f'[repository]\npath = "{site.root}"\npoll_interval = "1s"\n'
        f'[state]\npath = "{tmp_path / "state.db"}"\n'
        '[daemon]\nshutdown_timeout = "1s"\n'
        f'[server]\nlisten = "127.0.0.1:{port}"\nworkspace = "site"\n'
        f'api_tokens = [{{ value = "{TOKEN}" }}]\n'
        f'[[webhooks]]\nname = "checker"\nurl = "{receiver.url}"\nsecret = "s3cret-s3cret"\n'
        'retry_schedule = ["0s", "100ms"]\n')
    daemon = Daemon(config).start()
    try:
        yield receiver, daemon
    finally:
        daemon.close()
        receiver.close()


def test_every_webhook_finds_its_commit_state_in_the_api(
        running: tuple[CheckingReceiver, Daemon]) -> None:
    receiver, daemon = running
    site = receiver.site
    timer = ("content.published", "d")  # the one webhook no commit makes

    def step(expected: int, change: Any) -> None:
        """Commit `change`; wait until `expected` webhooks (not counting d's publish, which
        the timer sends whenever its date passes) are checked, then make the next commit."""
        change()
        site.commit(time=int(time.time()))
        wait_for(lambda: len([seen for seen in receiver.seen if seen != timer]) >= expected,
                 f"{expected} webhooks", timeout=60, alive=daemon.proc)
        assert receiver.mismatches == []

    # d's date: whole seconds, 1-2 s ahead, so its commit, the first, is derived (created, not
    # yet visible) before it passes; the daemon's timer publishes d while the history goes on.
    soon = int(time.time()) + 2
    step(1, lambda: site.write("posts/d.md", post(
        f"title: D\npublishDate: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(soon))}",
        "Scheduled.\n")))
    step(4, lambda: (site.write("posts/a.md", post("title: A", "Body of a.\n")),
                     site.write("posts/b.md", post("title: B\ndraft: true", "Draft b.\n"))))
    step(5, lambda: site.write("posts/a.md", post("title: A, edited", "Edited.\n")))
    step(7, lambda: site.write("posts/b.md", post("title: B", "Now public.\n")))
    step(8, lambda: site.move("posts/a.md", "posts/c.md"))
    step(10, lambda: site.move("posts/b.md", ".trash/posts/b.md"))
    step(12, lambda: site.move(".trash/posts/b.md", "posts/b.md"))
    step(14, lambda: site.remove("posts/c.md"))
    step(16, lambda: site.write("posts/b.md", post("title: B\ndraft: true", "Hidden.\n")))
    wait_for(lambda: timer in receiver.seen, "d's scheduled publish", timeout=60,
             alive=daemon.proc)
    assert receiver.mismatches == []
    events = [event for event, _ in receiver.seen]
    assert len(events) == 17
    assert events.count("content.published") == 4 and events.count("content.restored") == 1
    assert receiver.seen.index(("content.created", "d")) < receiver.seen.index(timer)
