"""The state store on real SQLite files: schema, de-duplication, order, webhook state, replay."""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cometwatch.config import Config, RepositoryConfig
from cometwatch.entry import Frontmatter
from cometwatch.errors import StateError
from cometwatch.gitrepo import Repository
from cometwatch.identity import PARTS, DamagedLedger, Deleted, Ledger, Record, derived_id
from cometwatch.payload import ContentEvent
from cometwatch.sql import MIGRATIONS
from cometwatch.store import (
    SCHEMA_VERSION,
    Attempt,
    CursorMoved,
    DeliveryStatus,
    Store,
)

NOW = 1_750_000_000.0


def event(n: int, entry: str = "e1", name: str = "content.updated",
          collection: str = "posts") -> ContentEvent:
    return ContentEvent(f"evt_{n}", name, 1_700_000_000 + n, collection, entry, f"slug-{entry}",
                        f"c{n}", f"{collection}/{entry}.md")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "state" / "state.db") as opened:
        yield opened


def save(store: Store, events: list[ContentEvent], hooks: tuple[str, ...] = ("a",),
         now: float = NOW, windows: dict[str, tuple[float, float]] | None = None,
         branch: str = "main") -> tuple[int, int]:
    state = store.cursor(branch)
    saved = store.save_scan(branch, state.generation if state else None, "tip", None, None, events,
                            [(e.event_id, h) for e in events for h in hooks], windows or {}, now)
    return saved.events, saved.deliveries


def attempt(code: int | None, error: str | None = None) -> Attempt:
    return Attempt(NOW, code, 0.01, error, b"answer")


def test_a_new_database_is_created_in_wal_mode_at_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "state.db"
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_database_from_a_newer_cometwatch_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    Store.open(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StateError, match="newer cometwatch") as caught:
        Store.open(path)
    assert "\n" not in str(caught.value)
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1


def test_a_file_that_is_not_a_database_gives_one_line(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StateError, match=r"state\.db") as caught:
        Store.open(path)
    assert "\n" not in str(caught.value)


def test_reading_commands_do_not_create_a_database(tmp_path: Path) -> None:
    with pytest.raises(StateError, match="run `cometwatch scan` first"):
        Store.open(tmp_path / "none.db", create=False)
    assert not (tmp_path / "none.db").exists()


def test_default_path_prefers_the_config_then_systemd_then_the_git_dir(tmp_path: Path) -> None:
    repo_dir = tmp_path / "repo"
    repo_dir.mkdir()
    import subprocess

    subprocess.run(["git", "init", "-q", str(repo_dir)], check=True)
    config = Config(file=None, repository=RepositoryConfig(path=repo_dir))
    with Repository(repo_dir) as repo:
        assert Store.default_path(config, repo, {}) == \
            repo_dir.resolve() / ".git" / "cometwatch" / "state.db"
        assert Store.default_path(config, repo, {"STATE_DIRECTORY": "/var/lib/cw:/other"}) == \
            Path("/var/lib/cw/state.db")
        chosen = Config(file=None, repository=RepositoryConfig(path=repo_dir),
                        state_path=tmp_path / "mine.db")
        assert Store.default_path(chosen, repo, {"STATE_DIRECTORY": "/x"}) == tmp_path / "mine.db"


def test_an_event_id_is_stored_once_and_delivered_once_per_webhook(store: Store) -> None:
    assert save(store, [event(1), event(2)], hooks=("a", "b")) == (2, 4)
    assert save(store, [event(1), event(2), event(3)], hooks=("a", "b")) == (1, 2)
    assert save(store, [event(1)], hooks=("a", "b", "c")) == (0, 0)
    assert sum(store.counts()["a"].values()) == 3


def test_a_scan_from_a_stale_cursor_writes_nothing(store: Store) -> None:
    save(store, [event(1)])
    with pytest.raises(CursorMoved):
        store.save_scan("main", None, "other", None, None, [event(2)], [("evt_2", "a")], {}, NOW)
    state = store.cursor("main")
    assert state is not None and state.commit == "tip" and state.generation == 1
    assert [d.event.event_id for d in store.deliveries()] == ["evt_1"]


def record(sha: str, derived: str, explicit: str | None = None,
           publish_at: float | None = None) -> Record:
    return Record(sha * 40, derived, explicit, "posts", "slug", True, False,
                  Frontmatter(explicit_id=explicit, publish_at=publish_at))


def a_ledger() -> Ledger:
    """Every part of a ledger used: entries, a timer, minted paths, both kinds of deleted, and
    a path git gives as bytes that are not UTF-8."""
    ledger = Ledger(clock=NOW - 5)
    ledger.put("posts/a.md", record("1", ledger.mint("posts/a.md")), NOW + 60)
    ledger.put("posts/caf\udce9.md", record("2", ledger.mint("posts/caf\udce9.md")), None)
    gone = record("3", ledger.mint("posts/old.md"), explicit="uid-3")
    ledger.remember_deleted(gone, "posts/old.md")
    ledger.remember_deleted(record("4", ledger.mint("posts/older.md")), "posts/older.md")
    return ledger


def ledger_rows(store: Store) -> int:
    with sqlite3.connect(store.path) as raw:
        return int(raw.execute("SELECT count(*) FROM ledger").fetchone()[0])


def stored_ledger(store: Store) -> Ledger:
    data = store.ledger("main")
    assert data is not None
    return Ledger.from_rows(*data)


def delta_keys(ledger: Ledger) -> dict[str, list[str]]:
    """What a scan would write of the ledger: part → the keys upserted or dropped."""
    delta = ledger.delta()
    keys: dict[str, set[str]] = {}
    for part, key, *_ in [*delta.put, *delta.drop]:
        keys.setdefault(part, set()).add(key)
    return {part: sorted(found) for part, found in keys.items()}


def test_a_ledger_is_stored_as_rows_and_read_back_whole(store: Store) -> None:
    ledger = a_ledger()
    store.save_scan("main", None, "tip", ledger.delta(), None, [], [], {}, NOW)
    back = stored_ledger(store)
    assert back == ledger
    assert back.next_due() == (NOW + 60, "posts/a.md")
    assert ledger_rows(store) == 10  # 2 entries, 1 timer, 4 minted, 2 + 1 deleted


def test_a_scan_writes_only_what_changed_in_the_ledger(store: Store) -> None:
    ledger = a_ledger()
    store.save_scan("main", None, "tip", ledger.delta(), None, [], [], {}, NOW)
    ledger.stored()
    ledger.drop("posts/a.md")
    ledger.put("posts/new.md", record("5", ledger.mint("posts/new.md")), None)
    assert ledger.claim_deleted("posts/x.md", "uid-3") is not None
    ledger.clock = NOW
    assert delta_keys(ledger) == {
        "entries": ["posts/a.md", "posts/new.md"], "timers": ["posts/a.md", "posts/new.md"],
        "minted": ["posts/new.md"], "deleted_by_path": ["posts/old.md"],
        "deleted_by_explicit": ["uid-3"]}
    store.save_scan("main", 1, "next", ledger.delta(), None, [], [], {}, NOW)
    assert stored_ledger(store) == ledger
    save(store, [event(1)])  # a save without ledger changes keeps the stored ledger
    assert stored_ledger(store) == ledger


def test_a_ledger_never_stored_replaces_the_stored_one(store: Store) -> None:
    store.save_scan("main", None, "tip", a_ledger().delta(), None, [], [], {}, NOW)
    fresh = Ledger()
    fresh.mint("pages/only.md")
    store.save_scan("main", 1, "tip", fresh.delta(), None, [], [], {}, NOW)
    assert stored_ledger(store) == fresh and ledger_rows(store) == 1


def test_a_save_from_a_stale_cursor_writes_no_ledger_rows(store: Store) -> None:
    ledger = a_ledger()
    store.save_scan("main", None, "tip", ledger.delta(), None, [], [], {}, NOW)
    ledger.stored()
    ledger.drop("posts/a.md")
    with pytest.raises(CursorMoved):
        store.save_scan("main", None, "other", ledger.delta(), None, [], [], {}, NOW)
    assert stored_ledger(store) == a_ledger()


def read_back(store: Store) -> Ledger:
    """The stored ledger as a scan reads it: its timers, the rest as asked for."""
    head = store.ledger_head("main")
    assert head is not None
    return Ledger.from_store(head[1], store.ledger_rows("main").part("timers"))


def fetch(store: Store, ledger: Ledger, wanted: dict[str, list[str]]) -> None:
    """What cometwatch.flow.fetch does before a chunk: the missing rows, one query a round."""
    missing = ledger.missing(wanted)
    while missing:
        missing = ledger.absorb(missing, store.ledger_rows("main").rows(missing))


def test_a_ledger_read_from_the_store_fetches_the_rows_asked_for_once_and_its_own_win(
        store: Store) -> None:
    store.save_scan("main", None, "tip", a_ledger().delta(), None, [], [], {}, NOW)
    ledger = read_back(store)
    assert store.ledger_rows_read == 1  # the timers, read whole for next_due
    assert ledger.next_due() == (NOW + 60, "posts/a.md") and ledger.clock == NOW - 5
    assert not ledger.whole and ledger.entries == {}  # nothing read behind a dict
    fetch(store, ledger, {"entries": ["posts/caf\udce9.md", "posts/nowhere.md"]})
    assert ledger.entries == {"posts/caf\udce9.md": a_ledger().entries["posts/caf\udce9.md"]}
    assert store.ledger_rows_read == 2  # one found; the other known absent
    assert ledger.missing({"entries": ["posts/caf\udce9.md", "posts/nowhere.md"]}) == {}
    # an explicit id leads to the path it was deleted at: a second round, in the same fetch
    fetch(store, ledger, {"deleted_by_explicit": ["uid-3"], "entries": ["posts/a.md"],
                          "minted": ["posts/a.md"]})
    assert store.ledger_rows_read == 6
    assert ledger.claim_deleted("posts/x.md", "uid-3") == Deleted(derived_id("posts/old.md"),
                                                                  "uid-3", "posts/old.md")
    assert "posts/old.md" not in ledger.deleted_by_path
    assert ledger.drop("posts/a.md") is not None and "posts/a.md" not in ledger.entries
    assert ledger.mint("posts/a.md") == derived_id("posts/a.md", 1)
    fetch(store, ledger, {"entries": ["posts/a.md"], "deleted_by_explicit": ["uid-3"]})
    assert "posts/a.md" not in ledger.entries  # what it changed wins over the stored row
    assert delta_keys(ledger) == {
        "entries": ["posts/a.md"], "timers": ["posts/a.md"], "minted": ["posts/a.md"],
        "deleted_by_path": ["posts/old.md"], "deleted_by_explicit": ["uid-3"]}
    store.save_scan("main", 1, "next", ledger.delta(), None, [], [], {}, NOW)
    whole = a_ledger()
    whole.drop("posts/a.md")
    whole.mint("posts/a.md")
    whole.claim_deleted("posts/x.md", "uid-3")
    assert stored_ledger(store) == whole


def test_a_ledger_read_from_the_store_is_read_whole_for_whole_ledger_work(
        store: Store) -> None:
    store.save_scan("main", None, "tip", a_ledger().delta(), None, [], [], {}, NOW)
    ledger = read_back(store)
    ledger.drop("posts/a.md")
    rows = store.ledger_rows("main")
    ledger.absorb_whole({part: rows.part(part) for part in PARTS})
    assert ledger.whole and sorted(ledger.entries) == ["posts/caf\udce9.md"]
    assert ledger.to_json()["parts"]["minted"] == a_ledger().to_json()["parts"]["minted"]


def test_reads_within_one_reading_see_one_snapshot_and_a_write_starts_another(
        store: Store) -> None:
    store.save_scan("main", None, "tip", a_ledger().delta(), None, [], [], {}, NOW)
    changed = a_ledger()
    changed.stored()
    changed.drop("posts/caf\udce9.md")
    with Store.open(store.path) as other, store.reading():
        ledger = read_back(store)  # the snapshot starts here
        other.save_scan("main", 1, "moved", changed.delta(), None, [], [], {}, NOW)
        fetch(store, ledger, {"entries": ["posts/caf\udce9.md"]})
        assert "posts/caf\udce9.md" in ledger.entries  # as of the cursor this scan read
        state = store.cursor("main")
        assert state is not None and state.commit == "tip"
        store.touch("main", NOW + 1)  # a write ends the snapshot; the next read is after it
        state = store.cursor("main")
        assert state is not None and state.commit == "moved"
        again = read_back(store)
        fetch(store, again, {"entries": ["posts/caf\udce9.md"]})
        assert "posts/caf\udce9.md" not in again.entries


def test_a_damaged_ledger_row_is_refused_in_one_line(store: Store) -> None:
    store.save_scan("main", None, "tip", a_ledger().delta(), None, [], [], {}, NOW)
    with sqlite3.connect(store.path) as raw:
        raw.execute("UPDATE ledger SET value = '{not json' WHERE part = 'entries'")
    with pytest.raises(DamagedLedger, match="entries rows"):
        fetch(store, read_back(store), {"entries": ["posts/a.md"]})


def test_the_rules_fingerprint_is_kept_until_a_save_names_another(store: Store) -> None:
    store.save_scan("main", None, "tip", None, None, [], [], {}, NOW, rules="r1")
    save(store, [event(1)])
    state = store.cursor("main")
    assert state is not None and state.rules == "r1"
    store.save_scan("main", 2, "tip", None, None, [], [], {}, NOW, rules="r2")
    state = store.cursor("main")
    assert state is not None and state.rules == "r2"


def schema_1(path: Path, ledger_blob: bytes) -> None:
    """A state database as cometwatch wrote it before the ledger had rows of its own."""
    with sqlite3.connect(path) as raw:
        raw.executescript(MIGRATIONS[0])
        raw.execute("INSERT INTO cursors VALUES ('main', 'abc', ?, 7, ?, ?, ?)",
                    (ledger_blob, NOW + 60, NOW, NOW))
        raw.execute("PRAGMA user_version = 1")


def version_1(ledger: Ledger) -> dict[str, Any]:
    """What Ledger.to_json gave in ledger version 1."""
    parts = ledger.to_json()["parts"]
    return {"version": 1, "clock": ledger.clock, "entries": parts["entries"],
            "minted": parts["minted"], "timers": parts["timers"],
            "deleted_by_path": list(parts["deleted_by_path"].values()),
            "deleted_by_explicit": list(parts["deleted_by_explicit"].values())}


def test_migration_2_writes_a_blob_ledger_as_rows(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    ledger = a_ledger()
    schema_1(path, zlib.compress(json.dumps(version_1(ledger)).encode()))
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        state = store.cursor("main")
        assert state is not None and (state.commit, state.generation) == ("abc", 7)
        assert state.next_timer == NOW + 60 and state.rules is None
        assert stored_ledger(store) == ledger
    with sqlite3.connect(path) as raw:
        tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
        columns = {row[1] for row in raw.execute("PRAGMA table_info(cursors)")}
    assert "ledger_blobs" not in tables and "ledger" not in columns


def test_a_blob_ledger_that_cannot_be_read_stops_the_migration_in_one_line(
        tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    schema_1(path, b"not zlib at all")
    with pytest.raises(StateError, match="move the state file away") as caught:
        Store.open(path)
    assert "\n" not in str(caught.value)
    with sqlite3.connect(path) as raw:  # left as it was
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
        assert raw.execute("SELECT ledger FROM cursors").fetchone()[0] == b"not zlib at all"


def test_migration_3_takes_the_oldest_settled_delivery_as_the_purges_horizon(
        tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as raw:
        for script in MIGRATIONS[:2]:
            raw.executescript(script)
        raw.execute("PRAGMA user_version = 2")
        for n, stored_at in ((1, NOW), (2, NOW + 10), (3, NOW + 30)):
            raw.execute("INSERT INTO events VALUES (?, ?, 'content.updated', 0, 'posts', ?, "
                        "'s', 'c', 'p', ?)", (n, f"evt_{n}", f"e{n}", stored_at))
        # evt_1's deliveries were purged; the oldest settled one left was last changed at +20
        raw.execute("INSERT INTO deliveries (event, webhook, entry_id, status, created_at, "
                    "updated_at) VALUES (2, 'a', 'e2', 'ok', ?, ?)", (NOW + 10, NOW + 20))
    with Store.open(path) as store:
        recovered = store.recover("a", 0, NOW + 60, lambda name, collection: True)
        assert recovered.forgotten == 1  # evt_1, stored before the horizon
        assert [store.delivery(i).event.event_id  # type: ignore[union-attr]
                for i in recovered.created] == ["evt_3"]


def test_only_the_head_of_an_entrys_queue_is_due(store: Store) -> None:
    save(store, [event(1, "x"), event(2, "x"), event(3, "y"), event(4, "x")])
    due = store.due("a", NOW, 10)
    assert [d.event.event_id for d in due] == ["evt_1", "evt_3"]
    first = due[0]
    store.record(first, attempt(500, "HTTP 500"), DeliveryStatus.FAILED, NOW + 5)
    assert [d.event.event_id for d in store.due("a", NOW + 1, 10)] == ["evt_3"]
    assert [d.event.event_id for d in store.due("a", NOW + 10, 10)] == ["evt_3", "evt_1"]
    store.record(first, attempt(None, "refused"), DeliveryStatus.DEAD, None)
    assert [d.event.event_id for d in store.due("a", NOW, 10)] == ["evt_2", "evt_3"]


def test_other_webhooks_queues_are_independent(store: Store) -> None:
    save(store, [event(1, "x"), event(2, "x")], hooks=("a", "b"))
    head = store.due("a", NOW, 10)[0]
    store.record(head, attempt(200), DeliveryStatus.OK, None)
    assert [d.event.event_id for d in store.due("a", NOW, 10)] == ["evt_2"]
    assert [d.event.event_id for d in store.due("b", NOW, 10)] == ["evt_1"]


def test_a_coalescing_burst_falls_due_after_the_window_but_within_max_wait(store: Store) -> None:
    windows = {"a": (30.0, 60.0)}
    save(store, [event(1, "x")], now=NOW, windows=windows)
    save(store, [event(2, "y")], now=NOW + 20, windows=windows)
    assert {d.next_at for d in store.deliveries()} == {NOW + 50}
    save(store, [event(3, "z")], now=NOW + 45, windows=windows)
    assert {d.next_at for d in store.deliveries()} == {NOW + 60}  # max_wait after the first
    latest = store.latest_open("a")
    assert latest is not None and latest.event.event_id == "evt_3"
    assert store.coalesce("a", latest.id, NOW + 60) == 2
    statuses = {d.event.event_id: (d.status, d.coalesced_into) for d in store.deliveries()}
    assert statuses == {"evt_1": (DeliveryStatus.COALESCED, latest.id),
                        "evt_2": (DeliveryStatus.COALESCED, latest.id),
                        "evt_3": (DeliveryStatus.PENDING, None)}


def test_the_headers_an_attempt_sent_are_kept_and_no_credential_reaches_the_file(
        store: Store, tmp_path: Path) -> None:
    save(store, [event(1)])
    delivery = store.due("a", NOW, 1)[0]
    sent = (("Host", "example.test"), ("Authorization", "Bearer never-at-rest"),
            ("X-CometCMS-Signature", "sha256=abc123"), ("X-Build", "main"))
    store.record(delivery, Attempt(NOW, 204, 0.01, None, b"", headers=sent),
                 DeliveryStatus.OK, None)
    [kept] = store.attempts(delivery.id)
    assert kept.headers == (("Host", "example.test"), ("Authorization", "***"),
                            ("X-CometCMS-Signature", "sha256=abc123"), ("X-Build", "main"))
    store.close()
    for path in (tmp_path / "state").iterdir():  # the database, its WAL and index
        assert b"never-at-rest" not in path.read_bytes()


@pytest.mark.parametrize(("sent", "read"), [(None, None), ((), ())])
def test_an_attempt_without_headers_reads_back_as_not_recorded_or_none_sent(
        store: Store, sent: Any, read: Any) -> None:
    save(store, [event(1)])
    delivery = store.due("a", NOW, 1)[0]
    store.record(delivery, Attempt(NOW, None, 0.0, "refused", b"", headers=sent),
                 DeliveryStatus.FAILED, NOW + 5)
    assert store.attempts(delivery.id)[0].headers == read


def test_attempts_are_recorded_with_code_duration_error_and_answer(store: Store) -> None:
    save(store, [event(1)])
    delivery = store.due("a", NOW, 1)[0]
    store.record(delivery, Attempt(NOW, None, 15.0, "timed out after 15s", b""),
                 DeliveryStatus.FAILED, NOW + 5)
    store.record(delivery, Attempt(NOW + 5, 200, 0.02, None, b"x" * 10_000),
                 DeliveryStatus.OK, None)
    attempts = store.attempts(delivery.id)
    assert [(a.code, a.error) for a in attempts] == [(None, "timed out after 15s"), (200, None)]
    assert attempts[0].duration == 15.0 and len(attempts[1].answer) == 4096
    after = store.delivery(delivery.id)
    assert after is not None and after.status is DeliveryStatus.OK and after.attempts == 2
    assert after.next_at is None and after.last_error is None


def test_webhook_state_tracks_failing_since_until_a_success(store: Store) -> None:
    save(store, [event(1, "x"), event(2, "y")])
    one, two = store.due("a", NOW, 10)
    state = store.record(one, Attempt(NOW, 500, 0.1, "HTTP 500", b""), DeliveryStatus.FAILED,
                         NOW + 5)
    assert state.failing_since == NOW
    state = store.record(two, Attempt(NOW + 9, 500, 0.1, "HTTP 500", b""),
                         DeliveryStatus.FAILED, NOW + 20)
    assert state.failing_since == NOW
    state = store.record(one, Attempt(NOW + 30, 204, 0.1, None, b""), DeliveryStatus.OK, None)
    assert state.failing_since is None and state.last_success == NOW + 30


def test_disabling_a_webhook_skips_its_open_and_its_new_deliveries(store: Store) -> None:
    save(store, [event(1, "x")], hooks=("a", "b"))
    assert store.disable_webhook("a", "410 Gone", NOW) == 1
    save(store, [event(2, "y")], hooks=("a", "b"))
    by_hook = store.counts()
    assert by_hook["a"] == {DeliveryStatus.SKIPPED: 2}
    assert by_hook["b"] == {DeliveryStatus.PENDING: 2}
    assert store.due("a", NOW, 10) == []
    assert store.disabled_webhooks() == {"a"}
    assert store.webhook_states()["a"].disabled_reason == "410 Gone"
    assert store.enable_webhook("a") and not store.enable_webhook("a")
    assert store.disabled_webhooks() == set()


def test_an_attempt_in_flight_while_its_webhook_is_disabled_stays_skipped(store: Store) -> None:
    save(store, [event(1)])
    flying = store.due("a", NOW, 1)[0]
    store.disable_webhook("a", "410 Gone", NOW)
    store.record(flying, attempt(500, "HTTP 500"), DeliveryStatus.FAILED, NOW + 5)
    after = store.delivery(flying.id)
    assert after is not None and after.status is DeliveryStatus.SKIPPED and after.next_at is None


def test_replay_reopens_any_delivery_now_with_a_fresh_schedule(store: Store) -> None:
    save(store, [event(1)])
    delivery = store.due("a", NOW, 1)[0]
    for n in range(3):
        store.record(delivery, attempt(500, "HTTP 500"), DeliveryStatus.FAILED, NOW + n)
    store.record(delivery, attempt(500, "HTTP 500"), DeliveryStatus.DEAD, None)
    assert store.replay([delivery.id, 999], NOW + 100) == [delivery.id]
    again = store.due("a", NOW + 100, 1)[0]
    assert again.status is DeliveryStatus.PENDING and again.attempts == 4 and again.tries == 0


def test_recover_reopens_what_died_or_was_skipped_since_a_moment(store: Store) -> None:
    save(store, [event(1, "x"), event(2, "y"), event(3, "z"), event(4, "w")], now=NOW)
    old, young, skipped, fine = store.due("a", NOW, 10)
    store.record(old, Attempt(NOW + 10, 500, 0.1, "HTTP 500", b""), DeliveryStatus.DEAD, None)
    store.record(young, Attempt(NOW + 90, 500, 0.1, "HTTP 500", b""), DeliveryStatus.DEAD,
                 None)
    store.record(fine, Attempt(NOW + 90, 200, 0.1, None, b""), DeliveryStatus.OK, None)
    store.disable_webhook("a", "manual", NOW + 100)  # `skipped` was still open
    store.enable_webhook("a")
    recovered = store.recover("a", NOW + 50, NOW + 200)
    assert recovered.reopened == [young.id, skipped.id] and recovered.created == []
    assert {d.event.event_id for d in store.due("a", NOW + 200, 10)} == {"evt_2", "evt_3"}


def test_recover_creates_the_deliveries_a_webhook_never_had_in_derivation_order(
        store: Store) -> None:
    # stored while webhook "b" was off: only "a" got deliveries
    save(store, [event(1, "x"), event(2, "x", "content.published"), event(3, "y"),
                 event(4, "x", collection="pages"), event(5, "x")], hooks=("a",))
    save(store, [event(6, "z")], hooks=("a", "b"))  # "b" on again: it got this one

    def wants(name: str, collection: str) -> bool:
        return collection == "posts"

    since = event(2).occurred_at  # evt_1 occurred before
    recovered = store.recover("b", since, NOW + 10, wants)
    assert recovered.reopened == [] and recovered.forgotten == 0
    made = [store.delivery(i) for i in recovered.created]
    assert [(d.event.event_id, d.status) for d in made if d] == [
        ("evt_2", DeliveryStatus.PENDING), ("evt_3", DeliveryStatus.PENDING),
        ("evt_5", DeliveryStatus.PENDING)]
    assert recovered.created == sorted(recovered.created)  # per entry: derivation order
    due = [d.event.event_id for d in store.due("b", NOW + 10, 10)]
    assert due == ["evt_6", "evt_2", "evt_3"]  # evt_5 waits behind evt_2, same entry
    assert store.recover("b", since, NOW + 20, wants).created == []  # made once


def test_recover_never_remakes_a_delivery_the_purge_forgot(store: Store) -> None:
    save(store, [event(1, "x")], hooks=("a",), now=NOW)
    (sent,) = store.due("a", NOW, 10)
    store.record(sent, attempt(200), DeliveryStatus.OK, None)
    save(store, [event(2, "y")], hooks=(), now=NOW + 10)  # stored while "a" was off
    assert store.purge(NOW + 5) == 1  # the settled delivery of evt_1 is forgotten
    save(store, [event(3, "z")], hooks=(), now=NOW + 20)
    recovered = store.recover("a", 0, NOW + 30, lambda name, collection: True)
    assert [store.delivery(i).event.event_id for i in recovered.created  # type: ignore[union-attr]
            ] == ["evt_2", "evt_3"]
    assert recovered.forgotten == 1
    assert store.purge(NOW + 1) == 0  # an earlier horizon never lowers the one kept
    save(store, [event(4, "w")], hooks=(), now=NOW + 3)
    assert store.recover("a", 0, NOW + 40, lambda name, collection: True).forgotten == 2


def test_purge_forgets_old_settled_deliveries_but_keeps_events_and_open_ones(
        store: Store) -> None:
    save(store, [event(1, "x"), event(2, "y")])
    done, waiting = store.due("a", NOW, 10)
    store.record(done, attempt(500, "HTTP 500"), DeliveryStatus.DEAD, None)
    store.record(waiting, attempt(500, "HTTP 500"), DeliveryStatus.FAILED, NOW + 3600)
    assert store.purge(NOW + 86400) == 1
    assert store.delivery(done.id) is None and store.attempts(done.id) == []
    assert store.delivery(waiting.id) is not None
    assert save(store, [event(1, "x")]) == (0, 0)  # its event id is still known


def test_dispatcher_threads_record_concurrently_through_their_own_connections(
        store: Store) -> None:
    save(store, [event(n, f"entry-{n}") for n in range(200)])
    due = store.due("a", NOW, 200)
    errors: list[BaseException] = []

    def work(part: int) -> None:
        try:
            with Store.open(store.path) as mine:
                for delivery in due[part::4]:
                    mine.record(delivery, attempt(200), DeliveryStatus.OK, None)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.counts()["a"] == {DeliveryStatus.OK: 200}


OUTCOMES = {"ok": (DeliveryStatus.OK, None), "dead": (DeliveryStatus.DEAD, None),
            "failed": (DeliveryStatus.FAILED, NOW + 60), "pending": None}


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outcomes=st.lists(st.tuples(st.sampled_from(("a", "b", "c")),
                                   st.sampled_from(sorted(OUTCOMES))), max_size=30))
def test_the_open_total_is_what_counts_gives_for_pending_and_failed_of_every_webhook(
        tmp_path_factory: pytest.TempPathFactory, outcomes: list[tuple[str, str]]) -> None:
    folder = tmp_path_factory.mktemp("open")
    with Store.open(folder / "state.db") as store:
        events = [event(n, entry=f"e{n}") for n in range(len(outcomes))]
        save(store, events, hooks=("a", "b", "c"))
        for n, (hook, outcome) in enumerate(outcomes):
            if OUTCOMES[outcome] is None:
                continue
            [delivery] = [d for d in store.due(hook, NOW + 3600, 1000)
                          if d.event.event_id == f"evt_{n}"]
            status, next_at = OUTCOMES[outcome]
            store.record(delivery, attempt(500), status, next_at)
        wanted = sum(n for per_hook in store.counts().values()
                     for status, n in per_hook.items()
                     if status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED))
        assert store.open_total() == wanted
        assert wanted == 3 * len(outcomes) - sum(o in ("ok", "dead") for _, o in outcomes)
