"""`cometwatch run`: the loop. Wake → scan → let the dispatcher send.

The main thread owns the repository and the state connection and does every scan. It sleeps
on one wake-up pipe, set by the ref watcher, by SIGUSR1 (a git hook's poke), by SIGHUP, SIGTERM and
SIGINT, and by the fetcher in remote mode; between wakes it keeps three clocks: the poll
fallback, the next scheduled publish or expiry, and the systemd watchdog. Wakes that arrive
together give one scan; a wake during a scan gives exactly one more. Delivery runs in its own
thread (the Dispatcher), so a slow endpoint never delays a scan.

Nothing here is fatal but a broken config at start and a state database that cannot be
opened: a missing branch, a locked repository, a missing object or a failed fetch is logged
and tried again with backoff.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cometwatch import utc
from cometwatch.config import Config, load_config
from cometwatch.errors import CometwatchError, ConfigError, StateError, Stopping
from cometwatch.notify import Notifier
from cometwatch.observe import NO_OBSERVER
from cometwatch.process import PidFile, Signals, Wakeup, pid_path
from cometwatch.progress import counted
from cometwatch.redaction import redact_text
from cometwatch.retry import Backoff

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver

    from cometwatch.delivery import Sender
    from cometwatch.dispatcher import Dispatcher
    from cometwatch.scanner import Scanner, ScanResult
    from cometwatch.sendpool import SendPool
    from cometwatch.source import Source
    from cometwatch.store import Store
    from cometwatch.watcher import RefWatcher
    from cometwatch.web.context import SiteContext
    from cometwatch.web.metrics import Metrics
    from cometwatch.web.server import Server

log = logging.getLogger("cometwatch.daemon")

FETCH_BACKOFF_CAP = 600.0
STATUS_EVERY = 2.0  # seconds between STATUS= lines that need a count of the outbox


def _site_suffix() -> str:
    """":<workspace>" when started from a fleet's site thread (named cometwatch-site:<ws>),
    so the fleet's log lines can name the site of the threads a site starts."""
    name = threading.current_thread().name
    return name[len("cometwatch-site"):] if name.startswith("cometwatch-site:") else ""


class Retrying:
    """A task that keeps failing, told in the log: a failure once until its message changes,
    and when it works again. How long to wait is retry.Backoff's. `named`: the failures'
    messages say what failed already, `what` is not put before them."""

    def __init__(self, what: str, named: bool = False) -> None:
        self.what = what
        self._named = named
        self._backoff = Backoff()

    @property
    def failures(self) -> int:
        return self._backoff.failures

    def failed(self, message: str, cap: float) -> float:
        delay, new = self._backoff.failed(message, cap)
        text = message if self._named else f"{self.what}: {message}"
        if new:
            log.warning("%s (trying again, backing off up to %.0fs)", text, cap)
        else:
            log.debug("%s (again; next try in %.1fs)", text, delay)
        return delay

    def succeeded(self) -> None:
        failures = self._backoff.succeeded()
        if failures:
            log.info("%s: works again after %s", self.what,
                     counted(failures, "failed try", "failed tries"))


FETCH_FAILING = "fetch-failing.json"  # beside the state database, while fetches fail


def fetch_failure(state_dir: Path) -> dict[str, Any] | None:
    """What a running daemon's failing fetches left for `cometwatch status`: since, last_try
    (seconds since the epoch) and error; None while fetches work (or in local mode)."""
    try:
        record = json.loads((state_dir / FETCH_FAILING).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not all(
            isinstance(record.get(key), float | int) for key in ("since", "last_try")):
        return None
    return {"since": float(record["since"]), "last_try": float(record["last_try"]),
            "error": redact_text(str(record.get("error", "")))}  # git names the remote


class Fetcher:
    """Remote mode: `git fetch` the branch every fetch_interval (sooner when poked), in a
    thread of its own with its own repository handle, so a slow remote never holds up a scan
    or a stop. Calls `fetched` after every attempt. While fetches fail, `record` (a small
    JSON file) says since when and why, for `cometwatch status`."""

    def __init__(self, config: Config, branch: str, fetched: Wakeup,
                 record: Path | None = None) -> None:
        self._config = config
        self._branch = branch
        self._fetched = fetched
        self._record = record
        self._failing_since: float | None = None
        self._recorded = True  # a record a killed daemon left is removed by the first success
        self._stop = threading.Event()
        self._now = threading.Event()
        self.attempted = threading.Event()  # the first attempt is over (baseline after it)
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"cometwatch-fetch{_site_suffix()}")

    def start(self) -> None:
        self._thread.start()

    def kick(self) -> None:
        """Fetch now (any thread). Kicks coalesce: during a fetch, any number of them make
        exactly one more fetch after it, so one is in flight and at most one queued."""
        self._now.set()

    @property
    def queued(self) -> bool:
        """A kick waits for the next fetch."""
        return self._now.is_set()

    def reload(self, config: Config) -> None:
        self._config = config

    def stop(self) -> None:
        # A fetch in progress is not waited for: it is a git subprocess that ends on its own.
        self._stop.set()
        self._now.set()
        self._note(None)  # a stopped daemon's fetches are not failing

    def _run(self) -> None:
        from cometwatch.gitrepo import Repository

        # The fetch's error names the branch and remote itself.
        backoff = Retrying(f"fetching {self._branch} from {self._config.repository.remote}",
                          named=True)
        repo: Repository | None = None
        while not self._stop.is_set():
            settings = self._config.repository
            error: str | None = None
            try:
                if repo is None:
                    repo = Repository(settings.path)
                repo.fetch(settings.remote or "origin", self._branch)
                backoff.succeeded()
                delay = settings.fetch_interval
            except CometwatchError as exc:
                error = str(exc)
                delay = backoff.failed(error, max(settings.fetch_interval, FETCH_BACKOFF_CAP))
            except Exception as exc:  # never let the thread die silently
                log.exception("fetching failed unexpectedly")
                error = f"{type(exc).__name__}: {exc}"
                delay = backoff.failed(error, FETCH_BACKOFF_CAP)
            if not self._stop.is_set():
                self._note(error)
            self.attempted.set()
            self._fetched.set()
            self._now.wait(delay)
            self._now.clear()
        if repo is not None:
            repo.close()

    def _note(self, error: str | None) -> None:
        """Write (or, once fetches work, remove) the record of failing fetches."""
        if self._record is None or (error is None and not self._recorded):
            return
        try:
            if error is None:
                self._failing_since = None
                self._record.unlink(missing_ok=True)
                self._recorded = False
                return
            now = time.time()
            self._failing_since = self._failing_since or now
            partial = self._record.with_name(f".{self._record.name}.tmp")
            partial.write_text(json.dumps({"since": self._failing_since, "last_try": now,
                                           "error": error}), encoding="utf-8")
            partial.replace(self._record)
            self._recorded = True
        except OSError as exc:  # status only: never worth stopping the fetches for
            log.debug("cannot write %s: %s", self._record, exc)


class Daemon:
    def __init__(self, config: Config, config_file: str | None, signals: Signals,
                 notifier: Notifier, watch: bool = True, serve: bool = True,
                 measure: bool = False, observer: BaseObserver | None = None,
                 pool: SendPool | None = None) -> None:
        """`serve`: serve [server] listen when it is set; `measure`: keep Metrics even so
        (a fleet serves its sites itself); `observer` and `pool`: the watchdog observer and
        the delivery threads shared by the sites of a fleet."""
        self._pool = pool
        self._config = config
        self._config_file = config_file
        self._signals = signals
        self._notifier = notifier
        self._watch = watch
        self._serve = serve and config.server.listen is not None
        # Set with READY: after the first scan, or once waiting for the repository (a fleet
        # says READY when all its sites have).
        self.ready = threading.Event()
        self._measure = measure or self._serve
        self._observer = observer
        self._wake = signals.wake
        self._source: Source | None = None
        self._store: Store | None = None
        self._scanner: Scanner | None = None
        self._watcher: RefWatcher | None = None
        self._fetcher: Fetcher | None = None
        self._sender: Sender | None = None
        self._dispatcher: Dispatcher | None = None
        self._dispatch_thread: threading.Thread | None = None
        self._dispatch_stop = threading.Event()
        self._dispatch_wake = threading.Event()
        self._pid_file: PidFile | None = None
        self._metrics: Metrics | None = None  # kept while [server] listen serves /metrics
        self._site: SiteContext | None = None
        self._server: Server | None = None
        self._scan_backoff = Retrying("scanning")
        self._retry_at: float | None = None  # monotonic: a failed scan is tried again then
        self._timer: float | None = None  # wall clock: the next scheduled transition
        self._last_scan: float = 0.0  # wall clock `now` of the last successful scan
        self._cursor: str | None = None
        self._stop_deadline = float("inf")
        self._pinged = 0.0
        self._status_at = float("-inf")

    @property
    def metrics(self) -> Metrics | None:
        """The counters /metrics serves (the dispatcher's observer); None without [server]
        listen."""
        return self._metrics

    def poke(self) -> None:
        """A forge said the branch moved (POST /hooks/push), or the Webhooks page queued a
        redelivery: fetch now in remote mode, scan now in local mode, and look at the outbox
        now. Safe from any thread; pokes coalesce (Fetcher.kick, the wake-up pipe), so a burst
        of them costs one fetch or scan in flight and at most one more."""
        fetcher = self._fetcher
        if fetcher is not None:
            fetcher.kick()
        elif not self._config.repository.remote:
            self._wake.set()
        self._dispatch_wake.set()

    # -- the whole life -------------------------------------------------------------------

    def run(self) -> int:
        try:
            if not self._open():
                return 0  # stopped before the repository could be opened
            self._start_threads()
            self._first_scan()
            self._loop()
            return 0
        finally:
            self._shutdown()

    def _open(self) -> bool:
        """Open the repository (retrying while it cannot be read), the state and the pid
        file. False when a stop came first."""
        from cometwatch.source import Source
        from cometwatch.store import Store

        backoff = Retrying(f"opening {self._config.repository.path}")
        while self._source is None:
            try:
                self._source = Source.open(self._config)
            except CometwatchError as exc:
                delay = backoff.failed(str(exc), self._config.repository.poll_interval)
                if backoff.failures == 1:
                    # Up and waiting (a file system mounted later): not a failed start.
                    self._notifier.ready(f"waiting: {exc}"[:200])
                    self.ready.set()
                if self._sleep(delay):
                    return False
        backoff.succeeded()
        path = Store.default_path(self._config, self._source.repo)
        self._pid_file = PidFile(pid_path(path))
        try:
            self._pid_file.acquire()
        except OSError as exc:
            raise StateError(f"cannot write {self._pid_file.path}: {exc.strerror}; check "
                             "[state] path and its permissions") from exc
        self._store = Store.open(path)
        from cometwatch.scanner import Scanner

        self._scanner = Scanner(self._config, self._store, self._source)
        where = (f"{self._config.repository.remote}/{self._source.branch}"
                 if self._config.repository.remote else self._source.branch)
        enabled = sum(1 for hook in self._config.webhooks if hook.enabled)
        log.info("watching %s in %s; %s; state %s (pid %d)", where,
                 self._config.repository.path, counted(enabled, "webhook"), path, os.getpid())
        return True

    def _start_threads(self) -> None:
        from cometwatch.delivery import Sender
        from cometwatch.dispatcher import Dispatcher

        assert self._source is not None and self._store is not None
        self._sender = Sender()
        if self._measure:
            from cometwatch.config import EVENT_NAMES
            from cometwatch.web.metrics import Metrics

            hooks = self._config.webhooks
            self._metrics = Metrics(max((hook.timeout for hook in hooks), default=15.0))
            self._metrics.prepare((hook.name for hook in hooks), EVENT_NAMES)
        self._dispatcher = Dispatcher(self._config, self._store.path, self._sender,
                                      observer=self._metrics or NO_OBSERVER, pool=self._pool)
        self._dispatch_thread = threading.Thread(target=self._dispatch,
                                                 name=f"cometwatch-dispatch{_site_suffix()}",
                                                 daemon=True)
        self._dispatch_thread.start()
        if self._watch:
            self._start_watcher()
        if self._config.repository.remote:
            self._fetcher = Fetcher(self._config, self._source.branch, self._wake,
                                    self._store.path.parent / FETCH_FAILING)
            self._fetcher.start()
        if self._serve:
            self._start_server()

    def _start_server(self) -> None:
        """[server] listen: the Public API, admin, push receivers and metrics, served from
        this process. A push pokes a fetch (or a scan); /metrics reads the dispatcher's
        counters. An address that cannot be bound stops the start (one line, exit 1)."""
        from cometwatch.web.app import create_app
        from cometwatch.web.context import SiteContext
        from cometwatch.web.server import Server, is_loopback

        site = SiteContext.open(self._config, poke=self.poke, metrics=self._metrics)
        server = Server(create_app(site), self._config.server.host, self._config.server.port)
        try:
            server.start()
        except BaseException:
            site.close()
            raise
        self._site, self._server = site, server
        where = "" if is_loopback(server.host) else " (PUBLIC: reachable from other machines)"
        log.info("serving %s on %s%s", site.server.workspace, server.url, where)
        from cometwatch.web.admin import announce

        # Printed, not logged: the log redacts URLs' query strings, and this one is the point.
        announce(site, server.url, lambda line: print(line, file=sys.stderr, flush=True))

    def _start_watcher(self) -> None:
        from cometwatch.watcher import RefWatcher

        assert self._source is not None
        repo = self._source.repo
        watcher = RefWatcher(repo.git_dir, repo.common_dir, self._source.ref, self._wake.set,
                             shared=self._observer)
        try:
            watcher.start()
        except CometwatchError as exc:
            log.warning("%s", exc)
            return
        self._watcher = watcher

    def _dispatch(self) -> None:
        """The dispatcher's thread: it runs until stopped, and is started again after an
        unexpected error rather than leaving deliveries unsent."""
        assert self._dispatcher is not None
        while not self._dispatch_stop.is_set():
            try:
                self._dispatcher.run(self._dispatch_stop, self._dispatch_wake)
            except Exception:
                log.exception("delivery stopped unexpectedly; starting it again in 5s")
                self._dispatch_stop.wait(5.0)

    def _first_scan(self) -> None:
        # In remote mode the baseline is the remote's tip after a first fetch, not whatever
        # an old clone had.
        while self._fetcher is not None and not self._fetcher.attempted.is_set():
            self._wake.wait(1.0)
            self._wake.clear()
            self._ping()
            if self._signals.stop:
                return
        self._scan()
        # READY after the first attempt even if it failed (a branch not pushed yet): the
        # daemon is up and will keep trying; STATUS says what it waits for.
        self._notifier.ready(self._status(force=True))
        self.ready.set()

    def _loop(self) -> None:
        next_poll = time.monotonic() + self._config.repository.poll_interval
        while not self._signals.stop:
            woke = self._wake.wait(self._until_next(next_poll))
            if self._signals.stop:
                break
            self._wake.clear()
            self._ping()
            if self._signals.reload:
                self._signals.reload = False
                self._reload()
            if self._signals.poked:
                self._signals.poked = False
                if self._fetcher is not None:
                    self._fetcher.kick()
                # `redeliver` and `recover` poke too: what they reopened is sent now, not at
                # the dispatcher's next idle look (up to IDLE_POLL later).
                self._dispatch_wake.set()
            mono, wall = time.monotonic(), time.time()
            polled = mono >= next_poll
            retry = self._retry_at is not None and mono >= self._retry_at
            timer = self._timer is not None and wall >= self._timer
            if woke or polled or retry or timer:
                if timer:
                    log.debug("a scheduled publish or expiry fell due")
                self._scan()
                next_poll = time.monotonic() + self._config.repository.poll_interval

    def _until_next(self, next_poll: float) -> float:
        mono, wall = time.monotonic(), time.time()
        moments = [next_poll - mono]
        if self._retry_at is not None:
            moments.append(self._retry_at - mono)
        if self._timer is not None:
            moments.append(self._timer - wall + 0.001)
        if self._notifier.watchdog_interval is not None:
            moments.append(self._pinged + self._notifier.watchdog_interval - mono)
        return max(min(moments), 0.0)

    # -- one scan -------------------------------------------------------------------------

    def _scan(self) -> None:
        assert self._scanner is not None and self._store is not None
        now = time.time()
        started = time.monotonic()
        try:
            before = self._store.last_event_id() if self._metrics is not None else 0
            result = self._scanner.scan(now, progress=self._progress)
        except Stopping:
            log.info("stopping in the middle of a scan; nothing of it was stored, the next "
                     "start derives it again")
            return
        except CometwatchError as exc:
            self._failed(str(exc))
            return
        except Exception as exc:  # a bug must not end the daemon: log it, back off, go on
            log.exception("scan failed unexpectedly")
            self._failed(f"{type(exc).__name__}: {exc}")
            return
        self._scan_backoff.succeeded()
        if self._metrics is not None:
            self._measured(time.monotonic() - started, before, result.events)
        self._retry_at = None
        self._last_scan = now
        self._cursor = result.cursor
        timer = self._scanner.next_timer()
        self._timer = timer if timer is not None and timer > now else None
        self._report(result)
        if result.deliveries:
            self._dispatch_wake.set()
        if self._watcher is not None:
            self._watcher.refresh()
        self._notifier.status(self._status(force=bool(result.events)))

    def _measured(self, seconds: float, before: int, events: int) -> None:
        assert self._metrics is not None and self._store is not None
        try:
            names = self._store.event_names_after(before) if events else {}
        except CometwatchError as exc:  # metrics never fail a scan
            log.debug("cannot count the events stored: %s", exc)
            names = {}
        self._metrics.scanned(seconds, names)

    def _failed(self, message: str) -> None:
        delay = self._scan_backoff.failed(message, self._config.repository.poll_interval)
        self._retry_at = time.monotonic() + delay
        self._notifier.status(f"waiting: {message}"[:200])

    def _report(self, result: ScanResult) -> None:
        where = f"{self._source.branch if self._source else '?'} at {(result.cursor or '')[:12]}"
        if result.baseline:
            log.info("baseline: %s (%s read); earlier history is not sent", where,
                     counted(result.commits, "commit"))
        elif result.events or result.commits:
            log.info("%s: %s, %s, %s", where, counted(result.commits, "commit"),
                     counted(result.events, "event"),
                     counted(result.deliveries, "delivery", "deliveries"))
        if self._timer is not None:
            log.debug("next scheduled transition at %s",
                      utc.iso(self._timer))

    def _progress(self, step: int) -> None:
        """Called per commit during a scan: it keeps the systemd watchdog fed through a long
        first read of history, and lets a stop end the scan after shutdown_timeout."""
        self._ping()
        if self._signals.stop:
            if self._stop_deadline == float("inf"):
                self._stop_deadline = time.monotonic() + self._config.daemon.shutdown_timeout
            if self._signals.hurry or time.monotonic() >= self._stop_deadline:
                raise Stopping

    def _ping(self) -> None:
        interval = self._notifier.watchdog_interval
        if interval is None:
            return
        mono = time.monotonic()
        if mono - self._pinged >= interval * 0.9:
            self._notifier.watchdog()
            self._pinged = mono

    def _status(self, force: bool = False) -> str:
        where = f"{self._source.branch}@{(self._cursor or 'none')[:12]}" if self._source \
            else "starting"
        if self._scan_backoff.failures:
            return f"cursor {where}; scan failing, retrying"
        mono = time.monotonic()
        if self._store is None or (not force and mono - self._status_at < STATUS_EVERY):
            return f"cursor {where}"
        self._status_at = mono
        try:
            # Not counts(): its GROUP BY over every delivery ever kept read each row, 2 s
            # apart; the open ones alone are in a partial index (benchmarks/status.py).
            pending = self._store.open_total()
        except CometwatchError:
            return f"cursor {where}"
        return f"cursor {where}; {counted(pending, 'delivery', 'deliveries')} pending"

    # -- SIGHUP ---------------------------------------------------------------------------

    def _reload(self) -> None:
        self._notifier.send(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            config = load_config(self._config_file,
                                 serving=self._config.server.listen is not None)
        except ConfigError as exc:
            log.error("reload refused, the running config is kept: %s", exc)
            self._notifier.ready(self._status(force=True))
            return
        for warning in config.warnings:
            log.warning("%s", warning)
        old, new = self._config, config
        fixed = [name for name, before, after in (
            ("[repository] path", old.repository.path, new.repository.path),
            ("[repository] branch", old.repository.branch, new.repository.branch),
            ("[repository] remote", old.repository.remote, new.repository.remote),
            ("[state] path", old.state_path, new.state_path),
            ("[server]", old.server, new.server)) if before != after]
        if fixed:
            log.warning("%s changed: that takes a restart; until then the old value stays",
                        ", ".join(fixed))
        self._config = config
        if self._scanner is not None:
            self._scanner.reload(config)
        if self._dispatcher is not None:
            self._dispatcher.reload(config)
        if self._fetcher is not None:
            self._fetcher.reload(config)
        self._dispatch_wake.set()
        log.info("config reloaded: %s enabled",
                 counted(sum(1 for hook in config.webhooks if hook.enabled), "webhook"))
        self._notifier.ready(self._status(force=True))
        self._wake.set()  # rules may have changed what is due: scan once more

    # -- the end --------------------------------------------------------------------------

    def _shutdown(self) -> None:
        self._notifier.stopping()
        if self._signals.stop:
            log.info("stopping")
        if self._server is not None:
            self._server.stop()
        if self._site is not None:
            self._site.close()
        if self._watcher is not None:
            self._watcher.stop()
        if self._fetcher is not None:
            self._fetcher.stop()
        thread = self._dispatch_thread
        if thread is not None:
            self._dispatch_stop.set()
            self._dispatch_wake.set()
            # The dispatcher lets requests in flight finish within shutdown_timeout, cuts the
            # rest (they stay due, sent again at the next start) and joins its workers; the
            # margin covers the cut and the last batch's write. A second signal cuts at once.
            deadline = time.monotonic() + self._config.daemon.shutdown_timeout + 2.0
            hurried = False
            while thread.is_alive():
                if self._signals.hurry and not hurried and self._sender is not None:
                    self._sender.abort()
                    hurried, deadline = True, min(deadline, time.monotonic() + 2.0)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                thread.join(min(left, 0.2))
            if thread.is_alive():
                log.warning("requests still in flight are abandoned; they stay due and are "
                            "sent again at the next start")
            elif self._sender is not None:
                self._sender.close()
        if self._store is not None:
            self._store.close()
        if self._source is not None:
            self._source.close()
        if self._pid_file is not None:
            self._pid_file.release()
        self._notifier.close()

    def _sleep(self, seconds: float) -> bool:
        """Wait `seconds` or until a stop; True when stopping."""
        deadline = time.monotonic() + seconds
        while not self._signals.stop:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._wake.wait(min(left, self._notifier.watchdog_interval or left))
            self._wake.clear()
            self._ping()
        return True
