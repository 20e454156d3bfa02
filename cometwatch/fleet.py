"""Many sites in one daemon: `cometwatch run --config fleet.toml`.

A fleet file names the sites' own config files; each keeps its repository, content rules,
webhooks, state file and `[server]` workspace, API tokens and push secrets:

    [fleet]
    sites = ["sites/*/webhooks.toml", "/srv/shop/webhooks.toml"]  # paths or globs
    listen = "127.0.0.1:8750"   # optional: every site's API, push receiver and metrics
    delivery_threads = 16       # shared by every site's webhooks, fairly (cometwatch.sendpool)
    metrics_token = { env = "METRICS_TOKEN" }   # for /metrics, every site's: file, env, value

Every site runs as a Daemon of its own in a thread of this process (its scans, its fetches,
its dispatcher's coordinator), all of them sharing one file watcher (one thread, one inotify
instance), one set of delivery threads taken by the webhooks in turn and, with `listen`, one
HTTP server. A site that cannot be loaded (a broken config, a workspace or
repository another site has) is reported and skipped; one whose repository is missing waits
for it, as a single daemon does; neither stops the others. SIGHUP reads the fleet file again:
sites added start, sites removed stop, the others reload their own config. SIGTERM stops all.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
import time
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cometwatch.config import Config, Secret, load_config
from cometwatch.config.reader import Where
from cometwatch.config.sources import Sources
from cometwatch.errors import CometwatchError, ConfigError
from cometwatch.notify import Notifier
from cometwatch.process import Signals
from cometwatch.progress import counted
from cometwatch.sendpool import DEFAULT_THREADS, SendPool

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver

    from cometwatch.daemon import Daemon
    from cometwatch.web.router import FleetRouter
    from cometwatch.web.server import Server

log = logging.getLogger("cometwatch.fleet")

_KEYS = {"sites", "listen", "delivery_threads", "metrics_token"}
READY_WITHIN = 300.0  # seconds a start waits for its sites' first scans before READY anyway


@dataclass(frozen=True, slots=True)
class FleetConfig:
    file: Path
    patterns: tuple[str, ...]  # as written
    listen: str | None = None
    host: str = "127.0.0.1"
    port: int = 8750
    delivery_threads: int = DEFAULT_THREADS
    metrics_token: Secret | None = None  # for the fleet's /metrics (a site's own: its config)

    def site_files(self) -> list[Path]:
        """The sites' config files, globs expanded (sorted), in the order written, once each."""
        base = self.file.resolve().parent
        found: dict[Path, None] = {}
        for pattern in self.patterns:
            path = Path(pattern).expanduser()
            text = str(path if path.is_absolute() else base / path)
            matches = sorted(glob.glob(text)) if glob.has_magic(text) else [text]
            for match in matches:
                found.setdefault(Path(match).resolve(), None)
        return list(found)


def is_fleet_file(path: Path) -> bool:
    """True when `path` is TOML with a [fleet] table (else: a one-site config, or not ours)."""
    try:
        return isinstance(tomllib.loads(path.read_text(encoding="utf-8")).get("fleet"), dict)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False


def read_fleet(path: Path) -> FleetConfig:
    """The fleet file. Raises ConfigError naming the file, the key and the fix."""
    from cometwatch.web.server import is_loopback, parse_listen

    where = str(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(where, "", f"cannot be read: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(where, "", f"not valid TOML: {exc}", "fix the syntax") from exc
    extra = sorted(set(data) - {"fleet"})
    if extra:
        raise ConfigError(where, extra[0], "not allowed in a fleet file", "a site's settings go "
                          "in its own config file, named in [fleet] sites")
    table: dict[str, Any] = data["fleet"]
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(where, f"fleet.{unknown[0]}", "unknown key",
                          "known keys: " + ", ".join(sorted(_KEYS)))
    sites = table.get("sites")
    if not isinstance(sites, list) or not sites or \
            not all(isinstance(s, str) and s and "\x00" not in s for s in sites):
        raise ConfigError(where, "fleet.sites", "must be a non-empty list of paths or globs",
                          'write it as sites = ["sites/*/webhooks.toml"]')
    threads = table.get("delivery_threads", DEFAULT_THREADS)
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= 1024:
        raise ConfigError(where, "fleet.delivery_threads", f"{threads!r} is not a number "
                          "from 1 to 1024", f"the default is {DEFAULT_THREADS}")
    token = None
    if "metrics_token" in table:
        sources = Sources(path.resolve().parent, os.environ, [])
        token = sources.item(Where(where, "fleet.metrics_token"), table["metrics_token"])
    listen = table.get("listen")
    if listen is None:
        return FleetConfig(path, tuple(sites), delivery_threads=threads, metrics_token=token)
    if not isinstance(listen, str):
        raise ConfigError(where, "fleet.listen", "must be a string",
                          'write it as listen = "127.0.0.1:8750"')
    try:
        host, port = parse_listen(listen)
    except ValueError as exc:
        raise ConfigError(where, "fleet.listen", str(exc)) from None
    if not is_loopback(host):
        raise ConfigError(where, "fleet.listen", f"{host} is not a loopback address",
                          "a fleet serves on loopback only; put a reverse proxy in front")
    return FleetConfig(path, tuple(sites), listen, host, port, threads, token)


@dataclass(frozen=True, slots=True)
class Refused:
    file: Path
    reason: str


def load_sites(fleet: FleetConfig) -> tuple[list[tuple[Path, Config]], list[Refused]]:
    """Each site's config, and the sites refused with why: a config that does not load, or a
    workspace, repository or state file an earlier site has."""
    good: list[tuple[Path, Config]] = []
    refused: list[Refused] = []
    taken: dict[tuple[str, str], Path] = {}
    for file in fleet.site_files():
        try:
            config = load_config(str(file), serving=fleet.listen is not None)
        except ConfigError as exc:
            refused.append(Refused(file, str(exc)))
            continue
        keys = [("workspace", config.server.workspace),
                ("repository", str(config.repository.path.resolve()))]
        if config.state_path is not None:
            keys.append(("state file", str(config.state_path.resolve())))
        clash = next(((what, value) for what, value in keys if (what, value) in taken), None)
        if clash is not None:
            refused.append(Refused(file, f"its {clash[0]} {clash[1]!r} is {taken[clash]}'s "
                                         "already"))
            continue
        taken.update({key: file for key in keys})
        good.append((file, config))
    return good, refused


class SiteRun:
    """One site of the fleet: a Daemon in a thread, driven through Signals of its own."""

    def __init__(self, file: Path, config: Config, observer: BaseObserver | None,
                 watch: bool, pool: SendPool) -> None:
        from cometwatch.daemon import Daemon

        self.file, self.workspace = file, config.server.workspace
        self.signals = Signals()
        self.daemon: Daemon = Daemon(config, str(file), self.signals, Notifier({}),
                                     watch=watch, serve=False, measure=True, observer=observer,
                                     pool=pool)
        self.config = config
        if config.server.listen is not None:
            log.warning("site %s: its [server] listen is not used in a fleet; the fleet serves "
                        "every site on [fleet] listen", self.workspace)
        self.thread = threading.Thread(target=self._run, name=f"cometwatch-site:{self.workspace}",
                                       daemon=True)
        self.failure: str | None = None

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        try:
            self.daemon.run()
        except CometwatchError as exc:
            self.failure = str(exc)
            log.error("site %s stopped: %s", self.workspace, exc)
        except Exception as exc:  # one site's bug never ends the others
            self.failure = f"{type(exc).__name__}: {exc}"
            log.exception("site %s stopped unexpectedly", self.workspace)

    def stop(self, hurry: bool = False) -> None:
        self.signals.hurry = hurry and self.signals.stop
        self.signals.stop = True
        self.signals.wake.set()

    def reload(self) -> None:
        self.signals.reload = True
        self.signals.wake.set()

    def poke(self) -> None:
        self.signals.poked = True
        self.signals.wake.set()


class SiteLabel(logging.Filter):
    """Puts `[workspace] ` before the lines a site's threads log (cometwatch-site:<ws> and
    the threads it names after itself), so one log serves many sites."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.threadName or ""
        if name.startswith("cometwatch-") and ":" in name and \
                not getattr(record, "_site_labelled", False):
            record.msg = f"[{name.rsplit(':', 1)[1]}] {record.msg}"
            record._site_labelled = True  # one label however many handlers see it
        return True


class Fleet:
    def __init__(self, file: Path, signals: Signals, notifier: Notifier,
                 watch: bool = True) -> None:
        self._file = file
        self._signals = signals
        self._notifier = notifier
        self._watch = watch
        self._sites: dict[Path, SiteRun] = {}
        self._observer: BaseObserver | None = None
        self._router: FleetRouter | None = None
        self._server: Server | None = None
        self._fleet = read_fleet(file)
        self._label = SiteLabel()
        # One set of delivery threads for every site, fair per webhook (cometwatch.sendpool).
        self._pool = SendPool(self._fleet.delivery_threads)

    @property
    def sites(self) -> dict[str, SiteRun]:
        return {run.workspace: run for run in self._sites.values()}

    def run(self) -> int:
        from cometwatch.watcher import shared_observer

        for handler in logging.getLogger("cometwatch").handlers:
            handler.addFilter(self._label)
        _raise_file_limit()
        try:
            if self._watch:
                self._observer = shared_observer()
            if self._fleet.listen is not None:
                self._start_server()
            self._apply(self._fleet)
            self._await_ready(self._sites.values())
            self._notifier.ready(self._status())
            self._loop()
            return 0
        finally:
            self._shutdown()

    def _start_server(self) -> None:
        from cometwatch.web.router import FleetRouter
        from cometwatch.web.server import Server

        self._router = FleetRouter(self._fleet.metrics_token)
        self._server = Server(self._router, self._fleet.host, self._fleet.port)
        self._server.start()
        log.info("serving the fleet's sites on %s", self._server.url)

    def _await_ready(self, runs: Iterable[SiteRun]) -> None:
        """Until every site took its first scan (or waits for its repository), or stopped:
        READY then means each site's baseline is taken, as one daemon's READY does."""
        deadline = time.monotonic() + READY_WITHIN
        for run in list(runs):
            while not run.daemon.ready.wait(0.2) and run.thread.is_alive():
                if self._signals.stop or time.monotonic() > deadline:
                    return
                if self._notifier.watchdog_interval:
                    self._notifier.watchdog()

    def _loop(self) -> None:
        while not self._signals.stop:
            interval = self._notifier.watchdog_interval
            self._signals.wake.wait(interval * 0.5 if interval else 60.0)
            self._signals.wake.clear()
            if interval:
                self._notifier.watchdog()
            if self._signals.stop:
                break
            if self._signals.reload:
                self._signals.reload = False
                self._reload()
            if self._signals.poked:
                self._signals.poked = False
                for run in self._sites.values():
                    run.poke()

    def _apply(self, fleet: FleetConfig) -> None:
        """Start the sites `fleet` names that do not run, stop those it no longer names."""
        good, refused = load_sites(fleet)
        for site in refused:
            log.error("site %s skipped: %s", site.file, site.reason)
        wanted = dict(good)
        for file in [f for f in self._sites if f not in wanted]:
            run = self._sites.pop(file)
            log.info("site %s removed from the fleet: stopping it", run.workspace)
            if self._router is not None:
                self._router.unmount(run.workspace)
            run.stop()
            run.thread.join(run.config.daemon.shutdown_timeout + 5.0)
        for file, config in good:
            running = self._sites.get(file)
            if running is None:
                self._begin(file, config)
            elif running.workspace != config.server.workspace or not running.thread.is_alive():
                self._restart(file, config)
            else:
                running.reload()
        log.info("fleet: %s running, %s skipped", counted(len(self._sites), "site"),
                 counted(len(refused), "site"))

    def _begin(self, file: Path, config: Config) -> None:
        run = SiteRun(file, config, self._observer, self._watch, self._pool)
        self._sites[file] = run
        run.start()
        if self._router is not None:
            self._router.mount(run.workspace, run.daemon, config)

    def _restart(self, file: Path, config: Config) -> None:
        old = self._sites.pop(file)
        if self._router is not None:
            self._router.unmount(old.workspace)
        old.stop()
        old.thread.join(old.config.daemon.shutdown_timeout + 5.0)
        self._begin(file, config)

    def _reload(self) -> None:
        self._notifier.reloading()
        try:
            fleet = read_fleet(self._file)
        except ConfigError as exc:
            log.error("reload refused, the running fleet is kept: %s", exc)
            self._notifier.ready(self._status())
            return
        if (fleet.listen, fleet.host, fleet.port) != \
                (self._fleet.listen, self._fleet.host, self._fleet.port):
            log.warning("[fleet] listen changed: that takes a restart; until then the old "
                        "value stays")
            fleet = FleetConfig(fleet.file, fleet.patterns, self._fleet.listen,
                                self._fleet.host, self._fleet.port, fleet.delivery_threads,
                                fleet.metrics_token)
        if self._router is not None:
            self._router.metrics_token = fleet.metrics_token
        if fleet.delivery_threads != self._fleet.delivery_threads:
            log.warning("[fleet] delivery_threads changed: that takes a restart")
        self._fleet = fleet
        before = set(self._sites.values())
        self._apply(fleet)
        self._await_ready(run for run in self._sites.values() if run not in before)
        self._notifier.ready(self._status())

    def _status(self) -> str:
        return f"{counted(len(self._sites), 'site')} running"

    def _shutdown(self) -> None:
        self._notifier.stopping()
        if self._server is not None:
            self._server.stop()
        runs = list(self._sites.values())
        for run in runs:  # all at once: each lets its requests in flight finish
            run.stop()
        deadline = time.monotonic() + max((r.config.daemon.shutdown_timeout for r in runs),
                                          default=0.0) + 5.0
        for run in runs:
            if self._signals.hurry:
                run.stop(hurry=True)
            run.thread.join(max(deadline - time.monotonic(), 0.1))
        self._pool.close(timeout=1.0)
        if self._router is not None:
            self._router.close()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(5.0)
        self._notifier.close()
        for handler in logging.getLogger("cometwatch").handlers:
            handler.removeFilter(self._label)


def _raise_file_limit() -> None:
    """A site keeps about a dozen descriptors open (its state database, git processes'
    pipes, the watcher's and HTTP's sockets): 100 sites pass the soft limit of 1,024 that
    systemd and most shells give. Raise it to the hard limit, as Go's runtime does."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20) if soft != resource.RLIM_INFINITY else soft
    if soft != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            log.warning("cannot raise the open files limit from %d: %s", soft, exc)

