"""The watchdog edge: the only module that imports watchdog.

A commit, a push, a fetch or a `git update-ref` ends with git renaming `<ref>.lock` onto the
ref file (or onto `packed-refs`, or `HEAD`). We watch the few directories those files live in,
never the object store, ask inotify only for creations, renames, deletions and closed writes
(not opens or reads, so our own git commands cause no events), and wake the daemon when one of
the watched files is the target.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import (
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from cometwatch.errors import RepositoryError

try:  # the Linux (inotify) backend
    from watchdog.observers.inotify_move_event_grouper import InotifyMoveEventGrouper
except ImportError:  # pragma: no cover - other platforms have no such grouper
    pass
else:
    # watchdog holds the first half of a rename for up to 0.5 s to pair it with the second,
    # and a reader that saw the first half alone sleeps those 0.5 s even once the pair is
    # complete: 500 ms commit-to-webhook outliers in benchmarks/latency.py. We only need the
    # path of either half (an unpaired `main.lock` → `main` arrives as `main` created), so
    # pairing buys nothing here.
    InotifyMoveEventGrouper.delay = 0.0

log = logging.getLogger("cometwatch.watch")

_EVENTS: list[type[FileSystemEvent]] = [FileCreatedEvent, FileMovedEvent, FileDeletedEvent,
                                        FileClosedEvent]


def watched_files(git_dir: Path, common_dir: Path, ref: str) -> frozenset[Path]:
    """The files whose change may move `ref`: its loose file, packed-refs, and HEAD (in a
    linked worktree its own HEAD; refs and packed-refs live in the common dir)."""
    return frozenset({common_dir / ref, common_dir / "packed-refs", git_dir / "HEAD",
                      common_dir / "HEAD"})


def watch_roots(git_dir: Path, common_dir: Path, ref: str) -> list[tuple[Path, bool]]:
    """(directory, recursive) pairs covering `watched_files`: the git dirs themselves without
    their subfolders, and the deepest existing folder of the ref's namespace (recursively, so a
    branch `team/post` created later is seen; refs/heads and refs/remotes/<remote> hold a
    handful of folders, unlike objects/)."""
    roots: dict[Path, bool] = {common_dir: False, git_dir: False}
    parts = ref.split("/")
    # refs/heads/<name> → refs/heads; refs/remotes/<remote>/<name> → refs/remotes/<remote>
    depth = 3 if parts[:2] == ["refs", "remotes"] else 2
    namespace = common_dir.joinpath(*parts[:depth])
    while not namespace.is_dir() and namespace != common_dir:
        namespace = namespace.parent
    if namespace != common_dir:
        roots[namespace] = True
    return sorted(roots.items())


class _Handler(FileSystemEventHandler):
    def __init__(self, files: frozenset[Path], on_change: Callable[[], None]) -> None:
        self._files = frozenset(str(path) for path in files)
        self._on_change = on_change

    def on_any_event(self, event: FileSystemEvent) -> None:
        paths = (event.src_path, getattr(event, "dest_path", "") or "")
        if any(_text(path) in self._files for path in paths):
            log.debug("%s %s", event.event_type, event.src_path)
            self._on_change()


def _text(path: str | bytes) -> str:
    return path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path


class RefWatcher:
    """Calls `on_change` (from watchdog's thread) soon after the watched ref may have moved.
    `on_change` must be cheap and thread-safe: setting an Event is the intended use."""

    def __init__(self, git_dir: Path, common_dir: Path, ref: str,
                 on_change: Callable[[], None], shared: BaseObserver | None = None) -> None:
        self._git_dir, self._common_dir, self._ref = git_dir, common_dir, ref
        self._handler = _Handler(watched_files(git_dir, common_dir, ref), on_change)
        self._observer: BaseObserver | None = None
        # Many sites in one daemon share one observer (one thread, one inotify instance: the
        # kernel allows a user 128 of those); each site schedules and unschedules its own.
        self._shared = shared
        self._watches: list[ObservedWatch] = []
        self._roots: list[tuple[Path, bool]] = []
        self._lock = threading.Lock()

    @property
    def roots(self) -> list[tuple[Path, bool]]:
        return list(self._roots)

    def start(self) -> None:
        with self._lock:
            self._start(watch_roots(self._git_dir, self._common_dir, self._ref))

    def refresh(self) -> None:
        """Watch the ref's own namespace once it exists (refs/remotes/origin appears with the
        first fetch); cheap when nothing changed."""
        roots = watch_roots(self._git_dir, self._common_dir, self._ref)
        with self._lock:
            if roots != self._roots and self._observer is not None:
                self._stop()
                self._start(roots)

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _start(self, roots: Iterable[tuple[Path, bool]]) -> None:
        if self._shared is not None:
            self._start_shared(self._shared, list(roots))
            return
        observer = Observer()
        observer.daemon = True
        chosen = list(roots)
        try:
            for path, recursive in chosen:
                observer.schedule(self._handler, str(path), recursive=recursive,
                                  event_filter=_EVENTS)
            observer.start()
        except OSError as exc:  # inotify limits reached, a folder gone meanwhile
            raise RepositoryError(f"cannot watch {self._common_dir}: {exc} (cometwatch polls "
                                  "instead)") from exc
        self._observer, self._roots = observer, chosen
        log.debug("watching %s", ", ".join(f"{p}{'/**' if r else ''}" for p, r in chosen))

    def _start_shared(self, observer: BaseObserver, chosen: list[tuple[Path, bool]]) -> None:
        try:
            for path, recursive in chosen:
                self._watches.append(observer.schedule(
                    self._handler, str(path), recursive=recursive, event_filter=_EVENTS))
        except OSError as exc:
            self._unschedule(observer)
            raise RepositoryError(f"cannot watch {self._common_dir}: {exc} (cometwatch polls "
                                  "instead)") from exc
        self._observer, self._roots = observer, chosen

    def _unschedule(self, observer: BaseObserver) -> None:
        for watch in self._watches:
            with contextlib.suppress(KeyError, OSError):
                observer.unschedule(watch)
        self._watches = []

    def _stop(self) -> None:
        if self._shared is not None:
            self._unschedule(self._shared)
            self._observer = None
            return
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5.0)
            self._observer = None


def shared_observer() -> BaseObserver:
    """A started observer for the RefWatchers of many sites (`RefWatcher(..., shared=)`); the
    caller stops it once every watcher has."""
    observer = Observer()
    observer.daemon = True
    observer.start()
    return observer
