"""Pure: the event engine, a branch's history, save by save, into ContentEvents.

`Engine` holds the ledger and applies one save (a commit's raw changes) at a time; it reads
no git itself and is fed parsed blobs, so it runs the same over a live repository, a test
fixture or a replay. cometwatch.flow drives it over a repository.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from cometwatch.commits import Change
from cometwatch.config import ContentRules, RepositoryConfig
from cometwatch.derive import RESTORED, Side, event_names, transition
from cometwatch.entry import (
    Frontmatter,
    Location,
    collection_of,
    next_change,
    published_at,
    read_frontmatter,
)
from cometwatch.identity import Ledger, Record, event_id
from cometwatch.payload import ContentEvent
from cometwatch.sites import SiteBase
from cometwatch.sites.loader import SiteLoader, loader_for

log = logging.getLogger("cometwatch.engine")

_FACTS_CACHE = 65536
_MODE = "100644"  # what the ledger's side of a change is taken for: it keeps no modes


@dataclass(slots=True)
class _Op:
    old_path: str | None
    old: Record | None
    new_path: str | None
    new: Location | None
    new_sha: str | None

    @property
    def key(self) -> str:
        return self.new_path or self.old_path or ""


class Engine:
    def __init__(self, rules: ContentRules, ledger: Ledger | None = None,
                 warn: Callable[[str], None] | None = None,
                 sites: SiteLoader | None = None) -> None:
        self.ledger = ledger if ledger is not None else Ledger()
        self._facts: dict[str, Frontmatter] = {}
        self._needed: set[str] = set()  # parsed blobs the saves about to run will look up
        self._warn = warn or log.warning
        self._resited = False  # the save running follows a change of the site
        # the site in force (its rules: `rules` with what the site tool's config says)
        self.sites = sites if sites is not None else SiteLoader(None, SiteBase(rules=rules))
        self.sites.warn = self._warning

    @classmethod
    def for_repository(cls, repository: RepositoryConfig, ledger: Ledger | None = None,
                       warn: Callable[[str], None] | None = None) -> Engine:
        """An engine reading the site as the config's preset (its tool's own config) says."""
        return cls(repository.rules, ledger, warn, loader_for(repository))

    def _warning(self, message: str) -> None:
        self._warn(message)  # looked up at each call: the scanner quiets it during rebuilds

    @property
    def rules(self) -> ContentRules:
        return self.sites.site.rules

    def locate(self, path: str, mode: str | None) -> Location | None:
        if mode not in ("100644", "100755"):
            return None
        return self.sites.site.locate(path)

    # -- blobs ----------------------------------------------------------------------------

    def wanted_blobs(self, changes: tuple[Change, ...]) -> list[str]:
        """The blobs this save will parse and has not parsed yet."""
        wanted = []
        for c in changes:
            if c.new_sha and c.new_path and self.locate(c.new_path, c.new_mode):
                if c.new_sha in self._facts:
                    self._needed.add(c.new_sha)
                else:
                    wanted.append(c.new_sha)
        return wanted

    def parsed(self, sha: str) -> bool:
        """Whether the blob's facts are in hand (under the rules as they stand)."""
        return sha in self._facts

    def learn(self, blobs: dict[str, bytes]) -> None:
        """Parse blobs for the saves about to run (in as many calls as suit the caller)."""
        if len(self._facts) - len(self._needed) > _FACTS_CACHE:
            # keep what the saves about to run still need (a bulk import needs them all: then
            # there is nothing to drop, and no copy is made at every call)
            self._facts = {sha: self._facts[sha] for sha in self._needed if sha in self._facts}
        for sha, data in blobs.items():
            self._facts[sha] = read_frontmatter(data, self.rules)
        self._needed.update(blobs)

    def wants(self, changes: Iterable[Change], until: float) -> dict[str, set[str]]:
        """The ledger rows saving these changes, and the timers falling due by `until`, touch:
        the entries at their paths, the deleted entries a new file may bring back (at its path
        or its trash mirror, or by its explicit id), the ids minted at its path and the locale
        variants of its entry. Known once their blobs are learnt; a ledger read from the store
        is given them before the saves (and what they lead to: Ledger.absorb)."""
        entries, minted, by_path, by_id, keys = set(), set(), set(), set(), set()
        for change in changes:
            if change.old_path:
                entries.add(change.old_path)
            where = self.locate(change.new_path, change.new_mode) if change.new_path else None
            if where is None or change.new_path is None:
                continue
            entries.add(change.new_path)
            minted.add(change.new_path)
            by_path.add(self._mirror(where) if where.trashed else change.new_path)
            if where.key:
                keys.add(where.key)
            front = self._facts.get(change.new_sha) if change.new_sha else None
            if front is not None and front.explicit_id:
                by_id.add(front.explicit_id)
        entries.update(self.ledger.due_by(until))
        return {"entries": entries, "minted": minted, "deleted_by_path": by_path,
                "deleted_by_explicit": by_id, "variants": keys}

    # -- time -----------------------------------------------------------------------------

    def next_timer(self) -> float | None:
        due = self.ledger.next_due()
        return None if due is None else due[0]

    def advance(self, moment: float) -> list[ContentEvent]:
        """Scheduled transitions up to `moment`, each at its own scheduled time."""
        events: list[ContentEvent] = []
        ledger = self.ledger
        while (due := ledger.next_due()) is not None and due[0] <= moment:
            when, path = due
            record = ledger.entries[path]
            where = self.locate(path, "100644")
            if where is None:  # rules changed under a stored ledger
                ledger.unschedule(path)
                continue
            now = published_at(record.front, where, when, self.rules)
            lead = _lead(ledger, record.key) if record.key else None
            ledger.put(path, replace(record, published=now), next_change(record.front, where,
                                                                        when))
            was = record.published
            if lead is not None:  # a variant: its entry's state is its lead variant's
                after = _lead(ledger, record.key)
                assert after is not None
                was, now, path, record = lead[1].published, after[1].published, *after
            commit = f"at:{int(when)}"
            for name in transition(was, now):
                events.append(ContentEvent(event_id(commit, record.entry_id, name), name,
                                           int(when), record.collection, record.entry_id,
                                           record.slug, commit, path))
        ledger.clock = max(ledger.clock, moment)
        return events

    # -- saves ----------------------------------------------------------------------------

    def relocations(self, tree: Mapping[str, tuple[str, str]],
                    changes: tuple[Change, ...], whole: bool = True) -> tuple[Change, ...]:
        """After the site changed (its tool's config did): the changes that read again, under
        the new site, every file of `tree` (path → (mode, sha)) the commit's own `changes`
        leave alone. Each entry whose type, slug or state the new site changes is saved by
        the commit; a file the new site makes an entry is created, one it no longer reads as
        an entry is deleted. Pass the result to `save` with the commit's changes.

        `whole=False`: `tree` is only part of the tree (the folders the change concerns) and
        the ledger may not hold every row: each path is read again as it stands, a save that
        looks its entry up, creates or deletes it."""
        self._resited = True
        if not whole:
            touched = {p for c in changes for p in (c.old_path, c.new_path) if p}
            return tuple(Change("M", path, path, sha, sha, mode, mode)
                         for path, (mode, sha) in tree.items() if path not in touched)
        assert self.ledger.whole, "the site changed: every entry is read again, give it all"
        touched = {p for c in changes for p in (c.old_path, c.new_path) if p}
        out: list[Change] = []
        entries = self.ledger.entries
        for path, (mode, sha) in tree.items():
            if path in touched:
                continue
            old = entries.get(path)
            new = self.locate(path, mode)
            if old is None and new is not None:
                out.append(Change("A", None, path, None, sha, None, mode))
            elif old is not None and new is None:
                out.append(Change("D", path, None, sha, None, mode, None))
            elif old is not None:
                out.append(Change("M", path, path, sha, sha, mode, mode))
        for path, record in list(entries.items()):
            if path not in tree and path not in touched:  # the ledger ran ahead of the tree
                out.append(Change("D", path, None, record.sha, None, _MODE, None))
        return tuple(out)

    def forget_facts(self) -> None:
        """Drop the parsed blobs: the rules they were read under changed."""
        self._facts.clear()
        self._needed.clear()

    def save(self, commit: str, time: int, changes: tuple[Change, ...],
             now: float | None = None) -> list[ContentEvent]:
        """Apply one save dated `time`; its blobs must have been learnt. Returns its events in
        order. States are evaluated at `time`, but never past `now` (the wall clock, when
        known): a committer date in the future is not the present, so a commit dated 2100
        does not publish every embargoed post; nor before a moment already evaluated."""
        try:
            return self._save(commit, time, changes, now)
        finally:
            self._resited = False

    def _save(self, commit: str, time: int, changes: tuple[Change, ...],
              now: float | None) -> list[ContentEvent]:
        self._needed.clear()  # every learn for the saves now running has happened
        events = self.advance(time if now is None else min(time, now))
        if not changes and not self._resited:
            return events  # a commit outside the entries: only the clock moved
        moment = self.ledger.clock
        ledger = self.ledger
        ops = self._ops(changes)
        # the entries with locale variants this save touches, as they stood before it
        keys = {k for op in ops for k in (op.old.key if op.old else "",
                                          op.new.key if op.new else "") if k}
        before = {key: _lead(ledger, key, [(op.new.rank, op.old_path, op.old) for op in ops
                                           if op.old and op.old_path and op.new
                                           and op.new.key == key and not op.old.key])
                  for key in keys}
        for op in ops:  # detach first: renames within one save may chain (a→b, b→c)
            if op.old_path is not None:
                gone = ledger.drop(op.old_path)
                if gone is not None and gone.key:
                    ledger.leave(gone.key, op.old_path)
        found: list[tuple[str, list[tuple[str, Record, str]]]] = []
        touched: dict[str, list[bool]] = {}  # key → [changed, restored]
        # a default-language variant first: the others join its entry (events go by path)
        for op in sorted(ops, key=lambda o: (o.new.rank if o.new else 0, o.key)):
            plain = []
            for name, record, path in self._apply(op, commit, moment):
                if not record.key:
                    plain.append((name, record, path))
                    continue
                # a variant's own events are its entry's: one save of the entry, below
                flags = touched.setdefault(record.key, [False, False])
                flags[0] = True
                flags[1] = flags[1] or name == RESTORED
            found.append((op.key, plain))
        for key in keys:
            old, new = before[key], _lead(ledger, key)
            changed, restored = touched.get(key, (False, False))
            names = event_names(_side(old), _side(new), restored=restored and old is None,
                                changed=changed)
            speaker = new if new is not None and not new[1].trashed else (old or new)
            if speaker is None:
                continue
            path, record = speaker
            found.append((path, [(name, record, path) for name in names]))
        seen: set[tuple[str, str]] = set()
        for _, out in sorted(found, key=lambda item: item[0]):
            for name, record, path in out:
                once = (record.entry_id, name)
                eid = event_id(commit, record.entry_id, name, path if once in seen else "")
                seen.add(once)
                events.append(ContentEvent(eid, name, time, record.collection, record.entry_id,
                                           record.slug, commit, path))
        return events

    def _ops(self, changes: tuple[Change, ...]) -> list[_Op]:
        ops: list[_Op] = []
        for change in changes:
            old_where = (self.locate(change.old_path, change.old_mode)
                         if change.old_path else None)
            new_where = (self.locate(change.new_path, change.new_mode)
                         if change.new_path else None)
            # a commit that changed the site looks up every path: an entry under the old
            # site may be none under the new one
            old = self.ledger.entries.get(change.old_path) \
                if change.old_path and (old_where or self._resited) else None
            if new_where is not None and new_where.policy.needs_block and change.new_sha:
                front = self._facts.get(change.new_sha)
                if front is not None and front.no_block:
                    new_where = None  # the tool copies it as a static file: not a page
            if old is None and new_where is None:
                continue
            ops.append(_Op(change.old_path if old else None, old,
                           change.new_path if new_where else None, new_where, change.new_sha))
        return self._pair(ops)

    def _pair(self, ops: list[_Op]) -> list[_Op]:
        """Join a removal and an addition git did not see as a rename when they are one entry:
        a move into or out of trash (mirrored path) that keeps the explicit id (or has none),
        or the same explicit id."""
        gone = {op.old_path: op for op in ops if op.new is None and op.old is not None}
        if not gone:
            return ops
        by_id = {op.old.explicit_id: op for op in gone.values()
                 if op.old is not None and op.old.explicit_id}
        out: list[_Op] = []
        for op in ops:
            if op.old is None and op.new is not None and op.new_sha:
                front = self._facts.get(op.new_sha)
                partner = gone.get(self._mirror(op.new))
                if partner is not None and not _keeps_id(front, partner.old):
                    partner = None  # another entry, where this one would come back
                if partner is None and front and front.explicit_id and not op.new.trashed:
                    partner = by_id.get(front.explicit_id)
                if partner is not None and partner.old_path in gone:
                    del gone[partner.old_path]
                    op = _Op(partner.old_path, partner.old, op.new_path, op.new, op.new_sha)
            out.append(op)
        return [op for op in out if op.new is not None or op.old_path in gone]

    def _mirror(self, where: Location) -> str:
        """The path an entry would have on the other side of the trash."""
        rules = self.rules
        if where.trashed:
            relative = where.path[len(rules.trash_dir) + 1:]
            return f"{rules.content_dir}/{relative}" if rules.content_dir else relative
        relative = where.path[len(rules.content_dir) + 1:] if rules.content_dir else where.path
        return f"{rules.trash_dir}/{relative}"

    def _apply(self, op: _Op, commit: str,
               moment: float) -> list[tuple[str, Record, str]]:
        ledger, old, where = self.ledger, op.old, op.new
        if old is not None and where is not None and where.key != old.key and op.new_sha:
            lead = _lead(ledger, where.key) if where.key else None
            if (lead is not None and lead[1].derived_id != old.derived_id) or \
                    (old.key and not where.key):
                # an entry of its own that becomes a variant of another (or the reverse):
                # it leaves as itself and comes back as the other
                return [*self._apply(_Op(op.old_path, old, None, None, None), commit, moment),
                        *self._apply(_Op(None, None, op.new_path, where, op.new_sha), commit,
                                     moment)]
        if where is None or op.new_path is None or op.new_sha is None:
            assert old is not None and op.old_path is not None
            last = op.old_path
            if old.trashed:
                location = self.locate(op.old_path, "100644")
                last = self._mirror(location) if location else op.old_path
            ledger.remember_deleted(old, last)
            names = event_names(Side(old.trashed, old.published), None)
            return [(name, old, op.old_path) for name in names]

        front = self._facts[op.new_sha]
        if front.broken:
            self._warn(f"{op.new_path} at {commit[:12]}: broken frontmatter, state kept: "
                       f"{front.broken}")
        restored = False
        if old is None:
            explicit = front.explicit_id
            # a file that reappears in the trash (a reverted purge) is the entry deleted at
            # the mirrored path, so that restoring it later carries its id
            claimed = ledger.claim_deleted(self._mirror(where) if where.trashed
                                           else op.new_path, explicit)
            restored = claimed is not None
            sibling = _lead(ledger, where.key) if where.key else None
            if sibling is not None:  # a locale variant of an entry already there: its id
                derived, restored = sibling[1].derived_id, False
            else:
                derived = claimed.derived_id if claimed else ledger.mint(op.new_path)
            published = False if front.broken else published_at(front, where, moment, self.rules)
            slug = front.slug or where.slug
        else:
            derived = old.derived_id
            if front.broken:
                explicit = old.explicit_id
                published = old.published and not old.trashed
                slug = old.slug if op.old_path == op.new_path else where.slug
            else:
                explicit = front.explicit_id
                published = published_at(front, where, moment, self.rules)
                slug = front.slug or where.slug
            published = published and not (where.trashed or where.in_drafts)
        # a collection chosen by a front matter field (Decap's filter) stays while it is broken
        collection = old.collection if front.broken and old is not None and where.choices \
            else collection_of(front, where)
        record = Record(op.new_sha, derived, explicit, collection, slug, published,
                        where.trashed, front, where.locale, where.key, where.rank)
        ledger.put(op.new_path, record, next_change(front, where, moment))
        if where.key:
            ledger.join(where.key, op.new_path)
        names = event_names(
            None if old is None else Side(old.trashed, old.published),
            Side(where.trashed, published),
            restored=restored,
            changed=old is None or old.sha != op.new_sha or op.old_path != op.new_path
            or (old.collection, old.slug, old.published, old.locale) !=
            (record.collection, record.slug, published, record.locale),
        )
        if where.trashed:
            assert old is not None or not names
            return [(name, old, op.old_path or op.new_path) for name in names]  # type: ignore[misc]
        return [(name, record, op.new_path) for name in names]


def _lead(ledger: Ledger, key: str, joining: list[tuple[int, str, Record]] | None = None
          ) -> tuple[str, Record] | None:
    """The variant that speaks for the entry of translation key `key` (SPEC §6): the one in
    the default language, else the first language present; a trashed one only when all are.
    `joining`: entries of their own about to become variants of it, with their new ranks."""
    held = [(record.trashed, record.rank, path, record) for path in ledger.variants.get(key, ())
            if (record := ledger.entries.get(path)) is not None]
    held += [(record.trashed, rank, path, record) for rank, path, record in joining or ()]
    if not held:
        return None
    _, _, path, record = min(held, key=lambda item: item[:3])
    return path, record


def _side(lead: tuple[str, Record] | None) -> Side | None:
    if lead is None:
        return None
    return Side(lead[1].trashed, lead[1].published and not lead[1].trashed)


def _keeps_id(front: Frontmatter | None, old: Record | None) -> bool:
    """Whether a file can be entry `old` moved across the trash: both have the same explicit
    id, or neither has one (broken frontmatter tells nothing)."""
    return front is None or old is None or bool(front.broken) or \
        front.explicit_id == old.explicit_id
