"""Scanning real repositories into the state store: baseline, backfill, ids, timers, races."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import Site, post
from testing import Ran, run_cli

from cometwatch import scanner as scanner_module
from cometwatch import store as store_module
from cometwatch.cli import main
from cometwatch.config import Config, ContentRules, load_config
from cometwatch.errors import RepositoryError, StateError
from cometwatch.identity import Ledger, derived_id
from cometwatch.scanner import Scanner, rules_fingerprint
from cometwatch.source import Source
from cometwatch.store import DeliveryStatus, Store

SECRET = "s3cret-value-that-must-never-be-stored"
HOOKS = f"""
[[webhooks]]
name = "all"
url = "http://127.0.0.1:9/all-token-in-path"
secret = "{SECRET}"

[[webhooks]]
name = "builds"
url = "http://127.0.0.1:9/build"
secret = "{SECRET}"
events = ["content.published", "content.unpublished"]
collections = ["posts"]

[[webhooks]]
name = "off"
url = "http://127.0.0.1:9/off"
secret = "{SECRET}"
enabled = false
"""


class Rig:
    """A site, a config file beside it, and scanners over one state file."""

    def __init__(self, site: Site, tmp_path: Path, hooks: str = HOOKS, extra: str = "") -> None:
        self.site = site
        self.config_file = tmp_path / "webhooks.toml"
        self.state = tmp_path / "state" / "state.db"
        self.config_file.write_text(f'[repository]\npath = "{site.root}"\n{extra}\n'
                                    f'[state]\npath = "{self.state}"\n{hooks}')
        self.config: Config = load_config(str(self.config_file))

    def scanner(self) -> Scanner:
        store = Store.open(self.state)
        return Scanner(self.config, store, Source.open(self.config))

    def scan(self, now: float | None = None, backfill: str | None = None
             ) -> scanner_module.ScanResult:
        scanner = self.scanner()
        try:
            return scanner.scan(now if now is not None else self.site.clock + 1, backfill)
        finally:
            scanner._store.close()
            scanner._source.close()

    def store(self) -> Store:
        return Store.open(self.state)

    def stored(self, hook: str = "all") -> list[tuple[str, str, str]]:
        """(event id, event name, slug) delivered to `hook`, oldest first."""
        with self.store() as store:
            rows = store.deliveries(webhook=hook, limit=100_000)
        return [(d.event.event_id, d.event.name, d.event.slug) for d in reversed(rows)]

    def events_all(self, capsysbinary: pytest.CaptureFixture[bytes], *args: str
                   ) -> list[tuple[str, str, str]]:
        """What `cometwatch events --with-ids` prints: (event id, event name, slug)."""
        capsysbinary.readouterr()
        root = logging.getLogger("cometwatch")
        handlers, propagate = root.handlers[:], root.propagate
        try:
            assert main(["--config", str(self.config_file), "events", "--with-ids", *args]) == 0
        finally:  # main() logs to the captured stderr, which ends with this test
            root.handlers[:], root.propagate = handlers, propagate
        out = []
        for line in capsysbinary.readouterr().out.decode().splitlines():
            event_id, _commit, payload = line.split(" ", 2)
            data = json.loads(payload)
            out.append((event_id, data["event"], data["data"]["slug"]))
        return out


@pytest.fixture
def rig(site: Site, tmp_path: Path) -> Rig:
    site.write("posts/first.md", post("title: First"))
    site.write("about.md", post("title: About"))
    site.commit("start")
    return Rig(site, tmp_path)


def test_the_first_scan_is_a_silent_baseline_at_the_tip(rig: Rig) -> None:
    result = rig.scan()
    assert result.baseline and result.events == 0 and result.deliveries == 0
    assert result.cursor == rig.site.head()
    with rig.store() as store:
        state = store.cursor("main")
        assert state is not None and state.commit == rig.site.head()
        assert store.deliveries() == []


def test_new_commits_give_one_delivery_per_webhook_that_wants_the_event(rig: Rig) -> None:
    rig.scan()
    rig.site.write("posts/second.md", post("title: Second"))
    rig.site.write("pages/draft.md", post("title: Draft\ndraft: true"))
    rig.site.commit("two more")
    result = rig.scan()
    assert (result.commits, result.events, result.deliveries) == (1, 3, 4)
    assert [name for _, name, _ in rig.stored("all")] == [
        "content.created", "content.created", "content.published"]
    assert rig.stored("builds") == [rig.stored("all")[2]]  # published, in posts
    assert rig.stored("off") == []


def test_a_second_scan_with_nothing_new_stores_nothing(rig: Rig) -> None:
    rig.scan()
    rig.site.write("posts/second.md", post("title: Second"))
    rig.site.commit()
    rig.scan()
    again = rig.scan()
    assert (again.commits, again.events, again.deliveries, again.baseline) == (0, 0, 0, False)
    assert len(rig.stored()) == 2


def test_a_backfill_of_all_history_stores_exactly_what_events_all_prints(
        rig: Rig, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    rig.site.move("posts/first.md", "posts/renamed.md")
    rig.site.commit("rename")
    rig.site.remove("about.md")
    rig.site.commit("remove")
    result = rig.scan(backfill="all")
    assert not result.baseline and result.commits == 3
    assert rig.stored() == rig.events_all(capsysbinary, "--all")


def test_a_backfill_since_a_revision_matches_events_since(
        rig: Rig, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    base = rig.site.head()
    rig.site.move("posts/first.md", "posts/renamed.md")
    rig.site.commit("rename")
    rig.site.write("posts/renamed.md", post("title: First\ndraft: true"))
    rig.site.commit("unpublish")
    rig.scan(backfill=base)
    expected = rig.events_all(capsysbinary, "--since", base)
    assert [name for _, name, _ in expected] == ["content.updated", "content.updated",
                                                 "content.unpublished"]
    assert rig.stored() == expected


def test_scans_run_commit_by_commit_give_the_ids_of_one_pass_over_history(
        rig: Rig, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    rig.scan()  # baseline after the first commit
    rig.site.move("posts/first.md", "posts/moved.md")
    rig.site.commit()
    rig.scan()
    rig.site.remove("posts/moved.md")
    rig.site.commit()
    rig.scan()
    rig.site.write("posts/moved.md", post("title: First"))  # a re-add restores the old id
    rig.site.commit()
    rig.scan()
    assert rig.stored() == rig.events_all(capsysbinary, "--since", "HEAD~3")
    assert [name for _, name, _ in rig.stored()][-2:] == ["content.restored",
                                                          "content.published"]


def test_a_scan_after_a_restart_reads_only_the_ledger_rows_its_commits_touch(
        rig: Rig, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    for n in range(100):
        rig.site.write(f"posts/p{n:02}.md", post(f"title: P{n}", f"post {n} " * 20))
    rig.site.commit("a hundred posts")
    rig.scan()  # the baseline: 102 entries and 102 minted paths in the ledger
    base = rig.site.head()
    later = rig.site.clock + 3600
    stamp = subprocess.run(["date", "-u", "-d", f"@{later}", "+%Y-%m-%dT%H:%M:%SZ"],
                           capture_output=True, text=True, check=True).stdout.strip()
    steps = [
        lambda: rig.site.write("posts/p00.md", post("title: P0, edited")),
        lambda: rig.site.move("posts/p01.md", "posts/renamed.md"),
        lambda: rig.site.remove("posts/p02.md"),
        lambda: rig.site.write("posts/p02.md", post("title: P2", "post 2 " * 20)),  # restored
        lambda: rig.site.move("posts/p03.md", ".trash/posts/p03.md"),
        lambda: rig.site.write("posts/new.md", post(f"title: New\npublishDate: {stamp}")),
        lambda: None,  # a commit after the publication fell due
    ]
    reads = []
    for step in steps:
        step()
        rig.site.commit(time=later + 60 if step is steps[-1] else None)
        scanner = rig.scanner()  # a new process each time: nothing in hand
        try:
            scanner.scan(rig.site.clock + 1)
            reads.append(scanner._store.ledger_rows_read)
        finally:
            scanner._store.close()
            scanner._source.close()
    # Before each chunk, one query for the rows its changes may touch (found or not): the
    # entry at each path, and for a file that may be new the ids minted at its path and the
    # deleted entry it may bring back. Found: the entry edited and its minted count; the entry
    # renamed, removed or trashed; the re-added path's minted count and the deleted entry it
    # claims; nothing for a new file; then the timer (the timers are read whole) and the
    # entry whose publication fell due.
    assert reads == [2, 1, 1, 2, 1, 0, 2]
    with rig.store() as store:
        data = store.ledger("main")
        assert data is not None
        held = Ledger.from_rows(*data)
    assert (len(held.entries), len(held.minted)) == (103, 103)
    stored = rig.stored()
    assert stored == rig.events_all(capsysbinary, "--since", base)
    assert stored == rig.events_all(capsysbinary, "--all")[-len(stored):]
    assert [name for _, name, _ in stored][-1] == "content.published"


def test_a_ledger_row_this_cometwatch_did_not_write_is_a_state_error(rig: Rig) -> None:
    rig.scan()
    with sqlite3.connect(rig.state) as raw:
        raw.execute("UPDATE ledger SET value = '[1, 2]' WHERE part = 'entries'")
    rig.site.write("posts/first.md", post("title: First, edited"))
    rig.site.commit()
    with pytest.raises(StateError, match=r"stored ledger of 'main' cannot be read .*posts/first"):
        rig.scan()
    assert rig.stored() == []


def test_a_scheduled_publish_is_stored_when_its_moment_has_passed(rig: Rig) -> None:
    rig.scan()
    when = rig.site.clock + 3600
    stamp = subprocess.run(["date", "-u", "-d", f"@{when}", "+%Y-%m-%dT%H:%M:%SZ"],
                           capture_output=True, text=True, check=True).stdout.strip()
    rig.site.write("posts/later.md", post(f"title: Later\npublishDate: {stamp}"))
    rig.site.commit()
    rig.scan(now=rig.site.clock + 10)
    assert [name for _, name, _ in rig.stored()] == ["content.created"]
    scanner = rig.scanner()
    assert scanner.next_timer() == when
    result = scanner.scan(when + 5)
    assert (result.commits, result.events) == (0, 1)
    with rig.store() as store:
        published = store.deliveries(webhook="builds")[0].event
    assert (published.name, published.occurred_at, published.commit) == (
        "content.published", when, f"at:{when}")
    assert scanner.next_timer() is None


def test_a_missing_branch_is_a_repository_error_and_changes_nothing(rig: Rig) -> None:
    rig.scan()
    rig.site.write("posts/second.md", post("title: Second"))
    rig.site.commit()
    scanner = rig.scanner()
    rig.site.git("branch", "-m", "main", "renamed")
    with pytest.raises(RepositoryError, match="does not exist"):
        scanner.scan(rig.site.clock)
    rig.site.git("branch", "-m", "renamed", "main")
    assert scanner.scan(rig.site.clock).events == 2


def test_a_force_push_is_one_save_from_the_old_tree_to_the_new(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.site.write("posts/doomed.md", post("title: Doomed", "doomed " * 50))
    rig.site.commit()
    rig.scan()
    rig.site.git("reset", "-q", "--hard", "HEAD~1")
    rig.site.write("posts/instead.md", post("title: Instead", "something else " * 50))
    rig.site.commit("rewritten")
    with caplog.at_level(logging.WARNING, logger="cometwatch"):
        result = rig.scan()
    assert result.commits == 1
    assert "history was rewritten" in caplog.text
    assert sorted((name, slug) for _, name, slug in rig.stored()) == [
        ("content.created", "instead"), ("content.deleted", "doomed"),
        ("content.published", "instead"), ("content.unpublished", "doomed")]


def gc_away(site: Site, commit: str) -> None:
    """Forget every way back to `commit` and prune it, as a force push and `git gc` do."""
    site.git("update-ref", "-d", "ORIG_HEAD")
    site.git("reflog", "expire", "--expire=now", "--all")
    site.git("gc", "-q", "--prune=now")
    missing = subprocess.run(["git", "cat-file", "-e", commit], cwd=site.root,
                             capture_output=True)
    assert missing.returncode != 0, "the commit is still in the repository"


def test_a_cursor_commit_gone_after_a_force_push_and_gc_is_derived_from_the_ledger(
        rig: Rig, capsysbinary: pytest.CaptureFixture[bytes],
        caplog: pytest.LogCaptureFixture) -> None:
    rig.site.write("posts/doomed.md", post("title: Doomed", "doomed " * 50))
    rig.site.commit()
    rig.scan()
    gone = rig.site.head()
    rig.site.git("reset", "-q", "--hard", "HEAD~1")
    rig.site.move("posts/first.md", "posts/renamed.md")
    rig.site.write("about.md", post("title: About, rewritten"))
    rig.site.write("posts/instead.md", post("title: Instead", "something else " * 50))
    rig.site.commit("rewritten")
    # what the force push gave while the old commit was still there: its tree against the tip's
    expected = rig.events_all(capsysbinary, f"{gone}..{rig.site.head()}")
    gc_away(rig.site, gone)
    with caplog.at_level(logging.WARNING, logger="cometwatch"):
        result = rig.scan()
    assert result.commits == 1 and rig.stored() == expected
    assert sorted((name, slug) for _, name, slug in expected) == [
        ("content.created", "instead"), ("content.deleted", "doomed"),
        ("content.published", "instead"), ("content.unpublished", "doomed"),
        ("content.updated", "about"), ("content.updated", "renamed")]
    assert [r.getMessage() for r in caplog.records if gone[:12] in r.getMessage()] == [
        f"{gone[:12]} is gone from the repository (history was rewritten, then pruned): "
        f"comparing the entries it held with the tree of {rig.site.head()[:12]} as one save"]
    again = rig.scan()
    assert (again.commits, again.events) == (0, 0) and rig.stored() == expected


def test_a_scan_that_fails_before_its_commit_stores_nothing_and_derives_it_again(
        rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    rig.scan()
    rig.site.move("posts/first.md", "posts/moved.md")
    rig.site.commit()
    # the cursor is the last statement of the transaction: events and ledger rows come first
    monkeypatch.setitem(store_module.QUERIES, "save_cursor", "SELECT no_such_function()")
    with pytest.raises(StateError):
        rig.scan()
    monkeypatch.undo()
    assert rig.stored() == []
    assert rig.scan().events == 1
    assert [name for _, name, _ in rig.stored()] == ["content.updated"]


# -- content rules changed under a stored ledger ------------------------------------------------

def stored_events(rig: Rig) -> list[tuple[str, str, str, str]]:
    """(event name, collection, entry id, slug) delivered to "all", oldest first."""
    with rig.store() as store:
        rows = store.deliveries(webhook="all", limit=100_000)
    return [(d.event.name, d.event.collection, d.event.entry_id, d.event.slug)
            for d in reversed(rows)]


def test_changed_content_rules_read_the_branch_again_silently_keeping_ids(
        site: Site, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for name in ("posts/first.md", "posts/guide.txt", "posts/howto.txt",
                 "posts/legacy.markdown"):
        site.write(name, post(f"title: {name}"))
    site.commit("start")
    site.move("posts/guide.txt", "posts/guide.md")  # an entry from here on, under md only
    site.commit("rename into an entry")
    Rig(site, tmp_path).scan()  # extensions md and markdown
    cursor = site.head()
    for name in ("posts/first.md", "posts/guide.md", "posts/howto.txt",
                 "posts/legacy.markdown"):
        site.write(name, post(f"title: {name}, edited"))
    site.write("notes.txt", post("title: Notes"))
    site.commit("edits, made before the rules changed")
    rig = Rig(site, tmp_path, extra='extensions = ["md", "txt"]\n'
                                    'collections = { "posts/**" = "articles" }')
    with caplog.at_level(logging.WARNING, logger="cometwatch"):
        result = rig.scan()
    assert result.commits == 1
    # The commit after the cursor under the new rules, from the branch as they read it at the
    # cursor: howto.txt was an entry there (updated, not created), legacy.markdown was not
    # (nothing, not deleted). guide.md keeps the id it had: the new rules alone would give it
    # the id of posts/guide.txt, where it was first added under them.
    assert stored_events(rig) == [
        ("content.created", "pages", derived_id("notes.txt"), "notes"),
        ("content.published", "pages", derived_id("notes.txt"), "notes"),
        ("content.updated", "articles", derived_id("posts/first.md"), "first"),
        ("content.updated", "articles", derived_id("posts/guide.md"), "guide"),
        ("content.updated", "articles", derived_id("posts/howto.txt"), "howto")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "content rules" in warnings[0]
    assert cursor[:12] in warnings[0] and "cometwatch scan --since REV" in warnings[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cometwatch"):
        again = rig.scan()
    assert (again.commits, again.events) == (0, 0) and not caplog.records


def test_changed_content_rules_and_a_cursor_gone_read_the_branch_again_at_the_tip(
        rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    rig.site.write("posts/doomed.md", post("title: Doomed", "doomed " * 50))
    rig.site.commit()
    rig.scan()
    gone = rig.site.head()
    rig.site.git("reset", "-q", "--hard", "HEAD~1")
    rig.site.write("posts/instead.md", post("title: Instead", "something else " * 50))
    rig.site.commit("rewritten")
    gc_away(rig.site, gone)
    renamed = Rig(rig.site, tmp_path, extra='collections = { "posts/**" = "articles" }')
    with caplog.at_level(logging.WARNING, logger="cometwatch"):
        result = renamed.scan()
    assert result.events == 0 and result.cursor == rig.site.head()
    assert [r.getMessage() for r in caplog.records if gone[:12] in r.getMessage()] != []
    renamed.site.write("posts/instead.md", post("title: Instead, edited"))
    renamed.site.commit()
    renamed.scan()
    assert stored_events(renamed) == [
        ("content.updated", "articles", derived_id("posts/instead.md"), "instead")]


def test_a_daemon_reloaded_with_new_content_rules_reads_the_branch_again(
        rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    scanner = rig.scanner()
    try:
        scanner.scan(rig.site.clock)
        scanner.reload(Rig(rig.site, tmp_path, extra='collections = { "posts/**" = "articles" }'
                           ).config)
        rig.site.write("posts/first.md", post("title: First, edited"))
        rig.site.commit()
        with caplog.at_level(logging.WARNING, logger="cometwatch"):
            scanner.scan(rig.site.clock)
    finally:
        scanner._store.close()
        scanner._source.close()
    assert stored_events(rig) == [
        ("content.updated", "articles", derived_id("posts/first.md"), "first")]
    assert len([r for r in caplog.records if "content rules" in r.getMessage()]) == 1


def test_the_rules_fingerprint_leaves_out_values_at_their_defaults() -> None:
    default = rules_fingerprint(ContentRules())
    assert rules_fingerprint(ContentRules(extensions=("md", "markdown"))) == default
    assert rules_fingerprint(ContentRules(content_dir="content")) != default
    assert rules_fingerprint(ContentRules(published_values=("live",))) != default


def test_two_scanners_racing_on_one_state_file_store_each_event_once(rig: Rig) -> None:
    rig.scan()
    first, second = rig.scanner(), rig.scanner()
    first.scan(rig.site.clock)
    second.scan(rig.site.clock)  # both have cached the same cursor
    rig.site.write("posts/second.md", post("title: Second"))
    rig.site.commit()
    assert first.scan(rig.site.clock).events == 2
    assert second.scan(rig.site.clock).events == 0  # derived again from the moved cursor
    assert len(rig.stored()) == 2


def test_a_long_backfill_is_stored_in_atomic_steps(rig: Rig,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(5):
        rig.site.write(f"posts/p{n}.md", post(f"title: P{n}"))
        rig.site.commit()
    monkeypatch.setattr(scanner_module, "FLUSH_EVENTS", 3)
    result = rig.scan(backfill="all")
    assert result.events == 14 and result.cursor == rig.site.head()
    with rig.store() as store:
        state = store.cursor("main")
        assert state is not None and state.generation > 3


def test_deliveries_to_a_webhook_disabled_in_the_state_are_recorded_as_skipped(
        rig: Rig) -> None:
    rig.scan()
    with rig.store() as store:
        store.disable_webhook("all", "410 Gone", 0)
    rig.site.write("posts/second.md", post("title: Second"))
    rig.site.commit()
    rig.scan()
    with rig.store() as store:
        counts = store.counts()
    assert counts["all"] == {DeliveryStatus.SKIPPED: 2}
    assert counts["builds"] == {DeliveryStatus.PENDING: 1}


def test_the_state_file_never_holds_a_secret_or_a_webhook_url(rig: Rig) -> None:
    rig.scan(backfill="all")
    stored = b"".join(path.read_bytes() for path in rig.state.parent.iterdir())
    assert rig.stored()
    assert SECRET.encode() not in stored
    assert b"all-token-in-path" not in stored and b"127.0.0.1" not in stored


# -- the command ----------------------------------------------------------------------------

def cometwatch(*args: str, config: Path) -> Ran:
    return run_cli("--config", str(config), *args)


def test_scan_command_takes_a_baseline_then_stores_new_events_without_sending(
        rig: Rig) -> None:
    first = cometwatch("scan", config=rig.config_file)
    assert first.returncode == 0, first.stderr
    assert "baseline" in first.stdout
    rig.site.write("posts/second.md", post("title: Second"))
    rig.site.commit()
    second = cometwatch("scan", "--no-deliver", config=rig.config_file)
    assert second.returncode == 0, second.stderr
    assert "2 events" in second.stdout
    with rig.store() as store:
        assert store.counts()["all"] == {DeliveryStatus.PENDING: 2}


def test_scan_command_counts_in_the_singular_and_the_plural(rig: Rig) -> None:
    first = cometwatch("scan", config=rig.config_file)
    assert "(1 commit read)" in first.stdout
    rig.site.write("posts/draft.md", post("title: Draft\ndraft: true"))
    rig.site.commit()
    one = cometwatch("scan", "--no-deliver", config=rig.config_file)
    assert ": 1 commit, 1 event, 1 delivery\n" in one.stdout, one.stderr
    rig.site.write("posts/a.md", post("title: A"))
    rig.site.commit()
    rig.site.write("posts/b.md", post("title: B"))
    rig.site.commit()
    two = cometwatch("scan", "--no-deliver", config=rig.config_file)
    assert ": 2 commits, 4 events, 6 deliveries\n" in two.stdout, two.stderr


def test_scan_command_on_a_missing_branch_is_one_line_and_exit_1(rig: Rig) -> None:
    rig.config_file.write_text(rig.config_file.read_text().replace(
        "[repository]\n", '[repository]\nbranch = "nope"\n'))
    result = cometwatch("scan", config=rig.config_file)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "nope" in result.stderr
    assert not rig.state.exists() or Store.open(rig.state).cursors() == []


def test_scan_command_refuses_a_bad_since_revision_in_one_line(rig: Rig) -> None:
    result = cometwatch("scan", "--since", "no-such-rev", config=rig.config_file)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "no-such-rev" in result.stderr
