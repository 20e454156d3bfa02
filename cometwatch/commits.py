"""Pure: a commit and its raw changes, as values.

cometwatch.gitrepo reads them from git; the engine derives events from them; a test or a
replay can build them by hand. A path is git's bytes decoded with surrogateescape: lossless
(`path.encode("utf-8", "surrogateescape")` gives the bytes back), whatever the bytes are.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Change:
    """One raw change between two trees; old_* or new_* is None when absent."""

    status: str  # A, D, M, R, T
    old_path: str | None
    new_path: str | None
    old_sha: str | None
    new_sha: str | None
    old_mode: str | None
    new_mode: str | None


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    time: int  # committer time, seconds since the epoch
    changes: tuple[Change, ...]
