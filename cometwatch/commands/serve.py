"""`cometwatch serve`: the HTTP face (Public API, Webhooks page, push, metrics) without the
daemon: it never scans or sends deliveries; the Webhooks page is what writes."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "serve", help="serve the Public API and the Webhooks page, without the daemon",
        description="Serve the read routes of CometCMS's Public API (/api/v1/workspaces/"
                    "{workspace}/...) over the entries at the state's cursor, and the "
                    "Webhooks page (/admin/), the push receiver and /metrics. It never scans "
                    "or sends deliveries: `cometwatch run` keeps the state current and sends "
                    "them (with [server] listen, it serves all this itself). The API is "
                    "read-only; the Webhooks page, once logged in with the admin token, "
                    "writes: Save rewrites webhooks.toml; disable, enable, redeliver and "
                    "recover change the state (what they queue waits for `run` or `scan`); "
                    "Run now sends one signed webhook.manual test request to that webhook. "
                    "A repository with no state yet gets its baseline first, as `scan "
                    "--no-deliver` would take it. SIGTERM and SIGINT stop it.")
    parser.add_argument("--listen", metavar="HOST:PORT",
                        help="address to listen on (default: [server] listen, else "
                             "127.0.0.1:8750; port 0 picks a free one); [::1]:PORT for IPv6")
    parser.add_argument("--public", action="store_true",
                        help="allow a non-loopback address (as [server] public = true)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.process import Signals

    signals = Signals()
    signals.install()

    import logging

    from cometwatch.config import load_config
    from cometwatch.errors import UsageError
    from cometwatch.web.app import create_app
    from cometwatch.web.context import SiteContext
    from cometwatch.web.server import Server, is_loopback, parse_listen

    log = logging.getLogger("cometwatch")
    config = load_config(args.config, secrets=False, serving=True)
    for warning in config.warnings:
        log.warning("%s", warning)
    site = SiteContext.open(config)
    try:
        host, port = site.server.host, site.server.port
        if args.listen is not None:
            try:
                host, port = parse_listen(args.listen)
            except ValueError as exc:
                raise UsageError(f"--listen {exc}") from None
        public = args.public or site.server.public
        if not is_loopback(host) and not public:
            raise UsageError(f"{host} is not a loopback address: the API would be reachable "
                             "from other machines; pass --public (or set [server] public = "
                             "true) if that is meant")
        _ensure_state(config, site)
        server = Server(create_app(site), host, port)
        server.start()
        try:
            where = "" if is_loopback(host) else " (PUBLIC: reachable from other machines)"
            print(f"serving {site.server.workspace!r} ({site.branch}) on {server.url}"
                  f"{where}: {server.url}/api/v1/workspaces/{site.server.workspace}/health",
                  flush=True)
            from cometwatch.web.admin import announce
            announce(site, server.url)
            while not signals.stop:
                signals.wake.wait(3600.0)
                signals.wake.clear()
        finally:
            server.stop()
    finally:
        site.close()
    return 0


def _ensure_state(config: Any, site: Any) -> None:
    """A first `serve` takes the baseline (nothing is sent: there is no dispatcher here), and
    an older state file is migrated by this one writable open."""
    import time

    from cometwatch.progress import counted
    from cometwatch.scanner import Scanner
    from cometwatch.source import Source
    from cometwatch.store import Store

    with Store.open(site.state_path) as store:
        if store.cursor(site.branch) is not None:
            return
        with Source.open(config) as source:
            result = Scanner(config, store, source).scan(time.time())
    print(f"no state yet: took the baseline of {site.branch} at {(result.cursor or '')[:12]} "
          f"({counted(result.commits, 'commit')} read); nothing is sent", flush=True)
