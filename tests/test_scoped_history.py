"""History read only where entries and site configs live (`git log -- PATHS`) gives exactly the
events of the whole history: renames into and out of the content folders, merges, the trash,
and a config commit that moves the folders (the walk reads on from it in the new ones)."""

from __future__ import annotations

import pytest
from conftest import Site, post

from cometwatch import flow
from cometwatch.config import ContentRules, RepositoryConfig, parse_config_text
from cometwatch.engine import Engine
from cometwatch.flow import history
from cometwatch.gitrepo import Repository


def build(site: Site) -> None:
    site.write("hugo.toml", 'title = "x"\n')
    site.write("src/app.py", "print(1)\n")
    site.write("content/posts/a.md", post("title: A"))
    site.commit()
    for n in range(5):  # code commits: never read by the scoped walk
        site.write("src/app.py", f"print({n})\n")
        site.commit()
    site.write("drafts-elsewhere/b.md", post("title: B", body="Long text.\n" * 20))
    site.commit()
    site.move("drafts-elsewhere/b.md", "content/posts/b.md")  # a rename into content
    site.commit()
    site.move("content/posts/a.md", "archive/a.md")  # a rename out of content
    site.commit()
    site.move("content/posts/b.md", "content/.trash/posts/b.md")
    site.commit()
    site.git("checkout", "-q", "-b", "side")
    site.write("content/posts/c.md", post("title: C"))
    site.write("src/app.py", "print('side')\n")
    site.commit()
    site.git("checkout", "-q", "main")
    site.git("merge", "-q", "--no-ff", "-m", "merge side", "side")
    site.write("shared/notes/n.md", post("title: N"))
    site.commit()
    site.write("hugo.toml", 'title = "x"\n[[module.mounts]]\nsource = "content"\n'
                            'target = "content"\n[[module.mounts]]\nsource = "shared"\n'
                            'target = "content/shared"\n')
    site.commit()  # shared/ is content from here: its note is created at this commit
    site.write("shared/notes/n.md", post("title: N2"))
    site.commit()  # read only if the walk went on in the new folders
    site.write("src/app.py", "print('last')\n")
    site.commit()


def derive(site: Site, repository: RepositoryConfig) -> list[tuple[str, ...]]:
    with Repository(site.root) as repo:
        engine = Engine.for_repository(repository)
        return [(e.event_id, e.commit, e.name, e.collection, e.entry_id, e.slug, e.path)
                for save in history(repo, engine, None, site.head()) for e in save.events]


@pytest.mark.parametrize("preset", ["hugo", "plain"])
def test_the_scoped_walk_gives_the_events_of_the_whole_history(
        site: Site, preset: str, monkeypatch: pytest.MonkeyPatch) -> None:
    build(site)
    text = '[repository]\npreset = "hugo"\n' if preset == "hugo" else \
        '[repository]\ncontent_dir = "content"\n'
    repository = parse_config_text(text, site.root / "webhooks.toml").repository
    scoped = derive(site, repository)
    walked: list[tuple[str, ...]] = []
    real_walk = Repository.walk

    def spy(self: Repository, base: str | None, tip: str,
            paths: tuple[str, ...] = (), newest_first: bool = False) -> object:
        walked.append(paths)
        return real_walk(self, base, tip, paths, newest_first)

    monkeypatch.setattr(Repository, "walk", spy)
    assert derive(site, repository) == scoped
    assert all(walked) and "content" in walked[0]
    if preset == "hugo":
        assert any(e[2] == "content.updated" and e[6] == "shared/notes/n.md" for e in scoped)
        assert len(walked) == 2 and "shared" in walked[1]  # read on in the new folders
    monkeypatch.setattr(flow, "_scope", lambda engine: ())
    assert derive(site, repository) == scoped


def test_fixed_rules_without_a_content_folder_read_the_whole_history(site: Site) -> None:
    site.write("a.md", post("title: A"))
    site.commit()
    with Repository(site.root) as repo:
        engine = Engine(ContentRules())
        assert flow._scope(engine) == ()
        assert [e.name for save in history(repo, engine, None, site.head())
                for e in save.events] == ["content.created", "content.published"]


def test_a_date_passing_before_a_code_only_commit_is_derived_at_it(site: Site) -> None:
    site.write("src/app.py", "print(0)\n")
    site.write("content/posts/a.md", post("title: A\npublishDate: 2023-11-14T23:00:00Z"))
    site.commit(time=1_700_000_000)  # 2023-11-14T22:13:20Z: scheduled
    site.write("src/app.py", "print(1)\n")
    site.commit(time=1_700_010_000)  # a code commit after the date, the branch's last
    repository = parse_config_text('[repository]\ncontent_dir = "content"\n',
                                   site.root / "webhooks.toml").repository
    events = derive(site, repository)
    assert [(e[1], e[2]) for e in events] == [
        (site.git("rev-parse", "HEAD~1"), "content.created"),
        ("at:1700002800", "content.published")]


@pytest.mark.parametrize("ahead", [0, 2, 5])
def test_a_scoped_walk_too_long_to_read_ahead_is_streamed_with_the_same_events(
        site: Site, ahead: int, monkeypatch: pytest.MonkeyPatch,
        recwarn: pytest.WarningsRecorder) -> None:
    build(site)
    repository = parse_config_text('[repository]\npreset = "hugo"\n',
                                   site.root / "webhooks.toml").repository
    whole = derive(site, repository)
    monkeypatch.setattr(flow, "_AHEAD", ahead)  # git is stopped part way, then streamed
    assert derive(site, repository) == whole
    assert not [w for w in recwarn if "git log failed" in str(w.message)]
