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
WARM_BATCH = 256  # blobs read ahead per turn of the lock: request threads interleave
WARM_BLOB_BYTES = 64 * 1024  # larger bodies are read when first asked for


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

    def warm(self, shas: list[str]) -> None:
        """Read ahead, in batches (one pipe round trip per batch, not per blob), the blobs of
        `shas` not cached yet, while they fit in three quarters of the cache: a catalog's
        first readers then find their bodies in memory. Raises RepositoryError."""
        missing = [sha for sha in dict.fromkeys(shas) if sha not in self._cache]
        # a byte past the largest blob read ahead: one that size is cut, so not kept, and
        # read whole when it is asked for (a batch holds at most WARM_BATCH such cuts)
        cut = min(self._limit // 8, WARM_BLOB_BYTES) + 1
        for start in range(0, len(missing), WARM_BATCH):
            with self._lock:
                chunk = [sha for sha in missing[start:start + WARM_BATCH]
                         if sha not in self._cache]
                for sha, data in self._repo.read_blobs(chunk, cut).items():
                    if self._bytes + len(data) > self._limit * 3 // 4:
                        return  # never push out what readers use
                    if len(data) < cut:
                        self._keep(sha, data)

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
