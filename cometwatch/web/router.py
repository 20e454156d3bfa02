"""One WSGI app in front of the sites of a fleet (cometwatch.fleet).

    /api/v1/workspaces/<workspace>/…   that site's Public API, as CometCMS routes it
    /hooks/push/<workspace>            that site's push receiver
    /sites/<workspace>/…               anything of that site's app (its admin, its /metrics),
                                       mounted there: its links carry the prefix
    /admin/                            a section per site, linking to each one's admin
    /metrics                           every site's metrics, each sample labelled site

A site's app (cometwatch.web.app, as one daemon serves it) is made at its first request, once
its daemon has started: its poke and its counters are the daemon's.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flask import Flask, Response

from cometwatch.errors import CometwatchError
from cometwatch.web.app import error_response

if TYPE_CHECKING:
    from cometwatch.config import Config, Secret
    from cometwatch.daemon import Daemon
    from cometwatch.web.context import SiteContext

StartResponse = Callable[..., Any]


class _Mounted:
    def __init__(self, daemon: Daemon, config: Config) -> None:
        self.daemon, self.config = daemon, config
        self.app: Flask | None = None
        self.context: SiteContext | None = None
        self.lock = threading.Lock()

    def open(self) -> Flask | str:
        """The site's app, or why there is none yet."""
        from cometwatch.web.app import create_app
        from cometwatch.web.context import SiteContext

        with self.lock:
            if self.app is not None:
                return self.app
            if self.daemon.metrics is None:
                return "the site is starting"
            try:
                self.context = SiteContext.open(self.config, poke=self.daemon.poke,
                                                metrics=self.daemon.metrics)
            except CometwatchError as exc:
                return str(exc)
            self.app = create_app(self.context)
            return self.app

    def close(self) -> None:
        with self.lock:
            if self.context is not None:
                self.context.close()
            self.app = self.context = None


class FleetRouter:
    def __init__(self, metrics_token: Secret | None = None) -> None:
        from cometwatch.web.metrics import FleetScrape

        self.metrics_token = metrics_token  # the fleet's /metrics needs it when set
        self._sites: dict[str, _Mounted] = {}
        self._lock = threading.Lock()
        self._scrape = FleetScrape()

    def mount(self, workspace: str, daemon: Daemon, config: Config) -> None:
        with self._lock:
            old = self._sites.get(workspace)
            self._sites[workspace] = _Mounted(daemon, config)
        if old is not None:
            old.close()

    def unmount(self, workspace: str) -> None:
        with self._lock:
            old = self._sites.pop(workspace, None)
        if old is not None:
            old.close()

    def close(self) -> None:
        with self._lock:
            sites, self._sites = list(self._sites.values()), {}
        for site in sites:
            site.close()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "") or "/"
        parts = path.split("/")
        if path == "/metrics" or path == "/metrics/":
            return self._metrics(environ, start_response)
        if parts[1:4] == ["api", "v1", "workspaces"] and len(parts) > 4:
            return self._to(parts[4], environ, start_response, prefix="", rest=path)
        if parts[1:3] == ["hooks", "push"] and len(parts) == 4:
            return self._to(parts[3], environ, start_response, prefix="", rest="/hooks/push")
        if parts[1:2] == ["sites"] and len(parts) > 2:
            rest = "/" + "/".join(parts[3:])
            return self._to(parts[2], environ, start_response,
                            prefix=f"/sites/{parts[2]}", rest=rest)
        if path in ("/admin", "/admin/", "/sites", "/sites/"):
            return self._index(environ, start_response)
        if parts[1:3] == ["api", "v1"]:
            return _answer(error_response(400, "workspace_required", "A workspace is required: "
                                          "/api/v1/workspaces/{workspace}/…"),
                           environ, start_response)
        return _answer(error_response(404, "not_found", "Not found."), environ, start_response)

    def _to(self, workspace: str, environ: dict[str, Any], start_response: StartResponse,
            prefix: str, rest: str) -> Iterable[bytes]:
        with self._lock:
            site = self._sites.get(workspace)
        if site is None:
            return _answer(error_response(404, "not_found", "Workspace not found."), environ,
                           start_response)
        app = site.open()
        if isinstance(app, str):
            response = error_response(503, "unavailable", f"Workspace not available: {app}.")
            response.headers["Retry-After"] = "5"
            return _answer(response, environ, start_response)
        environ = {**environ, "SCRIPT_NAME": environ.get("SCRIPT_NAME", "") + prefix,
                   "PATH_INFO": rest}
        result: Iterable[bytes] = app(environ, start_response)
        return result

    def _index(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """The fleet's admin page: a section per site, linking to its own admin."""
        with self._lock:
            names = sorted(self._sites)
        root = html.escape(environ.get("SCRIPT_NAME", ""))
        items = "".join(
            f'<li><h2>{html.escape(name)}</h2><a href="{root}/sites/{quote(name)}/admin/">'
            f'admin</a> · <a href="{root}/api/v1/workspaces/{quote(name)}/health">API</a> · '
            f'<a href="{root}/sites/{quote(name)}/metrics">metrics</a></li>' for name in names)
        page = (f"<!doctype html><html lang=en><meta charset=utf-8><title>cometwatch sites"
                f"</title><h1>cometwatch: {len(names)} site{'s' if len(names) != 1 else ''}"
                f"</h1><ul>{items}</ul></html>")
        response = Response(page, content_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-store",
                                     "Content-Security-Policy": "default-src 'none'",
                                     "X-Content-Type-Options": "nosniff"})
        return _answer(response, environ, start_response)

    def _metrics(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        from cometwatch.web.metrics import bearer_problem

        token = self.metrics_token
        if token is not None:
            problem = bearer_problem(environ.get("HTTP_AUTHORIZATION", ""), token.reveal())
            if problem:
                response = error_response(401, "unauthorized", problem)
                response.headers["WWW-Authenticate"] = 'Bearer realm="cometwatch metrics"'
                return _answer(response, environ, start_response)
        with self._lock:
            sites = list(self._sites.items())
        opened = []
        for workspace, site in sites:
            app = site.open()
            if not isinstance(app, str) and site.context is not None:
                opened.append((workspace, site.context))
        body, content_type = self._scrape.render(opened)
        return _answer(Response(body, content_type=content_type,
                                headers={"Cache-Control": "no-store"}), environ, start_response)


def _answer(response: Response, environ: dict[str, Any],
            start_response: StartResponse) -> Iterable[bytes]:
    result: Iterable[bytes] = response(environ, start_response)
    return result
