"""A site under the Public API: a real repository, scans into a real state, a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from conftest import Site

from cometwatch.config import Secret, ServerConfig, load_config
from cometwatch.scanner import Scanner
from cometwatch.source import Source
from cometwatch.store import Store
from cometwatch.web.app import create_app
from cometwatch.web.context import SiteContext
from cometwatch.web.server import Server

TOKEN = "api-token-for-tests-0123456789"
WORKSPACE = "site"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class ApiRig:
    """`site` scanned into `state`; `get` asks a real server on 127.0.0.1 (started on first
    use), each answer checked against the OpenAPI document when `check` is set."""

    def __init__(self, site: Site, tmp_path: Path, extra: str = "",
                 check: Any = None) -> None:
        self.site = site
        self.state = tmp_path / "state.db"
        self.config_file = tmp_path / "webhooks.toml"
        self.config_file.write_text(f'[repository]\npath = "{site.root}"\n{extra}\n'
                                    f'[state]\npath = "{self.state}"\n')
        self.config = load_config(str(self.config_file), secrets=False)
        self.clock = Clock(1_900_000_000.0)
        self.check = check
        self._server: Server | None = None
        self._context: SiteContext | None = None
        self.client = httpx.Client(timeout=30)

    def scan(self, now: float | None = None) -> None:
        with Store.open(self.state) as store, Source.open(self.config) as source:
            Scanner(self.config, store, source).scan(now if now is not None
                                                     else self.site.clock + 1)

    @property
    def url(self) -> str:
        if self._server is None:
            server = ServerConfig(workspace=WORKSPACE, api_tokens=(Secret(TOKEN),),
                                  authors=self.config.server.authors)
            self._context = SiteContext.open(self.config, clock=self.clock, server=server)
            self._server = Server(create_app(self._context), "127.0.0.1", 0)
            self._server.start()
        return f"{self._server.url}/api/v1"

    def get(self, path: str, token: str | None = None, headers: dict[str, str] | None = None,
            workspace: str = WORKSPACE) -> httpx.Response:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        base = f"{self.url}/workspaces/{workspace}" if workspace else self.url
        answer = self.client.get(base + path, headers=sent)
        if self.check is not None:
            self.check(answer)
        return answer

    def close(self) -> None:
        self.client.close()
        if self._server is not None:
            self._server.stop()
        if self._context is not None:
            self._context.close()
