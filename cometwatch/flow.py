"""Where the repository meets the engine: the walk over a branch's history, save by save.

One `git log` stream, blobs fetched in batches for a chunk of commits, each blob parsed once;
the site model brought to each commit that changes it. `cometwatch events`, `check`, the
scanner (and so the daemon and the hooks' baseline) all derive through `history` and
`read_tree`, so they agree on every event and id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import NamedTuple

from cometwatch.commits import Change, Commit
from cometwatch.config import ContentRules
from cometwatch.engine import Engine
from cometwatch.entry import Location, locate
from cometwatch.gitrepo import CommitMissing, Repository
from cometwatch.identity import PARTS, Record, StoredRows
from cometwatch.payload import ContentEvent

log = logging.getLogger("cometwatch.engine")

HEAD_BYTES = 1 << 20  # of a larger blob only its head is read: frontmatter sits at the top
_CHUNK = 256  # commits whose blobs are fetched together
_READ_SLICE = 256  # blobs read and parsed while the next are read
_AHEAD_BATCH = 64  # commits whose blobs are asked for at once while git lists the rest
_AHEAD = 50_000  # changes of a scoped walk read whole before it is derived (see _read_ahead)
_MODE = "100644"  # what the ledger's side of a change is taken for: it keeps no modes


class Save(NamedTuple):
    """The events of one commit (or of a force-push diff), and the commit they lead to."""

    commit: str
    time: int
    events: list[ContentEvent]


def history(repo: Repository, engine: Engine, base: str | None, tip: str,
            on_commit: Callable[[int], None] | None = None,
            now: float | None = None, stored: StoredRows | None = None) -> Iterator[Save]:
    """The saves from `base` (exclusive; None: the root) to `tip`, oldest first, states
    evaluated no later than `now` (the wall clock; None: the commit times alone). A ledger
    read from the store is given the `stored` rows each chunk touches before it is derived.

    When `base` is not an ancestor of `tip` (a force push), the two trees are diffed as one
    save, dated by the tip, and a warning is logged. When `base` is gone from the repository
    (a force push, then `git gc`), the entries the engine's ledger holds stand in for its tree.
    A walk from the root of a shallow clone warns: its ids come from a truncated history.
    """
    if base == tip:
        return
    sites = engine.sites
    if not sites.static and sites.commit != base:
        # the site as it stood at the base: its steering files in the base's tree
        sites.reset(repo.tree(base) if base else {}, _reader(repo), base)
    if base is None:
        warn_if_shallow(repo)
    else:
        try:
            rewritten = not repo.is_ancestor(base, tip)
        except CommitMissing:
            log.warning("%s is gone from the repository (history was rewritten, then pruned): "
                        "comparing the entries it held with the tree of %s as one save",
                        base[:12], tip[:12])
            whole(engine, stored)  # the diff goes over every entry the ledger holds
            tree = repo.tree(tip)
            _resite(repo, engine, tip, tree, stored)
            yield _one_save(repo, engine, tip, tree_changes(engine.ledger.entries, tree,
                                                            engine.rules, engine.locate),
                            now, stored)
            return
        if rewritten:
            log.warning("%s is not an ancestor of %s (history was rewritten): diffing the two "
                        "trees as one save", base[:12], tip[:12])
            changes = repo.diff(base, tip)
            yield _one_save(repo, engine, tip, changes + _resite(repo, engine, tip, None,
                                                                 stored, changes),
                            now, stored)
            return
    last = base  # the last commit saved
    while True:
        # only the history of the folders entries lie in and of the site's config files: on a
        # repository of code and docs, most commits are never read
        scope = _scope(engine)
        chunk: list[Commit] = []
        asked: list[Commit] = []  # the chunk before, its blobs asked for: derived next
        moved: str | None = None
        paths = scope if _worth(repo, engine, tip, scope) else ()
        ahead = _read_ahead(repo, engine, base, tip, paths) if paths else None
        for commit in ahead if ahead is not None else repo.walk(base, tip, paths):
            chunk.append(commit)
            if len(chunk) >= _CHUNK:
                # git reads this chunk's blobs while the one before is derived
                _ask(repo, engine, chunk)
                moved = yield from _saves(repo, engine, asked, on_commit, now, stored, scope)
                last = asked[-1].sha if asked and not moved else last
                asked, chunk = chunk, []
                if moved:
                    break
        else:
            moved = yield from _saves(repo, engine, asked, on_commit, now, stored, scope)
            if not moved:
                moved = yield from _saves(repo, engine, chunk, on_commit, now, stored, scope)
                last = (chunk or asked)[-1].sha if chunk or asked else last
        if not moved:
            break
        base = last = moved  # the site's folders changed there: read on from it, in the new ones
    if last != tip:
        # the commits after the last one read touch nothing of the site: the tip's time still
        # passes, and the dates it passes publish (or expire) entries
        time = repo.commit_time(tip)
        yield Save(tip, time, engine.save(tip, time, (), now))
        if on_commit:
            on_commit(1)


def _worth(repo: Repository, engine: Engine, tip: str, scope: tuple[str, ...]) -> bool:
    """Whether limiting the walk to `scope` can skip anything: the tip's top level holds
    something else. (git then diffs each commit twice, once to prune it, once to show it; a
    repository that is all content reads faster whole.) Asked once per scope."""
    if not scope:
        return False
    known = engine.sites.worth
    if scope not in known:
        known[scope] = bool(repo.top_names(tip) - set(scope))
    return known[scope]


def _scope(engine: Engine) -> tuple[str, ...]:
    """The repository paths whose history can change the entries: the folders they lie in and
    the files that steer the site; () for the whole tree."""
    folders = engine.sites.site.scope()
    steering = engine.sites.pathspecs()
    if "" in folders or steering is None:
        return ()
    return tuple(sorted({*folders, *steering}))


def advance(engine: Engine, moment: float, stored: StoredRows | None = None
            ) -> list[ContentEvent]:
    """The scheduled transitions due by `moment` (their entries fetched first)."""
    fetch(engine, stored, (), moment)
    return engine.advance(moment)


def fetch(engine: Engine, stored: StoredRows | None, changes: Iterable[Change],
          until: float) -> None:
    """Give a ledger read from the store the rows saving `changes` (their blobs learnt) and
    the timers due by `until` touch: one query, and one more for the rows those lead to."""
    ledger = engine.ledger
    if ledger.whole:
        return
    assert stored is not None, "a ledger read from the store needs its rows"
    wanted = ledger.missing(engine.wants(changes, until))
    while wanted:
        wanted = ledger.absorb(wanted, stored.rows(wanted))


def whole(engine: Engine, stored: StoredRows | None) -> None:
    """Every stored row into the engine's ledger, for work over all of it."""
    if not engine.ledger.whole:
        assert stored is not None, "a ledger read from the store needs its rows"
        engine.ledger.absorb_whole({part: stored.part(part) for part in PARTS})


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
                 rules: ContentRules,
                 where: Callable[[str, str], Location | None] | None = None
                 ) -> tuple[Change, ...]:
    """The raw changes from the entries a ledger holds to a tree (path → (mode, blob)), where
    the old tree itself is gone: an entry whose blob reappears, unchanged, at a new path is a
    rename (a changed one is git's to pair, and git no longer can)."""
    def located(path: str, mode: str) -> Location | None:
        return where(path, mode) if where is not None else locate(path, mode, rules)

    now = {path: held for path, held in tree.items() if located(path, held[0])}
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


def read_tree(repo: Repository, engine: Engine, rev: str, moment: int) -> list[ContentEvent]:
    """Every entry of the tree of `rev`, as one save from nothing at `moment`, under the site
    that tree gives (`check`, `entries`). Its ids are the paths' own: `history` gives those a
    branch has."""
    tree = repo.tree(rev)
    engine.sites.reset(tree, _reader(repo), rev)
    changes = tree_changes({}, tree, engine.rules, engine.locate)
    _learn(repo, engine, engine.wanted_blobs(changes))
    return engine.save(rev, moment, changes)


def _one_save(repo: Repository, engine: Engine, tip: str, changes: tuple[Change, ...],
              now: float | None, stored: StoredRows | None) -> Save:
    _learn(repo, engine, engine.wanted_blobs(changes))
    time = repo.commit_time(tip)
    fetch(engine, stored, changes, _bounded(time, now))
    return Save(tip, time, engine.save(tip, time, changes, now))


def _bounded(time: float, now: float | None) -> float:
    return time if now is None else min(time, now)


def _saves(repo: Repository, engine: Engine, chunk: list[Commit],
           on_commit: Callable[[int], None] | None, now: float | None,
           stored: StoredRows | None, scope: tuple[str, ...] = ()
           ) -> Generator[Save, None, str | None]:
    """The saves of a chunk of commits. Returns the commit after which the walk's `scope` no
    longer holds (the commits after it in the chunk were read without the new folders), or
    None."""
    # the commits between two that change the site share one site: their blobs are read
    # together; a commit that changes it is read under the site it leads to
    sites = engine.sites
    start = 0
    while start < len(chunk):
        end = start
        while end < len(chunk) and not sites.steers(chunk[end].changes):
            end += 1
        run = chunk[start:end]
        _learn(repo, engine, _wanted(engine, run))
        if run:
            fetch(engine, stored, (c for commit in run for c in commit.changes),
                  max(_bounded(commit.time, now) for commit in run))
        for commit in run:
            yield Save(commit.sha, commit.time, engine.save(commit.sha, commit.time,
                                                             commit.changes, now))
            if on_commit:
                on_commit(1)
        if end < len(chunk):
            commit = chunk[end]
            changes = commit.changes + _resite(repo, engine, commit.sha, None, stored,
                                               commit.changes)
            _learn(repo, engine, engine.wanted_blobs(changes))
            fetch(engine, stored, changes, _bounded(commit.time, now))
            yield Save(commit.sha, commit.time, engine.save(commit.sha, commit.time, changes,
                                                             now))
            if on_commit:
                on_commit(1)
            if _scope(engine) != scope:
                return commit.sha
        start = end + 1
    return None


def _resite(repo: Repository, engine: Engine, commit: str,
            tree: Mapping[str, tuple[str, str]] | None, stored: StoredRows | None,
            changes: tuple[Change, ...] = ()) -> tuple[Change, ...]:
    """Bring the engine's site to `commit` (its own changes, or its whole `tree`); when the site
    it gives differs, the changes that read the rest of the tree again under it."""
    sites = engine.sites
    if sites.static:
        return ()
    before = engine.rules
    if tree is not None:
        changed = sites.reset(tree, _reader(repo), commit)
    else:
        changed = sites.apply(changes, _reader(repo), commit)
    if not changed:
        return ()
    only = None if tree is not None else sites.only
    if engine.rules != before:
        engine.forget_facts()  # dates, ids and fields are read under the new rules
        only = None
    if only is not None:  # a leaf bundle came or went: only its folder is read again
        return engine.relocations(repo.tree(commit, only), changes, whole=False)
    whole(engine, stored)  # every entry is read again under the new site
    return engine.relocations(tree if tree is not None else repo.tree(commit), changes)


def _reader(repo: Repository) -> Callable[[list[str]], Mapping[str, bytes]]:
    def read(shas: list[str]) -> Mapping[str, bytes]:
        return repo.read_blobs(shas, HEAD_BYTES)
    return read


def _read_ahead(repo: Repository, engine: Engine, base: str | None, tip: str,
                paths: tuple[str, ...]) -> list[Commit] | None:
    """The commits of a scoped walk, oldest first, read whole newest first, their blobs
    fetched and parsed while git lists the rest. (Oldest first, git lists nothing before it
    has diffed every commit of the range to prune it: on a repository of code, the wait is
    as long as the listing.) None when the range holds more than _AHEAD changes: it is
    then streamed oldest first, so no long history is ever held whole."""
    commits: list[Commit] = []
    batch: list[Commit] = []
    asked: list[Commit] = []  # the batch before, its blobs asked for: parsed next
    changes = 0
    walk = repo.walk(base, tip, paths, newest_first=True)
    try:
        for commit in walk:
            commits.append(commit)
            changes += len(commit.changes)
            if changes > _AHEAD:
                return None
            batch.append(commit)
            if len(batch) >= _AHEAD_BATCH:
                _ask(repo, engine, batch)
                _learn(repo, engine, _wanted(engine, asked))
                asked, batch = batch, []
    finally:
        walk.close()
    _learn(repo, engine, _wanted(engine, [*asked, *batch]))
    commits.reverse()
    return commits


def _wanted(engine: Engine, commits: list[Commit]) -> list[str]:
    """The blobs the saves of `commits` will parse and the engine has not parsed yet."""
    return [sha for commit in commits for sha in engine.wanted_blobs(commit.changes)]


def _ask(repo: Repository, engine: Engine, chunk: list[Commit]) -> None:
    """Ask ahead for the blobs of a chunk not parsed yet (under the site as it stands: a
    commit that changes the site may want others, read when it comes)."""
    locate, parsed = engine.locate, engine.parsed
    repo.prefetch((change.new_sha for commit in chunk for change in commit.changes
                   if change.new_sha and change.new_path and not parsed(change.new_sha)
                   and locate(change.new_path, change.new_mode)), HEAD_BYTES)


def _learn(repo: Repository, engine: Engine, wanted: list[str]) -> None:
    # a slice at a time: a bulk import of 100,000 files never holds all their bytes at once;
    # git reads the next slice while this one is parsed
    wanted = list(dict.fromkeys(wanted))
    if len(wanted) > _READ_SLICE:
        repo.prefetch(wanted[:_READ_SLICE], HEAD_BYTES)  # asked first, so answered first
    for start in range(0, len(wanted), _READ_SLICE):
        if start + _READ_SLICE < len(wanted):
            repo.prefetch(wanted[start + _READ_SLICE:start + 2 * _READ_SLICE], HEAD_BYTES)
        engine.learn(repo.read_blobs(wanted[start:start + _READ_SLICE], HEAD_BYTES))
