"""A Hugo site read as Hugo reads it, commit by commit: its config, mounts, languages and
cascade at each commit, translations as locale variants of one entry (SPEC §6), and a bad
config file kept out of the rules with a warning that names file and line."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from conftest import Site, post

from cometwatch.config import RepositoryConfig
from cometwatch.engine import Engine
from cometwatch.flow import history
from cometwatch.gitrepo import Repository
from cometwatch.presets import PRESETS
from cometwatch.sites.loader import loader_for

LANGUAGES = ('defaultContentLanguage = "en"\n[languages.en]\nweight = 1\n'
             '[languages.fr]\nweight = 2\n')


@dataclass
class Derived:
    events: list[tuple[str, str, str, str, str]]  # (commit, event, type, id, slug)
    warnings: list[str] = field(default_factory=list)

    def at(self, commit: str) -> list[tuple[str, str, str, str]]:
        return [e[1:] for e in self.events if e[0] == commit]

    def names(self, commit: str) -> list[str]:
        return [e[1] for e in self.events if e[0] == commit]


def derive(site: Site) -> Derived:
    from cometwatch.config import parse_config_text

    config = parse_config_text('[repository]\npreset = "hugo"\n', site.root / "webhooks.toml")
    repository: RepositoryConfig = config.repository
    warnings: list[str] = []
    with Repository(site.root) as repo:
        engine = Engine(repository.rules, warn=warnings.append,
                        sites=loader_for(repository))
        events = [(e.commit, e.name, e.collection, e.entry_id, e.slug)
                  for save in history(repo, engine, None, site.head()) for e in save.events]
    return Derived(events, warnings)


def test_the_preset_table_still_names_hugo() -> None:
    assert "hugo" in PRESETS


def test_a_mounted_language_folder_is_not_a_type_and_unmounted_files_are_no_entries(
        site: Site) -> None:
    site.write("hugo.toml", "[[module.mounts]]\nsource = 'content/en'\ntarget = 'content'\n")
    site.write("content/en/functions/replace.md", post("title: replace"))
    site.write("content/en/methods/title.md", post("title: Title"))
    site.write("content/LICENSE.md", "# License\n")
    first = site.commit()
    got = derive(site)
    assert sorted((t, s) for e, t, _, s in got.at(first) if e == "content.created") == [
        ("functions", "replace"), ("methods", "title")]


def test_per_language_content_dirs_are_locales_not_types_or_slugs(site: Site) -> None:
    site.write("hugo.toml", '[languages.en]\ncontentDir = "content/en"\nweight = 1\n'
                            '[languages.no]\ncontentDir = "content/no"\nweight = 2\n')
    site.write("content/en/_index.md", post("title: Home"))
    site.write("content/no/_index.md", post("title: Hjem"))
    site.write("content/en/docs/start.md", post("title: Start"))
    site.write("content/no/docs/start.md", post("title: Start (no)"))
    first = site.commit()
    got = derive(site)
    created = [(t, s) for e, t, _, s in got.at(first) if e == "content.created"]
    assert sorted(created) == [("docs", "start"), ("pages", "index")]  # one entry each


def test_a_translation_is_a_variant_of_its_entry_with_the_same_id(site: Site) -> None:
    site.write("hugo.toml", LANGUAGES)
    site.write("content/posts/hello.md", post("title: Hello"))
    first = site.commit()
    site.write("content/posts/hello.fr.md", post("title: Bonjour"))
    translated = site.commit()
    site.write("content/posts/hello.fr.md", post("title: Bonjour !"))
    edited = site.commit()
    got = derive(site)
    (_, _, entry, _), _ = got.at(first)
    assert got.at(translated) == [("content.updated", "posts", entry, "hello")]
    assert got.at(edited) == [("content.updated", "posts", entry, "hello")]


def test_the_entry_is_published_as_its_default_language_variant_is(site: Site) -> None:
    site.write("hugo.toml", LANGUAGES)
    site.write("content/posts/hello.md", post("title: Hello\ndraft: true"))
    site.write("content/posts/hello.fr.md", post("title: Bonjour"))
    first = site.commit()
    site.write("content/posts/hello.md", post("title: Hello"))
    published = site.commit()
    site.remove("content/posts/hello.md")
    left = site.commit()
    site.remove("content/posts/hello.fr.md")
    gone = site.commit()
    got = derive(site)
    assert got.names(first) == ["content.created"]  # one entry, a draft
    assert got.names(published) == ["content.updated", "content.published"]
    # the French variant speaks for the entry now, and it is published
    assert got.names(left) == ["content.updated"]
    assert got.names(gone) == ["content.unpublished", "content.deleted"]
    assert len({e[3] for e in got.events}) == 1


def test_a_page_only_in_another_language_is_an_entry_of_its_own(site: Site) -> None:
    site.write("hugo.toml", LANGUAGES)
    site.write("content/posts/hello.md", post("title: Hello"))
    site.write("content/posts/seul.fr.md", post("title: Seul"))
    first = site.commit()
    got = derive(site)
    created = [(t, s) for e, t, _, s in got.at(first) if e == "content.created"]
    assert sorted(created) == [("posts", "hello"), ("posts", "seul")]
    assert len({e[3] for e in got.events}) == 2


def test_a_dotted_name_is_not_cut_at_its_first_dot(site: Site) -> None:
    site.write("hugo.toml", LANGUAGES)
    site.write("content/news/0.26-relnotes.md", post("title: 0.26"))
    first = site.commit()
    assert derive(site).at(first)[0][3] == "0-26-relnotes"


def test_a_cascade_that_hides_a_folder_unpublishes_its_pages_at_that_commit(
        site: Site) -> None:
    site.write("hugo.toml", 'title = "x"\n')
    site.write("content/_common/_index.md", post("title: Common"))
    site.write("content/_common/intro.md", post("title: Intro"))
    first = site.commit()
    site.write("content/_common/_index.md",
               post("title: Common\ncascade:\n  build:\n    render: never\n    list: never"))
    hidden = site.commit()
    got = derive(site)
    assert got.names(first) == ["content.created", "content.published"] * 2
    assert got.names(hidden) == ["content.updated", "content.unpublished"] * 2


def test_render_never_with_list_always_stays_published(site: Site) -> None:
    site.write("hugo.toml", 'title = "x"\n')
    site.write("content/snippet.md",
               post("title: S\nbuild:\n  render: never\n  list: always"))
    site.write("content/headless/index.md", post("title: H\nheadless: true"))
    first = site.commit()
    got = derive(site)
    assert [(e, s) for e, _, _, s in got.at(first)] == [
        ("content.created", "headless"), ("content.created", "snippet"),
        ("content.published", "snippet")]


def test_adding_a_language_makes_its_files_variants(site: Site) -> None:
    site.write("hugo.toml", 'title = "x"\n')
    site.write("content/posts/hello.md", post("title: Hello"))
    site.write("content/posts/hello.fr.md", post("title: Bonjour"))
    first = site.commit()
    site.write("hugo.toml", 'title = "x"\n' + LANGUAGES)
    multilingual = site.commit()
    got = derive(site)
    slugs = sorted(s for e, _, _, s in got.at(first) if e == "content.created")
    assert slugs == ["hello", "hello-fr"]  # no French yet: a page of its own
    hello = next(e[2] for e in got.at(first) if e[3] == "hello")
    # the French page leaves as an entry of its own and joins hello's entry as its variant
    assert [(e, i == hello) for e, _, i, _ in got.at(multilingual)] == [
        ("content.unpublished", False), ("content.deleted", False), ("content.updated", True)]


def test_build_future_publishes_future_posts_from_the_commit_that_sets_it(
        site: Site) -> None:
    site.write("hugo.toml", 'title = "x"\n')
    site.write("content/posts/later.md", post("title: Later\ndate: 2999-01-01"))
    first = site.commit()
    site.write("hugo.toml", 'title = "x"\nbuildFuture = true\n')
    now = site.commit()
    got = derive(site)
    assert got.names(first) == ["content.created"]
    assert got.names(now) == ["content.updated", "content.published"]


def test_a_broken_hugo_toml_keeps_the_rules_and_names_file_and_line(site: Site) -> None:
    site.write("hugo.toml", '[[module.mounts]]\nsource = "content/en"\ntarget = "content"\n')
    site.write("content/en/posts/a.md", post("title: A"))
    site.commit()
    site.write("hugo.toml", '[[module.mounts]]\nsource = "content/en"\ntarget = = "content"\n')
    site.write("content/en/posts/a.md", post("title: A2"))
    broken = site.commit()
    got = derive(site)
    assert got.at(broken)[0][:2] == ("content.updated", "posts")
    assert len(got.warnings) == 1
    assert got.warnings[0].startswith(f"hugo.toml line 3 at {broken[:12]}: cannot read")


def test_a_yaml_bomb_is_refused_not_expanded(site: Site) -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n"
        for i in range(8))
    site.write("hugo.yaml", "title: x\n" + bomb)
    site.write("content/posts/a.md", post("title: A"))
    first = site.commit()
    got = derive(site)
    assert got.names(first) == ["content.created", "content.published"]
    assert len(got.warnings) == 1 and "YAML bomb" in got.warnings[0]
    assert got.warnings[0].startswith("hugo.yaml line ")


def test_a_wrong_value_is_a_warning_naming_the_file_and_line(site: Site) -> None:
    site.write("hugo.toml", 'title = "x"\nbuildFuture = "yes"\n')
    site.write("content/posts/a.md", post("title: A"))
    site.commit()
    got = derive(site)
    assert any(w.startswith("hugo.toml line 2: buildfuture is not true or false")
               for w in got.warnings), got.warnings


def test_a_new_leaf_bundle_turns_its_folder_into_resources_and_touches_nothing_else(
        site: Site) -> None:
    site.write("hugo.toml", 'title = "x"\n')
    site.write("content/posts/other.md", post("title: Other"))
    site.write("content/posts/trip/notes.md", post("title: Notes"))
    first = site.commit()
    site.write("content/posts/trip/index.md", post("title: Trip"))
    bundled = site.commit()
    site.write("content/posts/more/index.md", post("title: More"))
    another = site.commit()
    got = derive(site)
    assert sorted(s for e, _, _, s in got.at(first) if e == "content.created") == [
        "notes", "other"]
    assert [(e, s) for e, _, _, s in got.at(bundled)] == [
        ("content.created", "trip"), ("content.published", "trip"),
        ("content.unpublished", "notes"), ("content.deleted", "notes")]
    assert [(e, s) for e, _, _, s in got.at(another)] == [
        ("content.created", "more"), ("content.published", "more")]


def test_a_bundle_change_reads_only_its_folder_again(site: Site,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    site.write("hugo.toml", 'title = "x"\n')
    site.write("content/posts/a.md", post("title: A"))
    site.commit()
    site.write("content/posts/b/index.md", post("title: B"))
    site.commit()
    listed: list[tuple[str, ...]] = []
    real = Repository.tree

    def spy(self: Repository, rev: str, folders: tuple[str, ...] = ()) -> object:
        listed.append(folders)
        return real(self, rev, folders)

    monkeypatch.setattr(Repository, "tree", spy)
    derive(site)
    assert listed == [("content/posts/b",)]


def test_an_unknown_mount_key_is_a_warning_naming_the_file_and_line(site: Site) -> None:
    site.write("hugo.toml", 'title = "x"\n\n[[module.mounts]]\nsorce = "docs"\n'
                            'target = "content"\n')
    site.write("content/a.md", post("title: A"))
    site.commit()
    got = derive(site)
    assert any(w.startswith("hugo.toml line 3: mounts has unknown keys sorce")
               for w in got.warnings), got.warnings
