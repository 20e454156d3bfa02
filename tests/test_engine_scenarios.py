"""The event engine on real repositories: every row of contract §2 and every rule of §1.

Each test builds a small history with real commits and reads back what the engine derives from
it, the way `cometwatch events` and the daemon run it (`history` over a `Repository`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from conftest import GIT_ENV, Site, post

from cometwatch import engine as engine_module
from cometwatch import flow as flow_module
from cometwatch.config import ContentRules
from cometwatch.engine import Engine
from cometwatch.entry import Frontmatter
from cometwatch.flow import history, tree_changes
from cometwatch.gitrepo import Repository
from cometwatch.identity import Ledger, Record, derived_id
from cometwatch.payload import ContentEvent, body

RULES = ContentRules()
T0 = 1_700_000_000  # the first commit time the `site` fixture uses, plus 60 s


@dataclass
class Derived:
    events: list[ContentEvent]
    warnings: list[str] = field(default_factory=list)

    def at(self, commit: str) -> list[tuple[str, str, str, str]]:
        """(event, type, id, slug) of one commit's save, in order."""
        return [(e.name, e.collection, e.entry_id, e.slug) for e in self.events
                if e.commit == commit]

    def names(self, commit: str) -> list[str]:
        return [e.name for e in self.events if e.commit == commit]

    def scheduled(self) -> list[ContentEvent]:
        return [e for e in self.events if e.commit.startswith("at:")]


def derive(site: Site, rules: ContentRules = RULES, base: str | None = None,
           tip: str | None = None) -> Derived:
    """The events from `base` (exclusive; None: the root) to `tip` (default HEAD), with the
    ledger built from the history before `base`, as `cometwatch events A..B` does."""
    warnings: list[str] = []
    with Repository(site.root) as repo:
        engine = Engine(rules, warn=warnings.append)
        if base is not None:
            for _ in history(repo, engine, None, base):
                pass
        events = [e for save in history(repo, engine, base, tip or site.head())
                  for e in save.events]
    return Derived(events, warnings)


def base62_sha256(text: str) -> str:
    """contract §1: 10 base62 characters of a SHA-256 of the first path (digits from the low end
    of the big-endian number). Written here independently of cometwatch.identity."""
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    number = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    digits = []
    for _ in range(10):
        number, digit = divmod(number, 62)
        digits.append(alphabet[digit])
    return "".join(digits)


def advance(site: Site, seconds: int = 60) -> int:
    site.clock += seconds
    return site.clock


# -- §2 rows: created, updated, published / unpublished ----------------------------------------


def test_a_new_published_entry_is_created_then_published(site: Site) -> None:
    site.write("posts/hello.md", post("title: Hello"))
    c1 = site.commit()
    derived_id = base62_sha256("posts/hello.md")
    assert derive(site).at(c1) == [("content.created", "posts", derived_id, "hello"),
                                   ("content.published", "posts", derived_id, "hello")]


def test_a_new_draft_is_only_created(site: Site) -> None:
    site.write("posts/hello.md", post("draft: true"))
    c1 = site.commit()
    assert derive(site).names(c1) == ["content.created"]


def test_a_file_without_frontmatter_is_a_published_entry_with_empty_metadata(site: Site) -> None:
    site.write("notes.md", "# Just text\n\nNo frontmatter at all.\n")
    c1 = site.commit()
    assert derive(site).at(c1) == [
        ("content.created", "pages", base62_sha256("notes.md"), "notes"),
        ("content.published", "pages", base62_sha256("notes.md"), "notes")]


def test_an_edit_is_an_update_and_a_state_change_adds_published_or_unpublished(site: Site
                                                                             ) -> None:
    site.write("posts/a.md", post("title: A\ndraft: true"))
    site.commit()
    site.write("posts/a.md", post("title: A, edited\ndraft: true"))
    edit = site.commit()
    site.write("posts/a.md", post("title: A\ndraft: false"))
    publish = site.commit()
    site.write("posts/a.md", post("title: A\npublished: false"))
    unpublish = site.commit()
    got = derive(site)
    assert got.names(edit) == ["content.updated"]
    assert got.names(publish) == ["content.updated", "content.published"]
    assert got.names(unpublish) == ["content.updated", "content.unpublished"]


# -- §1 Id ------------------------------------------------------------------------------------


def test_an_explicit_uid_is_the_id_verbatim_and_survives_every_change(site: Site) -> None:
    site.write("posts/a.md", post("uid: 'Post 7/α'"))
    c1 = site.commit()
    site.move("posts/a.md", "pages/b.md")
    c2 = site.commit()
    got = derive(site)
    assert {i for _, _, i, _ in got.at(c1) + got.at(c2)} == {"Post 7/α"}
    assert b'"id":"Post 7/\\u03b1"' in body(got.events[-1])


@pytest.mark.parametrize(("front", "expected"), [
    ("uid: u-1\nid: i-1\nuuid: x-1", "u-1"),
    ("id: i-1\nuuid: x-1", "i-1"),
    ("uuid: 6f1c0e4e-2b7a-4d8e-9a36-0b2f6f0f6a11", "6f1c0e4e-2b7a-4d8e-9a36-0b2f6f0f6a11"),
    ("uid: ''\nid: 42", "42"),  # the first non-empty, and a number read as its text
])
def test_the_first_non_empty_id_field_wins(site: Site, front: str, expected: str) -> None:
    site.write("posts/a.md", post(front))
    c1 = site.commit()
    assert {i for _, _, i, _ in derive(site).at(c1)} == {expected}


def test_configured_id_fields_replace_the_defaults(site: Site) -> None:
    site.write("posts/a.md", post("uid: ignored\nkey: k-9"))
    c1 = site.commit()
    got = derive(site, replace(RULES, id_fields=("key",)))
    assert {i for _, _, i, _ in got.at(c1)} == {"k-9"}


def test_a_derived_id_follows_renames_slug_changes_and_moves_between_collections(site: Site
                                                                              ) -> None:
    site.write("posts/first.md", post("title: T"))
    c1 = site.commit()
    site.move("posts/first.md", "posts/second.md")
    c2 = site.commit()
    site.write("posts/second.md", post("title: T\nslug: Custom Slug!"))
    c3 = site.commit()
    site.move("posts/second.md", "guides/second.md")
    c4 = site.commit()
    got = derive(site)
    origin = base62_sha256("posts/first.md")
    assert got.at(c2) == [("content.updated", "posts", origin, "second")]
    assert got.at(c3) == [("content.updated", "posts", origin, "custom-slug")]
    assert got.at(c4) == [("content.updated", "guides", origin, "custom-slug")]
    assert {i for _, _, i, _ in got.at(c1)} == {origin}


def test_a_new_entry_where_another_was_renamed_away_gets_its_own_id(site: Site) -> None:
    site.write("posts/a.md", post("title: first"))
    site.commit()
    site.move("posts/a.md", "posts/b.md")
    site.commit()
    site.write("posts/a.md", post("title: a different entry, same path"))
    c3 = site.commit()
    got = derive(site)
    new_id = got.at(c3)[0][2]
    assert got.at(c3)[0][0] == "content.created"
    assert new_id != base62_sha256("posts/a.md")
    assert len({e.entry_id for e in got.events}) == 2


# -- §2 rows: trash ---------------------------------------------------------------------------


def test_trashing_a_published_entry_unpublishes_then_deletes(site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    site.move("posts/a.md", ".trash/posts/a.md")
    trash = site.commit()
    origin = base62_sha256("posts/a.md")
    assert derive(site).at(trash) == [("content.unpublished", "posts", origin, "a"),
                                      ("content.deleted", "posts", origin, "a")]


def test_trashing_a_draft_only_deletes(site: Site) -> None:
    site.write("posts/a.md", post("draft: true"))
    site.commit()
    site.move("posts/a.md", ".trash/posts/a.md")
    trash = site.commit()
    assert derive(site).names(trash) == ["content.deleted"]


def test_moving_out_of_the_trash_restores_then_publishes_with_the_same_id(site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    site.move("posts/a.md", ".trash/posts/a.md")
    site.commit()
    site.move(".trash/posts/a.md", "posts/a.md")
    back = site.commit()
    origin = base62_sha256("posts/a.md")
    assert derive(site).at(back) == [("content.restored", "posts", origin, "a"),
                                     ("content.published", "posts", origin, "a")]


def test_restoring_a_draft_from_the_trash_only_restores(site: Site) -> None:
    site.write("posts/a.md", post("draft: true"))
    site.commit()
    site.move("posts/a.md", ".trash/posts/a.md")
    site.commit()
    site.move(".trash/posts/a.md", "posts/a.md")
    back = site.commit()
    assert derive(site).names(back) == ["content.restored"]


def test_a_trash_move_git_misses_as_a_rename_is_still_one_entry(site: Site) -> None:
    site.write("posts/a.md", post("title: A", "original body\n" * 3))
    site.commit()
    site.remove("posts/a.md")
    site.write(".trash/posts/a.md", post("title: rewritten", "nothing in common\n" * 9))
    trash = site.commit()
    site.remove(".trash/posts/a.md")
    site.write("posts/a.md", post("title: A", "and yet another text\n" * 7))
    back = site.commit()
    got = derive(site)
    origin = base62_sha256("posts/a.md")
    assert got.at(trash) == [("content.unpublished", "posts", origin, "a"),
                             ("content.deleted", "posts", origin, "a")]
    assert got.at(back) == [("content.restored", "posts", origin, "a"),
                            ("content.published", "posts", origin, "a")]


def test_a_trash_root_inside_content_dir_mirrors_the_entry_path(site: Site) -> None:
    rules = replace(RULES, content_dir="content", trash_dir="content/.trash")
    site.write("content/posts/a.md", post("title: A"))
    site.commit()
    site.move("content/posts/a.md", "content/.trash/posts/a.md")
    trash = site.commit()
    site.move("content/.trash/posts/a.md", "content/posts/a.md")
    back = site.commit()
    got = derive(site, rules)
    origin = base62_sha256("content/posts/a.md")
    assert got.at(trash) == [("content.unpublished", "posts", origin, "a"),
                             ("content.deleted", "posts", origin, "a")]
    assert got.at(back)[0] == ("content.restored", "posts", origin, "a")


def test_created_in_trash_moved_within_it_and_removed_from_it_give_nothing(site: Site) -> None:
    site.write(".trash/posts/old.md", post("title: already binned"))
    c1 = site.commit()
    site.move(".trash/posts/old.md", ".trash/pages/old.md")
    c2 = site.commit()
    site.remove(".trash/pages/old.md")
    c3 = site.commit()
    got = derive(site)
    assert got.names(c1) == got.names(c2) == got.names(c3) == []


# -- §2 rows: delete, revert, re-add ----------------------------------------------------------


def test_deleting_a_published_entry_unpublishes_then_deletes(site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    site.remove("posts/a.md")
    gone = site.commit()
    origin = base62_sha256("posts/a.md")
    assert derive(site).at(gone) == [("content.unpublished", "posts", origin, "a"),
                                     ("content.deleted", "posts", origin, "a")]


def test_git_revert_of_a_delete_restores_the_same_id(site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.write("posts/b.md", post("title: B"))
    site.commit()
    site.move("posts/b.md", "posts/renamed.md")
    site.commit()
    site.remove("posts/renamed.md")
    site.commit()
    site.git("revert", "--no-edit", "HEAD", time=advance(site))
    revert = site.head()
    got = derive(site)
    origin = base62_sha256("posts/b.md")
    assert got.at(revert) == [("content.restored", "posts", origin, "renamed"),
                              ("content.published", "posts", origin, "renamed")]


def test_git_revert_of_a_create_deletes_and_of_a_rename_renames_back(site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    site.move("posts/a.md", "posts/b.md")
    site.commit()
    site.git("revert", "--no-edit", "HEAD", time=advance(site))
    undo_rename = site.head()
    site.write("posts/new.md", post("draft: true"))
    site.commit()
    site.git("revert", "--no-edit", "HEAD", time=advance(site))
    undo_create = site.head()
    got = derive(site)
    assert got.at(undo_rename) == [("content.updated", "posts", base62_sha256("posts/a.md"),
                                    "a")]
    assert got.at(undo_create) == [("content.deleted", "posts",
                                    base62_sha256("posts/new.md"), "new")]


def test_a_readd_at_the_same_path_restores_the_same_id(site: Site) -> None:
    site.write("posts/a.md", post("draft: true"))
    site.commit()
    site.remove("posts/a.md")
    site.commit()
    site.write("posts/a.md", post("title: written again from scratch"))
    readd = site.commit()
    origin = base62_sha256("posts/a.md")
    assert derive(site).at(readd) == [("content.restored", "posts", origin, "a"),
                                      ("content.published", "posts", origin, "a")]


def test_a_file_with_a_deleted_entrys_explicit_id_restores_it_anywhere(site: Site) -> None:
    site.write("posts/a.md", post("uid: keep-me"))
    site.commit()
    site.remove("posts/a.md")
    site.commit()
    site.write("pages/elsewhere.md", post("uid: keep-me\ndraft: true"))
    back = site.commit()
    assert derive(site).at(back) == [("content.restored", "pages", "keep-me", "elsewhere")]


def test_a_new_file_without_the_explicit_id_of_the_entry_deleted_there_is_created(site: Site
                                                                               ) -> None:
    site.write("posts/a.md", post("uid: owner"))
    site.commit()
    site.remove("posts/a.md")
    site.commit()
    site.write("posts/a.md", post("title: no id"))
    c3 = site.commit()
    got = derive(site).at(c3)
    assert got[0][0] == "content.created" and got[0][2] != "owner"


def test_trash_then_purge_then_readd_restores_the_entry(site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    site.move("posts/a.md", ".trash/posts/a.md")
    site.commit()
    site.remove(".trash/posts/a.md")
    purge = site.commit()
    site.write("posts/a.md", post("title: A again"))
    readd = site.commit()
    got = derive(site)
    origin = base62_sha256("posts/a.md")
    assert got.at(purge) == []
    assert got.at(readd) == [("content.restored", "posts", origin, "a"),
                             ("content.published", "posts", origin, "a")]


def test_a_purge_from_a_trash_path_that_does_not_mirror_the_entry_remembers_that_mirror(
        site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    site.move("posts/a.md", ".trash/old/b.md")
    trash = site.commit()
    site.remove(".trash/old/b.md")
    site.commit()
    site.write("posts/a.md", post("title: A at its first path"))
    at_first = site.commit()
    site.write("old/b.md", post("title: A where the trash path points"))
    at_mirror = site.commit()
    got = derive(site)
    origin = base62_sha256("posts/a.md")
    assert got.names(trash) == ["content.unpublished", "content.deleted"]
    # the second id minted at that path: a new entry
    assert got.at(at_first)[0][:3] == ("content.created", "posts", derived_id("posts/a.md", 1))
    assert got.at(at_mirror)[0] == ("content.restored", "old", origin, "b")


def test_reverting_a_purge_then_restoring_from_trash_keeps_the_entrys_id(site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    site.move("posts/a.md", ".trash/posts/a.md")
    site.commit()
    site.remove(".trash/posts/a.md")
    site.commit()
    site.git("revert", "--no-edit", "HEAD", time=advance(site))  # back in the trash
    unpurge = site.head()
    site.move(".trash/posts/a.md", "posts/a.md")
    back = site.commit()
    got = derive(site)
    origin = base62_sha256("posts/a.md")
    assert got.at(unpurge) == []
    assert got.at(back) == [("content.restored", "posts", origin, "a"),
                            ("content.published", "posts", origin, "a")]


# -- merges -----------------------------------------------------------------------------------


def test_a_no_ff_merge_of_several_commits_is_one_save_dated_by_the_merge(site: Site) -> None:
    site.write("posts/existing.md", post("title: E"))
    site.write("posts/doomed.md", post("title: D"))
    site.commit()
    site.git("checkout", "-q", "-b", "feature")
    site.write("posts/draft.md", post("draft: true"))
    site.commit()
    site.write("posts/draft.md", post("draft: true", "more words\n"))
    site.commit()
    site.move("posts/draft.md", "posts/final.md")
    site.write("posts/final.md", post("draft: false", "more words\n"))
    site.commit()
    site.write("posts/existing.md", post("title: E", "edited twice\n"))
    site.commit()
    site.write("posts/existing.md", post("title: E", "edited twice, really\n"))
    site.remove("posts/doomed.md")
    site.commit()
    site.git("checkout", "-q", "main")
    site.write("pages/main-side.md", post("title: on main meanwhile"))
    main_side = site.commit()
    merge_time = advance(site, 3600)
    site.git("merge", "--no-ff", "-q", "-m", "merge feature", "feature", time=merge_time)
    merge = site.head()
    got = derive(site)
    assert got.names(main_side) == ["content.created", "content.published"]
    assert got.at(merge) == [
        ("content.unpublished", "posts", base62_sha256("posts/doomed.md"), "doomed"),
        ("content.deleted", "posts", base62_sha256("posts/doomed.md"), "doomed"),
        ("content.updated", "posts", base62_sha256("posts/existing.md"), "existing"),
        # first added on the branch (the merge) at its final path
        ("content.created", "posts", base62_sha256("posts/final.md"), "final"),
        ("content.published", "posts", base62_sha256("posts/final.md"), "final"),
    ]
    assert {e.occurred_at for e in got.events if e.commit == merge} == {merge_time}
    side_commits = site.git("rev-list", "main^2", "^main^1").split()
    assert len(side_commits) == 5
    assert not {e.commit for e in got.events} & set(side_commits)


# -- §1 Collection and slug -------------------------------------------------------------------


def test_jekyll_date_prefixes_and_leading_underscores_are_removed(site: Site) -> None:
    site.write("_posts/2024-05-03-my-first-post.md", post("title: First"))
    c1 = site.commit()
    assert derive(site).at(c1)[0][1:] == (
        "posts", base62_sha256("_posts/2024-05-03-my-first-post.md"), "my-first-post")


def test_a_draft_moved_into_posts_is_one_entry_updated_and_published(site: Site) -> None:
    site.write("_drafts/idea.md", post("title: Idea"))
    c1 = site.commit()
    site.move("_drafts/idea.md", "_posts/2024-06-01-idea.md")
    c2 = site.commit()
    got = derive(site)
    origin = base62_sha256("_drafts/idea.md")
    assert got.at(c1) == [("content.created", "posts", origin, "idea")]
    assert got.at(c2) == [("content.updated", "posts", origin, "idea"),
                          ("content.published", "posts", origin, "idea")]


@pytest.mark.parametrize(("path", "collection", "slug"), [
    ("posts/trip-to-oslo/index.md", "posts", "trip-to-oslo"),
    ("docs/guides/_index.md", "docs", "guides"),
    ("about.md", "pages", "about"),
    ("_index.md", "pages", "index"),
    ("posts/Hello World (2).markdown", "posts", "hello-world-2"),
])
def test_collection_and_slug_come_from_the_path(site: Site, path: str, collection: str,
                                                slug: str) -> None:
    site.write(path, post("title: x"))
    c1 = site.commit()
    assert derive(site).at(c1)[0] == ("content.created", collection, base62_sha256(path), slug)


def test_language_folders_are_skipped_before_the_collection(site: Site) -> None:
    rules = replace(RULES, content_dir="content", language_dirs=("en", "fr"))
    site.write("content/en/posts/hello.md", post("title: Hello"))
    site.write("content/fr/posts/hello.md", post("title: Bonjour"))
    site.write("content/fr/about.md", post("title: À propos"))
    c1 = site.commit()
    created = [(t, s) for n, t, _, s in derive(site, rules).at(c1) if n == "content.created"]
    assert created == [("posts", "hello"), ("pages", "about"), ("posts", "hello")]


def test_collection_globs_map_paths_to_collections(site: Site) -> None:
    rules = replace(RULES, content_dir="src", collections=(("blog/**", "posts"),
                                                           ("*.md", "pages"),
                                                           ("docs/*/ref-*.md", "reference")))
    site.write("src/blog/2024/deep/a.md", post("title: a"))
    site.write("src/top.md", post("title: top"))
    site.write("src/docs/v1/ref-api.md", post("title: api"))
    site.write("src/docs/v1/guide.md", post("title: guide"))
    c1 = site.commit()
    created = {s: t for n, t, _, s in derive(site, rules).at(c1) if n == "content.created"}
    assert created == {"a": "posts", "top": "pages", "ref-api": "reference", "guide": "docs"}


def test_non_ascii_slugs_are_kept_and_escaped_in_the_payload_as_cometcms_does(site: Site
                                                                           ) -> None:
    site.write("blög/Über uns.md", post("uid: a/b\"c"))
    site.write("posts/emoji.md", post("slug: Grüße 🚀 Welt"))
    c1 = site.commit()
    bodies = [body(e) for e in derive(site).events if e.commit == c1]
    assert bodies[0].endswith(b'"data":{"type":"bl\\u00f6g","id":"a/b\\"c",'
                              b'"slug":"\\u00fcber-uns"}}')
    assert bodies[2].endswith(b'"slug":"gr\\u00fc\\u00dfe-welt"}}')
    for raw in bodies:
        raw.decode("ascii")
        assert json.loads(raw)["data"]["slug"] in ("über-uns", "grüße-welt")


# -- §1 Frontmatter formats and broken frontmatter ---------------------------------------------


def test_toml_frontmatter_is_read(site: Site) -> None:
    site.write("posts/t.md", '+++\nuid = "toml-1"\nslug = "From TOML"\ndraft = true\n+++\nx\n')
    c1 = site.commit()
    site.write("posts/t.md", '+++\nuid = "toml-1"\nslug = "From TOML"\ndraft = false\n+++\nx\n')
    c2 = site.commit()
    got = derive(site)
    assert got.at(c1) == [("content.created", "posts", "toml-1", "from-toml")]
    assert got.names(c2) == ["content.updated", "content.published"]


def test_json_frontmatter_is_read(site: Site) -> None:
    site.write("posts/j.md", '{\n  "uid": "json-1",\n  "status": "draft"\n}\nBody\n')
    c1 = site.commit()
    site.write("posts/j.md", '{\n  "uid": "json-1",\n  "status": "Published"\n}\nBody\n')
    c2 = site.commit()
    got = derive(site)
    assert got.at(c1) == [("content.created", "posts", "json-1", "j")]
    assert got.names(c2) == ["content.updated", "content.published"]


def test_broken_frontmatter_keeps_the_entry_and_its_state_and_warns(site: Site) -> None:
    site.write("posts/a.md", post("uid: a-1\ntitle: fine"))
    site.commit()
    site.write("posts/a.md", "---\ntitle: [unclosed\nuid: a-1\n---\nbody\n")
    broken = site.commit()
    site.move("posts/a.md", "posts/b.md")
    moved = site.commit()
    site.write("posts/b.md", post("uid: a-1\ndraft: true"))
    fixed = site.commit()
    got = derive(site)
    assert got.at(broken) == [("content.updated", "posts", "a-1", "a")]  # still published
    assert got.at(moved) == [("content.updated", "posts", "a-1", "b")]
    assert got.at(fixed) == [("content.updated", "posts", "a-1", "b"),
                             ("content.unpublished", "posts", "a-1", "b")]
    assert len(got.warnings) == 2
    assert "posts/a.md" in got.warnings[0] and broken[:12] in got.warnings[0]
    assert "posts/b.md" in got.warnings[1] and moved[:12] in got.warnings[1]


def test_a_new_entry_with_broken_frontmatter_is_created_unpublished(site: Site) -> None:
    site.write("posts/bad.md", "+++\ntitle = \n+++\n")
    site.write("posts/late.md", post("publishDate: 2024-13-45"))
    c1 = site.commit()
    got = derive(site)
    assert got.names(c1) == ["content.created", "content.created"]
    assert len(got.warnings) == 2 and all(c1[:12] in w for w in got.warnings)


def test_a_broken_entry_in_a_commit_does_not_stop_the_others(site: Site) -> None:
    site.write("posts/bad.md", b"---\ntitle: caf\xe9\n---\n".decode("latin-1"))
    (site.root / "posts" / "bad.md").write_bytes(b"---\ntitle: caf\xe9\n---\n")
    site.write("posts/good.md", post("title: fine"))
    c1 = site.commit()
    got = derive(site)
    assert [(n, s) for n, _, _, s in got.at(c1)] == [
        ("content.created", "bad"), ("content.created", "good"), ("content.published", "good")]
    assert "not UTF-8" in got.warnings[0]


# -- non-entries ------------------------------------------------------------------------------


def test_files_that_are_not_entries_give_nothing(site: Site) -> None:
    rules = replace(RULES, content_dir="content")
    site.write("content/posts/notes.txt", "not markdown\n")
    site.write("content/posts/.md", "no name\n")
    site.write("README.md", post("title: outside content_dir"))
    site.write("content/posts/real.md", post("title: real"))
    site.commit()
    os.symlink("real.md", site.root / "content" / "posts" / "link.md")
    site.write("content/posts/notes.txt", "still not markdown\n")
    c2 = site.commit()
    got = derive(site, rules)
    assert [e.slug for e in got.events] == ["real", "real"]
    assert got.names(c2) == []


def test_renaming_into_and_out_of_an_entry_extension_creates_and_deletes(site: Site) -> None:
    site.write("posts/a.txt", post("title: plain text"))
    site.commit()
    site.move("posts/a.txt", "posts/a.md")
    into = site.commit()
    site.move("posts/a.md", "posts/a.markdown.bak")
    out = site.commit()
    got = derive(site)
    assert got.names(into) == ["content.created", "content.published"]
    assert got.names(out) == ["content.unpublished", "content.deleted"]


def test_a_mode_only_change_gives_nothing(site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit()
    (site.root / "posts" / "a.md").chmod(0o755)
    chmod = site.commit()
    assert site.git("show", "--format=", "--raw", chmod).startswith(":100644 100755")
    assert derive(site).names(chmod) == []


def test_an_entry_replaced_by_a_symlink_is_deleted(site: Site) -> None:
    site.write("posts/a.md", post("draft: true"))
    site.write("posts/b.md", post("draft: true"))
    site.commit()
    (site.root / "posts" / "a.md").unlink()
    os.symlink("b.md", site.root / "posts" / "a.md")
    swap = site.commit()
    assert derive(site).names(swap) == ["content.deleted"]


# -- §1 Published -----------------------------------------------------------------------------


@pytest.mark.parametrize(("front", "published"), [
    ("title: none of the flags", True),
    ("draft: true", False),
    ("draft: false", True),
    ("draft: 'yes'", False),
    ("published: false", False),
    ("published: true", True),
    ("status: published", True),
    ("status: PUBLISHED", True),
    ("status: draft", False),
    ("status: ''", False),
    ("status: published\ndraft: true", True),  # a status field decides alone
    ("status: review\npublished: true", False),
])
def test_status_field_and_draft_flags_decide_published(site: Site, front: str,
                                                       published: bool) -> None:
    site.write("posts/a.md", post(front))
    c1 = site.commit()
    assert ("content.published" in derive(site).names(c1)) is published


def test_configured_published_values_are_compared_case_insensitively(site: Site) -> None:
    rules = replace(RULES, status_field="state", published_values=("live", "public"))
    site.write("posts/a.md", post("state: Live"))
    site.write("posts/b.md", post("state: published"))
    c1 = site.commit()
    assert [(n, s) for n, _, _, s in derive(site, rules).at(c1)] == [
        ("content.created", "a"), ("content.published", "a"), ("content.created", "b")]


def test_a_drafts_folder_is_never_published(site: Site) -> None:
    site.write("_drafts/a.md", post("status: published"))
    c1 = site.commit()
    assert derive(site).at(c1) == [("content.created", "posts", base62_sha256("_drafts/a.md"),
                                    "a")]


def test_publish_and_expiry_dates_are_evaluated_at_the_commit_time(site: Site) -> None:
    commit_time = T0 + 60
    iso = "%Y-%m-%dT%H:%M:%SZ"
    from time import gmtime, strftime
    site.write("posts/past.md", post(f"publishDate: {strftime(iso, gmtime(commit_time - 1))}"))
    site.write("posts/now.md", post(f"publishDate: {strftime(iso, gmtime(commit_time))}"))
    site.write("posts/future.md", post(f"pubDate: {strftime(iso, gmtime(commit_time + 1))}"))
    site.write("posts/expired.md", post(f"expiryDate: {strftime(iso, gmtime(commit_time))}"))
    site.write("posts/expiring.md",
               post(f"unpublish_date: {strftime(iso, gmtime(commit_time + 9))}"))
    c1 = site.commit(time=commit_time)
    got = derive(site)
    published = [s for n, _, _, s in got.at(c1) if n == "content.published"]
    assert published == ["expiring", "now", "past"]


def test_naive_dates_are_read_in_the_configured_timezone(site: Site) -> None:
    # 2023-11-14 23:30 in Paris (UTC+1) is 22:30 UTC
    commit_time = 1_700_001_000  # 2023-11-14T22:30:00Z
    site.write("posts/a.md", post("publishDate: 2023-11-14 23:30:00"))
    site.write("posts/b.md", post("publishDate: 2023-11-14T23:30:01"))
    site.write("posts/c.md", post("publishDate: 2023-11-14T23:30:00+01:00"))
    site.write("posts/d.md", post("publishDate: 2023-11-15"))  # midnight in the zone
    c1 = site.commit(time=commit_time)
    utc = [s for n, _, _, s in derive(site).at(c1) if n == "content.published"]
    paris = [s for n, _, _, s in derive(site, replace(RULES, timezone="Europe/Paris")).at(c1)
             if n == "content.published"]
    assert utc == ["c"]  # 23:30 UTC is later than 22:30 UTC; c carries its own offset
    assert paris == ["a", "c"]


# -- scheduled transitions --------------------------------------------------------------------


def test_a_publish_date_between_two_commits_publishes_at_the_scheduled_moment(site: Site
                                                                           ) -> None:
    site.write("posts/later.md", post("publishDate: 2023-11-14T23:00:00Z"))  # 1_700_002_800
    c1 = site.commit(time=1_700_000_000)
    site.write("posts/other.md", post("title: unrelated"))
    c2 = site.commit(time=1_700_010_000)
    got = derive(site)
    entry = base62_sha256("posts/later.md")
    assert got.at(c1) == [("content.created", "posts", entry, "later")]
    scheduled = got.scheduled()
    assert [(e.name, e.entry_id, e.occurred_at) for e in scheduled] == [
        ("content.published", entry, 1_700_002_800)]
    # it comes before the later commit's own events, with a deterministic id
    assert got.events.index(scheduled[0]) == 1
    assert got.events[2].commit == c2
    assert derive(site).scheduled()[0].event_id == scheduled[0].event_id
    assert body(scheduled[0]).startswith(
        b'{"event":"content.published","occurred_at":"2023-11-14T23:00:00Z"')


def test_an_expiry_between_two_commits_unpublishes_at_its_moment(site: Site) -> None:
    site.write("posts/flash.md", post("expiryDate: 2023-11-14T23:00:00Z"))
    site.commit(time=1_700_000_000)
    site.write("posts/other.md", post("title: unrelated"))
    site.commit(time=1_700_010_000)
    assert [(e.name, e.occurred_at) for e in derive(site).scheduled()] == [
        ("content.unpublished", 1_700_002_800)]


def test_a_publish_then_expiry_window_gives_both_transitions_in_time_order(site: Site) -> None:
    site.write("posts/window.md", post("publishDate: 2023-11-14T23:00:00Z\n"
                                       "expiryDate: 2023-11-14T23:30:00Z"))
    site.write("posts/early.md", post("expiryDate: 2023-11-14T22:50:00Z"))
    site.commit(time=1_700_000_000)
    site.write("posts/other.md", post("title: unrelated"))
    site.commit(time=1_700_010_000)
    assert [(e.name, e.slug, e.occurred_at) for e in derive(site).scheduled()] == [
        ("content.unpublished", "early", 1_700_002_200),
        ("content.published", "window", 1_700_002_800),
        ("content.unpublished", "window", 1_700_004_600)]


def test_a_scheduled_moment_after_the_last_commit_is_left_to_the_daemon(site: Site) -> None:
    site.write("posts/later.md", post("publishDate: 2023-11-14T23:00:00Z"))
    site.commit(time=1_700_000_000)
    assert derive(site).scheduled() == []
    with Repository(site.root) as repo:
        engine = Engine(RULES)
        for _ in history(repo, engine, None, site.head()):
            pass
        assert engine.next_timer() == 1_700_002_800
        assert engine.advance(1_700_002_799) == []
        fired = engine.advance(1_700_009_999)
        assert [(e.name, e.occurred_at) for e in fired] == [("content.published", 1_700_002_800)]
        assert engine.next_timer() is None
    # the daemon's event and the one `events` gives once a later commit exists are the same
    site.write("posts/other.md", post("title: unrelated"))
    site.commit(time=1_700_010_000)
    assert derive(site).scheduled()[0].event_id == fired[0].event_id


def test_a_commit_dated_before_an_already_passed_moment_does_not_undo_it(site: Site) -> None:
    site.write("posts/later.md", post("publishDate: 2023-11-14T23:00:00Z"))
    site.commit(time=1_700_000_000)
    site.write("posts/other.md", post("title: unrelated"))
    site.commit(time=1_700_010_000)
    site.write("posts/other.md", post("title: rebased, dated earlier"))
    c3 = site.commit(time=1_700_000_500)
    got = derive(site)
    assert got.names(c3) == ["content.updated"]
    assert [e.name for e in got.events if e.slug == "later"] == ["content.created",
                                                                 "content.published"]


# -- ordering, time and ids -------------------------------------------------------------------


def test_events_within_a_commit_are_ordered_by_new_path_or_old_path_if_removed(site: Site
                                                                            ) -> None:
    for name in ("b", "d", "f"):
        site.write(f"posts/{name}.md", post(f"draft: true\ntitle: {name}"))
    site.commit()
    site.remove("posts/d.md")
    site.move("posts/f.md", "posts/a.md")
    site.write("posts/b.md", post("draft: true\ntitle: b", "edited\n"))
    site.write("posts/c.md", post("draft: true\ntitle: c", "new\n" * 5))
    site.write("pages/z.md", post("draft: true\ntitle: z", "other\n" * 7))
    c2 = site.commit()
    assert [(n, t, s) for n, t, _, s in derive(site).at(c2)] == [
        ("content.created", "pages", "z"),
        ("content.updated", "posts", "a"),
        ("content.updated", "posts", "b"),
        ("content.created", "posts", "c"),
        ("content.deleted", "posts", "d")]


def test_occurred_at_is_the_committer_time_in_utc(site: Site) -> None:
    site.write("posts/a.md", post("title: A"))
    site.git("add", "-A")
    env = {**os.environ, **GIT_ENV, "GIT_AUTHOR_DATE": "2020-01-01T00:00:00 +0000",
           "GIT_COMMITTER_DATE": "2024-05-03T14:00:00 +0200"}
    subprocess.run(["git", "commit", "-q", "-m", "dated"], cwd=site.root, env=env, check=True)
    got = derive(site)
    assert {e.occurred_at for e in got.events} == {1_714_737_600}
    assert all(b'"occurred_at":"2024-05-03T12:00:00Z"' in body(e) for e in got.events)


def test_event_ids_are_deterministic_and_distinct(site: Site, tmp_path: Path) -> None:
    site.write("posts/a.md", post("uid: same"))
    site.commit()
    site.write("posts/a.md", post("uid: same\ndraft: true"))
    site.commit()
    site.write("posts/a.md", post("uid: same"))
    site.commit()
    first = [e.event_id for e in derive(site).events]
    assert first == [e.event_id for e in derive(site).events]
    assert len(set(first)) == len(first) == 6
    assert all(i.startswith("evt_") and len(i) == 26 for i in first)
    # the same history in a clone elsewhere gives the same ids
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(site.root), str(clone)], check=True)
    assert [e.event_id for e in derive(Site(clone)).events] == first


def test_two_files_with_one_explicit_id_in_one_commit_get_distinct_event_ids(site: Site
                                                                          ) -> None:
    site.write("posts/a.md", post("uid: dup"))
    site.write("posts/b.md", post("uid: dup"))
    site.commit()
    ids = [e.event_id for e in derive(site).events]
    assert len(set(ids)) == len(ids) == 4


# -- force push -------------------------------------------------------------------------------


def test_a_force_push_diffs_the_two_trees_as_one_save_with_a_warning(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site.write("posts/kept.md", post("title: kept"))
    site.write("posts/edited.md", post("title: v1"))
    base = site.commit()
    site.write("posts/dropped.md", post("title: only on the old history"))
    site.commit()
    site.write("posts/edited.md", post("title: v2"))
    old_tip = site.commit()
    site.git("reset", "-q", "--hard", base)
    site.write("posts/edited.md", post("title: v3\ndraft: true"))
    site.commit()
    site.write("posts/new.md", post("title: rewritten history"))
    new_tip = site.commit()
    with caplog.at_level("WARNING", logger="cometwatch.engine"):
        got = derive(site, base=old_tip, tip=new_tip)
    assert {e.commit for e in got.events} == {new_tip}
    assert {e.occurred_at for e in got.events} == {site.clock}
    assert [(n, s) for n, _, _, s in got.at(new_tip)] == [
        ("content.unpublished", "dropped"), ("content.deleted", "dropped"),
        ("content.updated", "edited"), ("content.unpublished", "edited"),
        ("content.created", "new"), ("content.published", "new")]
    assert "not an ancestor" in caplog.text and old_tip[:12] in caplog.text


def test_a_new_entry_with_its_own_id_where_a_purged_one_would_come_back_is_created(
        site: Site) -> None:
    site.write("posts/b.md", post("title: Old", "old words " * 40))
    site.commit()
    site.move("posts/b.md", ".trash/posts/b.md")
    site.commit()
    # purged, and in the same save another entry takes the place it would come back to
    site.remove(".trash/posts/b.md")
    site.write("posts/b.md", post("uid: uid-2\ntitle: New", "different text " * 40))
    both = site.commit()
    assert derive(site).at(both) == [("content.created", "posts", "uid-2", "b"),
                                     ("content.published", "posts", "uid-2", "b")]


# -- the commit a ledger was built at is gone: the ledger against the tip's tree ---------------

A, B, C = "a" * 40, "b" * 40, "c" * 40


def held(paths: dict[str, str]) -> dict[str, Record]:
    """A ledger's entries: path → a record of that blob."""
    return {path: Record(sha, "id", None, "posts", "s", True, False, Frontmatter())
            for path, sha in paths.items()}


@pytest.mark.parametrize(("entries", "tree", "changes"), [
    (held({"a.md": A}), {"a.md": ("100644", A)}, []),
    (held({"a.md": A}), {"a.md": ("100755", A)}, []),  # mode only
    (held({"a.md": A}), {"a.md": ("100644", B)}, [("M", "a.md", "a.md", A, B)]),
    (held({"a.md": A}), {}, [("D", "a.md", None, A, None)]),
    (held({}), {"a.md": ("100644", A)}, [("A", None, "a.md", None, A)]),
    (held({"a.md": A}), {"b.md": ("100644", A)}, [("R", "a.md", "b.md", A, A)]),  # unchanged: moved
    (held({"a.md": A}), {"b.md": ("100644", B)},  # changed too: git can no longer pair them
     [("D", "a.md", None, A, None), ("A", None, "b.md", None, B)]),
    (held({"a.md": A, "b.md": A}), {"c.md": ("100644", A)},  # two of one blob: the first moved
     [("R", "a.md", "c.md", A, A), ("D", "b.md", None, A, None)]),
    (held({"a.md": A}), {"a.md": ("120000", A)}, [("D", "a.md", None, A, None)]),  # a symlink now
    (held({}), {"a.txt": ("100644", A), "x/.trash/b.md": ("100644", B)}, []),  # no entries
    (held({".trash/a.md": C}), {"a.md": ("100644", C)},  # out of the trash
     [("R", ".trash/a.md", "a.md", C, C)]),
])
def test_tree_changes_compare_a_ledger_with_a_tree(
        entries: dict[str, Record], tree: dict[str, tuple[str, str]],
        changes: list[tuple[str, str | None, str | None, str | None, str | None]]) -> None:
    rules = replace(RULES, exclude=("x/**",))
    got = tree_changes(entries, tree, rules)
    assert [(c.status, c.old_path, c.new_path, c.old_sha, c.new_sha) for c in got] == changes


def test_ids_kept_from_an_old_ledger_stay_and_are_never_minted_again() -> None:
    def entry(derived: str) -> Record:
        return Record(A, derived, None, "posts", "b", True, False, Frontmatter())

    old, new = Ledger(), Ledger()
    kept = old.mint("posts/a.md")  # first added there, then renamed to b.md
    old.put("posts/b.md", entry(kept), None)
    new.put("posts/b.md", entry(new.mint("posts/b.md")), None)  # as other rules saw it
    new.put("posts/c.md", entry(new.mint("posts/c.md")), None)
    new.keep_ids(old)
    assert new.entries["posts/b.md"].derived_id == kept
    assert new.entries["posts/c.md"].derived_id == derived_id("posts/c.md")
    assert new.mint("posts/a.md") != kept


# -- engine internals that must hold on large histories ---------------------------------------


def test_a_rename_after_the_parsed_blob_cache_was_emptied_still_works(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "_FACTS_CACHE", 2)
    monkeypatch.setattr(flow_module, "_CHUNK", 4)
    for i in range(6):
        site.write(f"posts/p{i}.md", post(f"title: {i}"))
        site.commit()
    site.move("posts/p0.md", "posts/renamed.md")
    site.write("posts/p5.md", post("title: 0"))  # a blob parsed long ago
    site.commit()
    rename = site.head()
    got = derive(site)
    assert [(n, s) for n, _, _, s in got.at(rename)] == [("content.updated", "p5"),
                                                         ("content.updated", "renamed")]
