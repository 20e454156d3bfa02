"""What a request handler needs of one site: its config, the state (read-only), the
repository's blobs, a way to wake the daemon, and a clock.

Handlers run on several waitress threads at once: each thread opens its own read-only store
connection (`reader()`), and the one git cat-file process behind `Blobs` is taken in turns.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cometwatch.config import ServerConfig

if TYPE_CHECKING:
    from cometwatch.config import Config
    from cometwatch.gitrepo import Repository
    from cometwatch.store import Store
    from cometwatch.web.metrics import Metrics

BLOB_CACHE_BYTES = 32 * 1024 * 1024  # bodies kept decoded; a blob never changes under its sha


class Blobs:
    """Blob contents by sha from one repository, for any thread, with a bounded cache."""

    def __init__(self, repo: Repository, cache_bytes: int = BLOB_CACHE_BYTES) -> None:
        self._repo = repo
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._limit = cache_bytes

    def read(self, shas: list[str], limit: int = 16 * 1024 * 1024) -> dict[str, bytes]:
        """The blobs of `shas` (each cut at `limit` bytes). Raises RepositoryError."""
        with self._lock:
            found = {sha: self._cache[sha] for sha in shas if sha in self._cache}
            for sha in found:
                self._cache.move_to_end(sha)
            missing = [sha for sha in shas if sha not in found]
            if missing:
                for sha, data in self._repo.read_blobs(missing, limit).items():
                    found[sha] = data
                    self._keep(sha, data)
        return found

    def _keep(self, sha: str, data: bytes) -> None:
        if len(data) > self._limit // 8:
            return
        self._cache[sha] = data
        self._bytes += len(data)
        while self._bytes > self._limit:
            _, dropped = self._cache.popitem(last=False)
            self._bytes -= len(dropped)

    def close(self) -> None:
        with self._lock:
            self._repo.close()


@dataclass(frozen=True, slots=True)
class SiteContext:
    config: Config
    server: ServerConfig
    state_path: Path
    branch: str
    blobs: Blobs
    poke: Callable[[], None] | None = None  # wake the daemon (a push arrived); None: `serve`
    clock: Callable[[], float] = time.time
    # The daemon's counters (its dispatcher's observer); under `serve`, a fresh set.
    metrics: Metrics = field(default_factory=lambda: _new_metrics())
    _readers: threading.local = field(default_factory=threading.local)

    @classmethod
    def open(cls, config: Config, poke: Callable[[], None] | None = None,
             clock: Callable[[], float] = time.time,
             server: ServerConfig | None = None,
             metrics: Metrics | None = None) -> SiteContext:
        """The context of the site `config` describes. Raises RepositoryError."""
        from cometwatch.source import Source
        from cometwatch.store import Store

        source = Source.open(config)
        try:
            path = Store.default_path(config, source.repo)
        except BaseException:
            source.close()
            raise
        return cls(config, server or config.server, path, source.branch,
                   Blobs(source.repo), poke, clock, metrics or _new_metrics())

    def reader(self) -> Store:
        """This thread's read-only connection to the state. Raises StateError."""
        from cometwatch.store import Store

        store: Store | None = getattr(self._readers, "store", None)
        if store is None:
            store = Store.open_reader(self.state_path)
            self._readers.store = store
        return store

    def close(self) -> None:
        self.blobs.close()


def _new_metrics() -> Metrics:
    from cometwatch.web.metrics import Metrics

    return Metrics()
