"""The daemon's process plumbing: signals turned into a wake-up pipe, and the pid file that
git hooks read to poke it."""

from __future__ import annotations

import contextlib
import os
import select
import signal
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from cometwatch.errors import StateError
from cometwatch.locks import FileLock

PID_FILE = "cometwatch.pid"


def pid_path(state_path: Path) -> Path:
    """Where the daemon of a state database writes its pid (git hooks read it)."""
    return state_path.parent / PID_FILE


class Wakeup:
    """The main loop's alarm: set by signal handlers, the ref watcher and the fetcher.

    A non-blocking self-pipe, not a threading.Event: Event.set takes a lock, and a signal
    handler that runs while the main thread holds it (inside another set) deadlocks.
    Writing a byte is safe from a handler and from any thread.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    @property
    def write_fd(self) -> int:
        return self._write

    def set(self) -> None:
        with contextlib.suppress(OSError):  # the pipe is full: it is set already
            os.write(self._write, b"!")

    def wait(self, timeout: float) -> bool:
        """True when set (now or within `timeout` seconds); does not clear."""
        ready, _, _ = select.select([self._read], [], [], max(timeout, 0.0))
        return bool(ready)

    def clear(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._read, 4096):
                pass

    def close(self) -> None:
        os.close(self._read)
        os.close(self._write)


@dataclass(slots=True)
class Signals:
    """What the signal handlers asked for; `wake` is set by every one of them. The handlers
    only assign flags and write to the pipe: nothing that takes a lock."""

    wake: Wakeup = field(default_factory=Wakeup)
    stop: bool = False
    hurry: bool = False  # a second SIGTERM/SIGINT: do not wait for requests in flight
    reload: bool = False
    poked: bool = False

    def install(self) -> None:
        # A signal may land on any thread; the C-level handler then writes to this pipe, so
        # the main thread's select() wakes and runs the Python handlers below.
        signal.set_wakeup_fd(self.wake.write_fd, warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)
        signal.signal(signal.SIGUSR1, self._on_poke)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.hurry = self.stop
        self.stop = True
        self.wake.set()

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:
        self.reload = True
        self.wake.set()

    def _on_poke(self, signum: int, frame: FrameType | None) -> None:
        self.poked = True
        self.wake.set()


class PidFile:
    """The daemon's pid next to its state, held under an flock: a second daemon on the same
    state is refused, and a pid file left by a killed one is simply taken over."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock: FileLock | None = None

    def acquire(self) -> None:
        for _ in range(3):
            lock = FileLock(self.path, "the pid file")
            if not lock.acquire():
                other = (lock.read().split() or ["?"])[0]
                raise StateError(f"another `cometwatch run` (pid {other}) is using "
                                 f"{self.path.parent}; stop it first")
            # A daemon stopping right now unlinks the file after we opened it: start over.
            if lock.still_there():
                lock.write(f"{os.getpid()}{_start_time()}\n")
                self._lock = lock
                return
            lock.release()
        raise StateError(f"{self.path}: kept changing while cometwatch started; try again")

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release(unlink=True)
            self._lock = None


def _start_time() -> str:
    """" <start time>" (field 22 of /proc/self/stat) where /proc exists: git hooks compare it
    so that a pid reused after a kill -9 is never signalled."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return f" {fields[19]}" if len(fields) > 19 else ""
