"""Where the repository meets the engine: the walk over a branch's history, save by save.

One `git log` stream, blobs fetched in batches for a chunk of commits, each blob parsed once.
`cometwatch events`, `check`, the scanner (and so the daemon and the hooks' baseline) all
derive through `history` and `snapshot`, so they agree on every event and id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple

from cometwatch.commits import Change, Commit
from cometwatch.config import ContentRules
from cometwatch.engine import Engine
from cometwatch.entry import locate
from cometwatch.gitrepo import CommitMissing, Repository
from cometwatch.identity import Record
from cometwatch.payload import ContentEvent

log = logging.getLogger("cometwatch.engine")

HEAD_BYTES = 1 << 20  # of a larger blob only its head is read: frontmatter sits at the top
_CHUNK = 256  # commits whose blobs are fetched together
_READ_SLICE = 1024  # blobs read and parsed before the next are read
_MODE = "100644"  # what the ledger's side of a change is taken for: it keeps no modes


class Save(NamedTuple):
    """The events of one commit (or of a force-push diff), and the commit they lead to."""

    commit: str
    time: int
    events: list[ContentEvent]


def history(repo: Repository, engine: Engine, base: str | None, tip: str,
            on_commit: Callable[[int], None] | None = None,
            now: float | None = None) -> Iterator[Save]:
    """The saves from `base` (exclusive; None: the root) to `tip`, oldest first, states
    evaluated no later than `now` (the wall clock; None: the commit times alone).

    When `base` is not an ancestor of `tip` (a force push), the two trees are diffed as one
    save, dated by the tip, and a warning is logged. When `base` is gone from the repository
    (a force push, then `git gc`), the entries the engine's ledger holds stand in for its tree.
    A walk from the root of a shallow clone warns: its ids come from a truncated history.
    """
    if base == tip:
        return
    if base is None:
        warn_if_shallow(repo)
    else:
        try:
            rewritten = not repo.is_ancestor(base, tip)
        except CommitMissing:
            log.warning("%s is gone from the repository (history was rewritten, then pruned): "
                        "comparing the entries it held with the tree of %s as one save",
                        base[:12], tip[:12])
            engine.ledger.load_all()  # the diff goes over every entry the ledger holds
            yield _one_save(repo, engine, tip, tree_changes(engine.ledger.entries,
                                                            repo.tree(tip), engine.rules), now)
            return
        if rewritten:
            log.warning("%s is not an ancestor of %s (history was rewritten): diffing the two "
                        "trees as one save", base[:12], tip[:12])
            yield _one_save(repo, engine, tip, repo.diff(base, tip), now)
            return
    chunk: list[Commit] = []
    for commit in repo.walk(base, tip):
        chunk.append(commit)
        if len(chunk) >= _CHUNK:
            yield from _saves(repo, engine, chunk, on_commit, now)
            chunk = []
    yield from _saves(repo, engine, chunk, on_commit, now)


def snapshot(repo: Repository, engine: Engine, tip: str, now: float,
             warn_shallow: bool = True) -> int:
    """The tree of `tip` as one save from nothing, evaluated at `now` (what `check` counts).
    Returns how many files it read."""
    if warn_shallow:
        warn_if_shallow(repo)
    changes = repo.diff(None, tip)
    _learn(repo, engine, engine.wanted_blobs(changes))
    engine.save(tip, int(now), changes, now)
    return len(changes)


def shallow_warning(repo: Repository) -> str | None:
    if not repo.shallow:
        return None
    return (f"{repo.path} is a shallow clone: derived ids come from a truncated history and "
            "differ from a full clone's; `git fetch --unshallow` gives the stable ones")


def warn_if_shallow(repo: Repository) -> None:
    warning = shallow_warning(repo)
    if warning is not None:
        log.warning("%s", warning)


def tree_changes(entries: Mapping[str, Record], tree: Mapping[str, tuple[str, str]],
                 rules: ContentRules) -> tuple[Change, ...]:
    """The raw changes from the entries a ledger holds to a tree (path → (mode, blob)), where
    the old tree itself is gone: an entry whose blob reappears, unchanged, at a new path is a
    rename (a changed one is git's to pair, and git no longer can)."""
    now = {path: held for path, held in tree.items() if locate(path, held[0], rules)}
    added: dict[str, list[str]] = {}
    for path in sorted(now.keys() - entries.keys()):
        added.setdefault(now[path][1], []).append(path)
    changes = []
    for path in sorted(entries):
        sha = entries[path].sha
        if path in now:
            if now[path][1] != sha:
                changes.append(Change("M", path, path, sha, now[path][1], _MODE, now[path][0]))
        elif added.get(sha):
            moved = added[sha].pop(0)
            changes.append(Change("R", path, moved, sha, sha, _MODE, now[moved][0]))
        else:
            changes.append(Change("D", path, None, sha, None, _MODE, None))
    changes += [Change("A", None, path, None, sha, None, now[path][0])
                for sha, paths in added.items() for path in paths]
    return tuple(changes)


def _one_save(repo: Repository, engine: Engine, tip: str, changes: tuple[Change, ...],
              now: float | None) -> Save:
    _learn(repo, engine, engine.wanted_blobs(changes))
    time = repo.commit_time(tip)
    return Save(tip, time, engine.save(tip, time, changes, now))


def _saves(repo: Repository, engine: Engine, chunk: list[Commit],
           on_commit: Callable[[int], None] | None, now: float | None) -> Iterator[Save]:
    wanted: list[str] = []
    for commit in chunk:
        wanted.extend(engine.wanted_blobs(commit.changes))
    _learn(repo, engine, wanted)
    for commit in chunk:
        yield Save(commit.sha, commit.time, engine.save(commit.sha, commit.time,
                                                         commit.changes, now))
        if on_commit:
            on_commit(1)


def _learn(repo: Repository, engine: Engine, wanted: list[str]) -> None:
    # a slice at a time: a bulk import of 100,000 files never holds all their bytes at once
    wanted = list(dict.fromkeys(wanted))
    for start in range(0, len(wanted), _READ_SLICE):
        engine.learn(repo.read_blobs(wanted[start:start + _READ_SLICE], HEAD_BYTES))
