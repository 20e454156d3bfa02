"""An flock on a file beside the state: the one lock cometwatch takes, for two purposes.

The dispatch lock (`state.db.lock`) makes one process at a time send from a state file; the
pid file (`cometwatch.pid`) makes one daemon at a time run on it and tells git hooks its pid.
The kernel drops an flock when its process dies, however it dies: a lock left by a `kill -9`
is simply taken over.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

from cometwatch.errors import StateError


class FileLock:
    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self._what = what  # for messages: "the dispatch lock", "the pid file"
        self._handle: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> bool:
        """Take the lock without waiting; False while another process holds it."""
        if self._handle is not None:
            return True
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a+b")
        except OSError as exc:
            raise StateError(f"{self.path}: cannot open {self._what}: "
                             f"{exc.strerror or exc}") from exc
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        except OSError as exc:
            handle.close()
            raise StateError(f"{self.path}: cannot lock {self._what}: "
                             f"{exc.strerror or exc}") from exc
        self._handle = handle
        return True

    def still_there(self) -> bool:
        """Whether the file locked is still the one at the path (a process releasing it
        may have unlinked it after it was opened: then the lock guards nothing)."""
        if self._handle is None:
            return False
        try:
            return os.stat(self.path).st_ino == os.fstat(self._handle.fileno()).st_ino
        except FileNotFoundError:
            return False

    def write(self, text: str) -> None:
        """Replace the file's content (held)."""
        assert self._handle is not None
        self._handle.seek(0)
        self._handle.truncate()
        self._handle.write(text.encode())
        self._handle.flush()

    def read(self) -> str:
        """The file's content, held or not ('' when unreadable)."""
        try:
            return self.path.read_text(encoding="ascii", errors="replace")
        except OSError:
            return ""

    def release(self, unlink: bool = False) -> None:
        if self._handle is None:
            return
        if unlink:  # before unlocking: a waiting process then finds the path gone, not ours
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self._handle.close()
        self._handle = None
