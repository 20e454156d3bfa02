"""systemd integration without a dependency: sd_notify over $NOTIFY_SOCKET, the watchdog
interval, and log lines journald files under the right priority.

Outside systemd every call here is a no-op, so the daemon talks to it unconditionally.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Mapping

log = logging.getLogger("cometwatch.notify")


class Notifier:
    """Sends sd_notify datagrams ("READY=1", "STATUS=…", "WATCHDOG=1", "STOPPING=1")."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET", "")
        # "@name" is a socket in the abstract namespace: its address starts with a NUL byte.
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._socket: socket.socket | None = None
        self._failed = False
        self.watchdog_interval = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        return bool(self._address)

    def ready(self, status: str) -> None:
        self.send(f"READY=1\nSTATUS={status}\nMAINPID={os.getpid()}")

    def status(self, text: str) -> None:
        self.send(f"STATUS={text}")

    def watchdog(self) -> None:
        if self.watchdog_interval is not None:
            self.send("WATCHDOG=1")

    def reloading(self) -> None:
        self.send("RELOADING=1")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def send(self, message: str) -> None:
        if not self._address:
            return
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
                self._socket.setblocking(False)  # never stall the daemon on a full queue
            self._socket.sendto(message.encode(), self._address)
            self._failed = False
        except OSError as exc:
            if not self._failed:  # a lost status line is not worth one warning per second
                log.warning("sd_notify to %s failed: %s", self._address.lstrip("\0"), exc)
                self._failed = True

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    """Half of $WATCHDOG_USEC in seconds (systemd's advice), when the watchdog is meant for
    this process."""
    try:
        usec = int(env.get("WATCHDOG_USEC", "0"))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2_000_000


_PRIORITIES = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
               logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """`<N>message`: journald reads the syslog priority N from the prefix and adds the time
    itself, so no timestamp is written."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self._inner = inner

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITIES.get(record.levelno, 6)
        # A multi-line record (a traceback) keeps its priority on every line.
        return "\n".join(f"<{priority}>{line}"
                         for line in self._inner.format(record).splitlines() or [""])


def stderr_is_journal(environ: Mapping[str, str] | None = None) -> bool:
    """True when stderr is connected to journald ($JOURNAL_STREAM names its device:inode)."""
    env = os.environ if environ is None else environ
    device, _, inode = env.get("JOURNAL_STREAM", "").partition(":")
    if not device or not inode:
        return False
    try:
        stat = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return f"{stat.st_dev}:{stat.st_ino}" == f"{device}:{inode}"
