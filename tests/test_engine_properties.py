"""Random histories on a real repository against a small reference model of contract §2.

The model knows nothing of git or of the engine: it tracks files by a serial number (what the
test did to each one), and for every save compares the files before and after by serial, giving
the events of the contract §2 table, ids by its §1 rules (explicit uid, else the first path,
kept by renames, claimed back by a re-add where a deleted entry last was) and the scheduled
publications that fall between saves. The repository gets the same operations as real commits,
merges of side branches and `git revert`s, and the engine must derive exactly the model's events.
"""

from __future__ import annotations

import hashlib
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from time import gmtime, strftime

from conftest import Site
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from testing import examples

from cometwatch.config import ContentRules
from cometwatch.engine import Engine
from cometwatch.flow import history
from cometwatch.gitrepo import Repository
from cometwatch.identity import Ledger
from cometwatch.payload import ContentEvent
from cometwatch.store import Store

RULES = ContentRules()
COLLECTIONS = ("posts", "pages")
NAMES = ("a", "b", "c", "d")
TRASH = ".trash/"
LINES = 20
STEPS = (3, 18)  # operations per history (a merge counts one)


@dataclass(frozen=True)
class File:
    serial: int
    path: str
    draft: bool
    uid: str | None = None
    publish_at: int | None = None
    edits: int = 0

    @property
    def trashed(self) -> bool:
        return self.path.startswith(TRASH)

    @property
    def home(self) -> str:
        """The path outside the trash."""
        return self.path.removeprefix(TRASH)

    def text(self) -> str:
        front = [f"uid: {self.uid}"] if self.uid else []
        front.append(f"draft: {'true' if self.draft else 'false'}")
        if self.publish_at is not None:
            front.append("publishDate: " + strftime("%Y-%m-%dT%H:%M:%SZ", gmtime(self.publish_at)))
        # every line names the file, so two files are never similar enough for git to pair
        # them as a rename; an edit changes one line, so a file stays similar to itself
        body = [f"file {self.serial} line {k}" + (f" rev {self.edits}"
                                                  if k == self.edits % LINES else "")
                for k in range(LINES)]
        return "---\n" + "\n".join(front) + "\n---\n" + "\n".join(body) + "\n"


Tree = dict[int, File]
# an explicit id, or ("derived", first path, n) for the n-th id minted at that path
EntryId = str | tuple[str, str, int]
Expected = tuple[str, str, EntryId, str, int]  # event, type, id, slug, occurred_at


def published(f: File, moment: int) -> bool:
    return not f.trashed and not f.draft and (f.publish_at is None or f.publish_at <= moment)


def collection(f: File) -> str:
    return f.home.split("/")[0]


def slug(f: File) -> str:
    return f.home.rsplit("/", 1)[1].removesuffix(".md")


@dataclass
class Model:
    """contract §1–§2 on ids and states, as plainly as it can be written."""

    ids: dict[int, EntryId] = field(default_factory=dict)
    states: dict[int, bool] = field(default_factory=dict)  # published, as last evaluated
    deleted_at: dict[str, tuple[EntryId, str | None]] = field(default_factory=dict)
    deleted_uid: dict[str, tuple[EntryId, str]] = field(default_factory=dict)
    first_adds: dict[str, int] = field(default_factory=dict)
    clock: int = 0

    def save(self, before: Tree, after: Tree, moment: int) -> list[Expected]:
        out = self._scheduled(before, moment)
        self.clock = moment
        rows: list[tuple[str, list[Expected]]] = []
        for serial in before.keys() | after.keys():
            old, new = before.get(serial), after.get(serial)
            key = (new or old).path  # type: ignore[union-attr]
            rows.append((key, self._entry(serial, old, new, moment)))
        for _, events in sorted(rows, key=lambda row: row[0]):
            out.extend(events)
        return out

    def _scheduled(self, tree: Tree, moment: int) -> list[Expected]:
        due = []
        for serial, f in tree.items():
            if self.states[serial] != published(f, moment):
                assert f.publish_at is not None and self.clock < f.publish_at <= moment
                name = "content.published" if published(f, moment) else "content.unpublished"
                due.append((f.publish_at, f.path, (name, collection(f), self.id_of(serial),
                                                   slug(f), f.publish_at)))
                self.states[serial] = published(f, moment)
        return [event for *_, event in sorted(due, key=lambda d: (d[0], d[1]))]

    def id_of(self, serial: int) -> EntryId:
        return self.ids[serial]

    def _entry(self, serial: int, old: File | None, new: File | None,
               moment: int) -> list[Expected]:
        def ev(name: str, f: File) -> Expected:
            return (name, collection(f), self.id_of(serial), slug(f), moment)

        if new is None:
            assert old is not None
            was = self.states.pop(serial)
            gone = [] if old.trashed else (
                ([ev("content.unpublished", old)] if was else []) + [ev("content.deleted", old)])
            self._forget(serial, old)
            return gone
        now = published(new, moment)
        if old is None:
            restored = self._claim(serial, new)
            self.states[serial] = now
            if new.trashed:
                return []
            first = ev("content.restored" if restored else "content.created", new)
            return [first] + ([ev("content.published", new)] if now else [])
        was = self.states[serial]
        self.states[serial] = now
        if old.trashed and new.trashed:
            return []
        if new.trashed:
            return ([ev("content.unpublished", old)] if was else []) + [ev("content.deleted", old)]
        if old.trashed:
            return [ev("content.restored", new)] + ([ev("content.published", new)] if now else [])
        if old == new:
            return []
        change = [] if was == now else [ev("content.published" if now else "content.unpublished",
                                           new)]
        return [ev("content.updated", new), *change]

    def _claim(self, serial: int, f: File) -> bool:
        """A file appears: it brings back a deleted entry (same uid; or, neither having one,
        where that entry last was), else it is a new entry with an id of its own."""
        gone: tuple[EntryId, str] | None = None
        if f.uid:
            found = self.deleted_uid.pop(f.uid, None)
            if found is not None:
                gone = found
                if self.deleted_at.get(found[1], (None, None))[0] == found[0]:
                    del self.deleted_at[found[1]]
        elif f.home in self.deleted_at and self.deleted_at[f.home][1] is None:
            gone = (self.deleted_at.pop(f.home)[0], f.home)
        if gone is not None:
            self.ids[serial] = gone[0]
            return True
        generation = self.first_adds.get(f.path, 0)
        self.first_adds[f.path] = generation + 1
        # an explicit id is the id, but its path still takes a turn for derived ones
        self.ids[serial] = f.uid or ("derived", f.path, generation)
        return False

    def _forget(self, serial: int, f: File) -> None:
        entry_id = self.ids.pop(serial)
        self.deleted_at[f.home] = (entry_id, f.uid)
        if f.uid:
            self.deleted_uid[f.uid] = (entry_id, f.home)


def derived_id(path: str) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    number = int(hashlib.sha256(path.encode()).hexdigest(), 16)
    out = []
    for _ in range(10):
        number, digit = divmod(number, 62)
        out.append(alphabet[digit])
    return "".join(out)


def assert_matches(got: list[ContentEvent], expected: list[Expected]) -> None:
    """Event by event. A derived id the model names (path, n) must be the hash of the path for
    n = 0, and one and the same engine id for one model id, distinct for distinct ones."""
    assert len(got) == len(expected), (_show(got), expected)
    seen: dict[EntryId, str] = {}
    for i, (one, (name, kind, entry_id, entry_slug, at)) in enumerate(
            zip(got, expected, strict=True)):
        where = f"event {i}: {_show(got[i:i + 1])} vs {expected[i]}"
        assert (one.name, one.collection, one.slug, one.occurred_at) == \
            (name, kind, entry_slug, at), where
        if isinstance(entry_id, str):
            assert one.entry_id == entry_id, where
            continue
        _, path, generation = entry_id
        if generation == 0:
            assert one.entry_id == derived_id(path), where
        assert seen.setdefault(entry_id, one.entry_id) == one.entry_id, where
    assert len(set(seen.values())) == len(seen)


def _show(events: list[ContentEvent]) -> list[tuple[str, str, str, str, int]]:
    return [(e.name, e.collection, e.entry_id, e.slug, e.occurred_at) for e in events]


class Lab:
    """The repository and the model, driven by the same operations."""

    def __init__(self, root: Path) -> None:
        self.site = Site(root)
        self.tree: Tree = {}
        self.model = Model()
        self.expected: list[Expected] = []
        self.serials = 0
        self.before_last: Tree | None = None  # the tree before the last save, for a revert
        self.saves = 0

    # -- choices ------------------------------------------------------------------------------

    def occupied(self, tree: Tree) -> set[str]:
        return {f.path for f in tree.values()}

    def free_paths(self, tree: Tree, candidates: list[str], serial: int | None,
                   vacated: dict[str, int]) -> list[str]:
        taken = self.occupied(tree)
        return [p for p in candidates if p not in taken
                and (p not in vacated or vacated[p] == serial)]

    def operations(self, tree: Tree, vacated: dict[str, int], side: bool) -> list[str]:
        live = [f for f in tree.values() if not f.trashed]
        binned = [f for f in tree.values() if f.trashed]
        ops = []
        all_paths = [f"{c}/{n}.md" for c in COLLECTIONS for n in NAMES]
        if self.free_paths(tree, all_paths, None, vacated):
            ops.append("create")
        if live:
            ops += ["edit", "publish", "unpublish", "schedule", "rename", "move", "trash",
                    "delete"]
        if binned:
            ops += ["restore", "purge"]
        if not side and self.saves >= 2 and self.before_last is not None \
                and self.before_last != tree:
            ops.append("revert")
        if not side and self.saves >= 1:
            ops.append("merge")
        return ops

    # -- one operation on a tree (the model's view) and the working copy (git's) ------------

    def apply(self, data: st.DataObject, op: str, tree: Tree, vacated: dict[str, int],
              moment: int) -> bool:
        """Change `tree` and the files; False when the operation found nothing to act on."""
        site = self.site
        live = sorted((f for f in tree.values() if not f.trashed), key=lambda f: f.serial)
        binned = sorted((f for f in tree.values() if f.trashed), key=lambda f: f.serial)
        if op == "create":
            paths = self.free_paths(tree, [f"{c}/{n}.md" for c in COLLECTIONS for n in NAMES],
                                    None, vacated)
            path = data.draw(st.sampled_from(paths))
            self.serials += 1
            new = File(self.serials, path, draft=data.draw(st.booleans()),
                       uid=data.draw(st.sampled_from([None, None, f"uid-{self.serials}"])))
            tree[new.serial] = new
            site.write(path, new.text())
            return True
        if op in ("restore", "purge"):
            f = data.draw(st.sampled_from(binned))
            if op == "purge":
                del tree[f.serial]
                vacated.setdefault(f.path, f.serial)
                site.remove(f.path)
                return True
            if not self.free_paths(tree, [f.home], f.serial, vacated):
                return False
            return self._move(tree, vacated, f, f.home)
        f = data.draw(st.sampled_from(live))
        if op == "edit":
            return self._write(tree, replace(f, edits=f.edits + 1))
        if op == "publish":
            return self._write(tree, replace(f, draft=False, publish_at=None))
        if op == "unpublish":
            return self._write(tree, replace(f, draft=True))
        if op == "schedule":
            offset = data.draw(st.sampled_from([-30, 30, 90, 150]))
            return self._write(tree, replace(f, draft=False, publish_at=moment + offset))
        if op == "delete":
            del tree[f.serial]
            vacated.setdefault(f.path, f.serial)
            site.remove(f.path)
            return True
        folder, name = f.path.split("/")
        if op == "rename":
            targets = self.free_paths(tree, [f"{folder}/{n}.md" for n in NAMES], f.serial,
                                      vacated)
        elif op == "move":
            targets = self.free_paths(tree, [f"{c}/{name}" for c in COLLECTIONS if c != folder],
                                      f.serial, vacated)
        else:  # trash
            targets = self.free_paths(tree, [TRASH + f.path], f.serial, vacated)
        if not targets:
            return False
        return self._move(tree, vacated, f, data.draw(st.sampled_from(targets)))

    def _write(self, tree: Tree, f: File) -> bool:
        if tree[f.serial] == f:
            return False
        tree[f.serial] = f
        self.site.write(f.path, f.text())
        return True

    def _move(self, tree: Tree, vacated: dict[str, int], f: File, target: str) -> bool:
        vacated.setdefault(f.path, f.serial)
        self.site.move(f.path, target)
        tree[f.serial] = replace(f, path=target)
        return True

    # -- saves --------------------------------------------------------------------------------

    def step(self, data: st.DataObject) -> None:
        op = data.draw(st.sampled_from(self.operations(self.tree, {}, side=False)))
        event(op)
        moment = self.site.clock + 60
        if op == "revert":
            assert self.before_last is not None
            merge = len(self.site.git("rev-list", "--parents", "-n1", "HEAD").split()) > 2
            self.site.clock = moment
            self.site.git("revert", "--no-edit", *(["-m", "1"] if merge else []), "HEAD",
                          time=moment)
            self._record(dict(self.before_last), moment)
            return
        if op == "merge":
            self._merge(data)
            return
        after = dict(self.tree)
        if self.apply(data, op, after, {}, moment):
            self.site.commit(op, time=moment)
            self._record(after, moment)

    def _merge(self, data: st.DataObject) -> None:
        """A side branch of a few commits, maybe a commit on main meanwhile, then --no-ff."""
        site = self.site
        site.git("checkout", "-q", "-b", "side")
        side = dict(self.tree)
        vacated: dict[str, int] = {}
        for _ in range(data.draw(st.integers(1, 3))):
            ops = self.operations(side, vacated, side=True)
            if not ops:
                break
            op = data.draw(st.sampled_from(ops))
            site.clock += 10
            if self.apply(data, op, side, vacated, site.clock):
                site.commit(f"side {op}", time=site.clock)
        site.git("commit", "-q", "--allow-empty", "-m", "side end", time=site.clock + 1)
        site.git("checkout", "-q", "main")
        if data.draw(st.booleans()):  # a commit on main that the merge must not repeat
            self.serials += 1
            fresh = File(self.serials, f"pages/main-{self.serials}.md", draft=False)
            main = dict(self.tree)
            main[fresh.serial] = fresh
            site.write(fresh.path, fresh.text())
            site.commit("main meanwhile", time=site.clock + 60)
            self._record(main, site.clock)
            side[fresh.serial] = fresh
        site.clock += 60
        # git would otherwise follow a folder the side branch emptied by renames and move
        # main's new file after it
        site.git("-c", "merge.directoryRenames=false", "merge", "--no-ff", "-q", "-m",
                 "merge side", "side", time=site.clock)
        site.git("branch", "-q", "-D", "side")
        self._record(side, site.clock)

    def _record(self, after: Tree, moment: int) -> None:
        self.expected += self.model.save(self.tree, after, moment)
        self.before_last, self.tree = self.tree, after
        self.saves += 1


def whole(root: Path, tip: str) -> tuple[list[ContentEvent], Ledger]:
    engine = Engine(RULES)
    with Repository(root) as repo:
        return [e for save in history(repo, engine, None, tip) for e in save.events], \
            engine.ledger


def in_pieces(root: Path, cuts: list[str], tip: str) -> list[ContentEvent]:
    """As `cometwatch events A..B` runs each piece: a fresh engine, the ledger rebuilt from
    the history before A."""
    out: list[ContentEvent] = []
    with Repository(root) as repo:
        for base, end in zip([None, *cuts], [*cuts, tip], strict=True):
            engine = Engine(RULES)
            if base is not None:
                for _ in history(repo, engine, None, base):
                    pass
            out += [e for save in history(repo, engine, base, end) for e in save.events]
    return out


def resumed(root: Path, cuts: list[str], tip: str) -> tuple[list[ContentEvent], Ledger]:
    """As a scan process started at each cut runs: the ledger read from a real state store,
    its timers whole and the rows each chunk touches fetched before it is derived, and only
    what changed in it written back (the first piece writes all of it). Returns the events and
    the ledger stored at the end. A row the engine touches and `Engine.wants` did not name would
    be read as absent here, and the events would differ from `whole`'s."""
    out: list[ContentEvent] = []
    with Repository(root) as repo, Store.open(root.parent / "state.db") as store:
        for n, (base, end) in enumerate(zip([None, *cuts], [*cuts, tip], strict=True)):
            with store.reading():
                ledger = Ledger()
                if n:
                    head = store.ledger_head("main")
                    assert head is not None
                    ledger = Ledger.from_store(head[1], store.ledger_rows("main").part("timers"))
                engine = Engine(RULES, ledger)
                out += [e for save in history(repo, engine, base, end,
                                              stored=store.ledger_rows("main"))
                        for e in save.events]
                store.save_scan("main", n or None, end, ledger.delta(), None, [], [], {},
                                0.0)
        data = store.ledger("main")
        assert data is not None
        return out, Ledger.from_rows(*data)


@settings(deadline=None, max_examples=examples(50), suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_histories_give_the_reference_models_events(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory(prefix="cometwatch-prop-") as tmp:
        lab = Lab(Path(tmp) / "site")
        for _ in range(data.draw(st.integers(*STEPS), label="steps")):
            lab.step(data)
        if lab.saves == 0:
            return
        root, tip = lab.site.root, lab.site.head()
        got, ledger = whole(root, tip)
        event(f"{len(got) // 10 * 10}+ events")
        assert_matches(got, lab.expected)
        ids = [e.event_id for e in got]
        assert len(set(ids)) == len(ids)

        chain = subprocess.run(["git", "rev-list", "--first-parent", "--reverse", tip],
                               cwd=root, capture_output=True, text=True,
                               check=True).stdout.split()
        cuts = sorted(set(data.draw(st.lists(st.sampled_from(chain), max_size=3),
                                    label="cuts")), key=chain.index)
        cuts = [c for c in cuts if c != tip]
        assert in_pieces(root, cuts, tip) == got
        events, stored = resumed(root, cuts, tip)
        assert events == got
        assert stored == ledger  # a row at a time, the store ends with the whole run's ledger
