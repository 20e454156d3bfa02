"""The entry projection a scan stores beside its events: rows, dates, visibility."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Site, post

from cometwatch.config import load_config
from cometwatch.projection import EntryRow, jsonable
from cometwatch.scanner import Scanner
from cometwatch.source import Source
from cometwatch.store import Store

T0 = 1_700_000_000


class Rig:
    def __init__(self, site: Site, tmp_path: Path) -> None:
        self.site = site
        self.state = tmp_path / "state.db"
        config_file = tmp_path / "webhooks.toml"
        config_file.write_text(f'[repository]\npath = "{site.root}"\n'
                               f'[state]\npath = "{self.state}"\n')
        self.config = load_config(str(config_file), secrets=False)

    def scan(self, now: float | None = None) -> None:
        with Store.open(self.state) as store, Source.open(self.config) as source:
            Scanner(self.config, store, source).scan(now or self.site.clock + 1)

    def rows(self) -> dict[str, EntryRow]:
        with Store.open(self.state) as store:
            found = store.entries_at("main")
        assert found is not None
        commit, _, rows = found
        assert commit == self.site.head()
        return {row.path: row for row in rows}


@pytest.fixture
def rig(site: Site, tmp_path: Path) -> Rig:
    return Rig(site, tmp_path)


def test_a_baseline_dates_entries_from_their_history_not_from_the_scan(rig: Rig) -> None:
    rig.site.write("posts/a.md", post("title: A"))
    rig.site.commit(time=T0)
    rig.site.write("posts/a.md", post("title: A2\ncolour: red"))
    rig.site.commit(time=T0 + 100)
    rig.scan(T0 + 5000)
    row = rig.rows()["posts/a.md"]
    assert (row.created_at, row.updated_at, row.published_at) == (T0, T0 + 100, T0)
    assert row.title == "A2" and row.data == '{"colour":"red"}'
    assert row.visible(T0 + 5000) and not row.trashed


def test_a_rename_keeps_the_id_and_creation_and_moves_the_row(rig: Rig) -> None:
    rig.site.write("posts/a.md", post("title: A"))
    rig.site.commit(time=T0)
    rig.scan()
    before = rig.rows()["posts/a.md"]
    rig.site.move("posts/a.md", "posts/b.md")
    rig.site.commit(time=T0 + 60)
    rig.scan()
    rows = rig.rows()
    assert "posts/a.md" not in rows
    after = rows["posts/b.md"]
    assert after.entry_id == before.entry_id and after.slug == "b"
    assert (after.created_at, after.updated_at) == (T0, T0 + 60)


def test_publishing_a_draft_dates_published_at_by_that_commit(rig: Rig) -> None:
    rig.site.write("posts/a.md", post("title: A\ndraft: true"))
    rig.site.commit(time=T0)
    rig.scan()
    draft = rig.rows()["posts/a.md"]
    assert not draft.listed and draft.published_at is None
    rig.site.write("posts/a.md", post("title: A"))
    rig.site.commit(time=T0 + 300)
    rig.scan()
    row = rig.rows()["posts/a.md"]
    assert row.listed and row.published_at == T0 + 300


def test_a_scheduled_entry_stores_its_dates_and_is_visible_from_them(rig: Rig) -> None:
    rig.site.write("posts/a.md", post("title: A\npublishDate: 2024-01-01T00:00:00Z\n"
                                      "expiryDate: 2025-01-01T00:00:00Z"))
    rig.site.commit(time=T0)
    rig.scan()
    row = rig.rows()["posts/a.md"]
    start, end = 1_704_067_200.0, 1_735_689_600.0
    assert (row.visible_from, row.visible_until, row.published_at) == (start, end, start)
    assert "publishDate" not in row.data and "expiryDate" in row.data
    assert [row.visible(t) for t in (start - 1, start, end - 1, end)] == \
        [False, True, True, False]


def test_trash_and_restore_set_and_clear_deleted_at(rig: Rig) -> None:
    rig.site.write("posts/a.md", post("title: A"))
    rig.site.commit(time=T0)
    rig.scan()
    rig.site.move("posts/a.md", ".trash/posts/a.md")
    rig.site.commit(time=T0 + 60)
    rig.scan()
    trashed = rig.rows()[".trash/posts/a.md"]
    assert trashed.trashed and trashed.deleted_at == T0 + 60 and not trashed.visible(T0 + 99)
    assert trashed.listed  # its status as it was: published
    rig.site.move(".trash/posts/a.md", "posts/a.md")
    rig.site.commit(time=T0 + 120)
    rig.scan()
    back = rig.rows()["posts/a.md"]
    assert back.deleted_at is None and back.created_at == T0 and back.visible(T0 + 200)
    assert back.entry_id == trashed.entry_id


def test_a_state_from_before_the_projection_gets_its_rows_at_the_next_scan(rig: Rig) -> None:
    import sqlite3

    rig.site.write("posts/a.md", post("title: A"))
    rig.site.commit(time=T0)
    rig.scan()
    with sqlite3.connect(rig.state) as db:  # as a state migrated from schema 4 holds it
        db.execute("DELETE FROM entries")
        db.execute("DELETE FROM entries_built")
    rig.scan()  # nothing new in the branch
    assert set(rig.rows()) == {"posts/a.md"}


def test_the_body_offset_points_past_the_frontmatter(rig: Rig) -> None:
    rig.site.write("posts/a.md", "---\ntitle: A\n---\nThe body.\n")
    rig.site.write("posts/b.md", "No frontmatter at all.\n")
    rig.site.commit()
    rig.scan()
    rows = rig.rows()
    assert rows["posts/a.md"].body_at == len("---\ntitle: A\n---\n")
    assert rows["posts/b.md"].body_at == 0


@pytest.mark.parametrize(("value", "expected"), [
    (float("nan"), None),
    (float("inf"), None),
    ({1: "x"}, {"1": "x"}),
    (b"\x00\x01", "AAE="),
    ({"when": __import__("datetime").date(2024, 1, 2)}, {"when": "2024-01-02"}),
])
def test_frontmatter_values_become_json(value: object, expected: object) -> None:
    assert jsonable(value) == expected


def _row(path: str, locale: str | None, rank: int, title: str, listed: bool = True,
         entry_id: str = "E1") -> EntryRow:
    return EntryRow(path=path, entry_id=entry_id, collection="posts", slug="hello",
                    locale=locale, rank=rank, blob="0" * 40, body_at=0, trashed=False,
                    listed=listed, visible_from=None, visible_until=None, title=title,
                    data="{}", created_at=T0, updated_at=T0, published_at=T0,
                    published_since=T0, deleted_at=None)


def test_locale_variants_are_one_entry_and_locale_selects_one() -> None:
    from cometwatch.web.entries import Catalog

    catalog = Catalog("c" * 40, 1, [
        _row("content/fr/hello.md", "fr", 1, "Bonjour"),
        _row("content/en/hello.md", "en", 0, "Hello"),
        _row("content/de/hello.md", "de", 2, "Hallo", listed=False),
    ])
    listed = catalog.entries("posts", False, False, T0, None)
    assert [i.row.title for i in listed] == ["Hello"]  # the default language leads
    assert [i.row.title for i in catalog.entries("posts", False, False, T0, "fr")] == \
        ["Bonjour"]
    # a variant the reader may not see falls back to the default one; an unknown code too
    assert catalog.find("posts", "hello", False, T0, "de").row.title == "Hello"  # type: ignore[union-attr]
    assert catalog.find("posts", "E1", False, T0, "xx").row.title == "Hello"  # type: ignore[union-attr]
    assert catalog.find("posts", "hello", True, T0, "de").row.title == "Hallo"  # type: ignore[union-attr]


def test_a_file_name_that_is_not_utf8_is_projected_and_served_as_text(rig: Rig) -> None:
    import os

    folder = os.fsencode(rig.site.root / "posts")
    os.makedirs(folder, exist_ok=True)
    with open(folder + b"/caf\xe9.md", "wb") as handle:
        handle.write(b"---\ntitle: Latin-1 name\n---\n")
    rig.site.commit()
    rig.scan()
    (row,) = rig.rows().values()
    assert row.title == "Latin-1 name" and row.path.encode("utf-8", "surrogateescape") == \
        b"posts/caf\xe9.md"
    assert "\ufffd" in row.slug or row.slug.isascii()
    row.slug.encode("utf-8")  # text JSON can carry
