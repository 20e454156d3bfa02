"""`init` on small sites of each tool, the events their histories give; `check` good and bad."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Site, post
from testing import Ran, run_cli

from cometwatch.redaction import redact_url


def cometwatch(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Ran:
    """`cometwatch ARGS…` in folder `cwd`, in this process."""
    return run_cli(*args, cwd=cwd, env=env)


def events(site: Site) -> list[tuple[str, str, str]]:
    result = cometwatch("events", "--all", cwd=site.root)
    assert result.returncode == 0, result.stderr
    out = []
    for line in result.stdout.splitlines():
        payload = json.loads(line)
        out.append((payload["event"], payload["data"]["type"], payload["data"]["slug"]))
    return out


def init(site: Site, *extra: str) -> subprocess.CompletedProcess[str]:
    result = cometwatch("init", *extra, cwd=site.root)
    assert result.returncode == 0, result.stderr
    return result


def test_hugo_site_gets_the_hugo_preset_and_hugo_rules(site: Site) -> None:
    site.write("hugo.toml", 'baseURL = "https://example.org/"\n')
    site.write("content/_index.md", post("title: Home"))
    site.write("content/posts/_index.md", post("title: Posts"))
    site.write("content/posts/bundle/index.md", post("title: Bundle"))
    site.write("content/posts/hello.md", post("title: Hello\ndraft: true"))
    site.write("content/posts/hello.fr.md", post("title: Bonjour"))  # no languages: a page
    site.write("content/posts/later.md", post("title: Later\ndate: 2999-01-01"))
    site.write("themes/x/README.md", "not content\n")
    site.commit()
    site.write("content/posts/hello.md", post("title: Hello\ndraft: false"))
    site.commit()
    assert "Detected: hugo" in init(site).stdout
    assert 'preset = "hugo"' in (site.root / "webhooks.toml").read_text()
    got = events(site)
    created = [(t, s) for e, t, s in got if e == "content.created"]
    assert sorted(created) == sorted([("pages", "index"), ("posts", "posts"), ("posts", "bundle"),
                                      ("posts", "hello"), ("posts", "hello-fr"),
                                      ("posts", "later")])
    published = [(t, s) for e, t, s in got if e == "content.published"]
    # the draft and the post dated 2999 are not published at first; the draft is later
    assert published.count(("posts", "later")) == 0
    assert got[-2:] == [("content.updated", "posts", "hello"),
                        ("content.published", "posts", "hello")]


def test_jekyll_draft_moved_into_posts_is_one_entry_published(site: Site) -> None:
    site.write("_config.yml", "title: Blog\n")
    site.write("README.md", "# the repository readme, not a page\n")
    site.write("_drafts/my-trip.md", post("title: My trip", body="A long text.\n" * 5))
    site.write("about.md", post("title: About"))
    site.commit()
    site.move("_drafts/my-trip.md", "_posts/2020-05-01-my-trip.md")
    site.commit()
    site.write("_posts/2999-01-01-future.md", post("title: Future"))
    site.write("_posts/2020-06-01-hidden.md", post("title: Hidden\npublished: false"))
    site.commit()
    assert "Detected: jekyll" in init(site).stdout
    assert events(site) == [  # within a commit, by path: "_drafts/…" sorts before "about.md"
        ("content.created", "posts", "my-trip"),
        ("content.created", "pages", "about"),
        ("content.published", "pages", "about"),
        ("content.updated", "posts", "my-trip"),
        ("content.published", "posts", "my-trip"),
        ("content.created", "posts", "hidden"),
        ("content.created", "posts", "future"),
    ]


def test_jekyll_folders_that_are_not_declared_collections_are_left_alone(site: Site) -> None:
    site.write("_config.yml", "collections:\n  recipes:\n    output: true\n")
    site.write("_recipes/soup.md", post("title: Soup"))
    site.write("_notes/todo.md", post("title: private notes"))
    site.write("_posts/2020-01-01-hello.md", post("title: Hello"))
    site.commit()
    init(site)
    # the preset reads _config.yml at each commit: nothing to list in webhooks.toml
    assert "_notes" not in (site.root / "webhooks.toml").read_text()
    assert sorted(events(site)) == sorted([
        ("content.created", "posts", "hello"), ("content.published", "posts", "hello"),
        ("content.created", "recipes", "soup"), ("content.published", "recipes", "soup"),
    ])


@pytest.mark.parametrize(("marker", "preset"), [
    ("eleventy.config.js", "eleventy"),
    ("astro.config.mjs", "astro"),
    ("docusaurus.config.js", "docusaurus"),
    ("zola.toml", "zola"),
])
def test_init_detects_each_tool_by_its_config_file(site: Site, marker: str, preset: str) -> None:
    site.write(marker, "\n")
    site.commit()
    assert f"Detected: {preset}" in init(site).stdout
    assert f'preset = "{preset}"' in (site.root / "webhooks.toml").read_text()


def test_eleventy_reads_the_project_root_and_leaves_build_folders_alone(site: Site) -> None:
    site.write("eleventy.config.js", "export default function () {}\n")
    site.write(".eleventyignore", "README.md\n")  # Eleventy renders a README unless ignored
    site.write("README.md", "# the repository readme\n")
    site.write("_includes/layout.md", post("title: a layout"))
    site.write("_site/posts/first/index.md", post("title: build output"))
    site.write("node_modules/pkg/README.md", "# a dependency\n")
    site.write("index.md", post("title: Home"))
    site.write("posts/first.md", post("title: First\ndraft: true"))
    site.commit()
    site.write("posts/first.md", post("title: First\ndraft: false"))
    site.commit()
    init(site)
    assert events(site) == [
        ("content.created", "pages", "index"), ("content.published", "pages", "index"),
        ("content.created", "posts", "first"),
        ("content.updated", "posts", "first"), ("content.published", "posts", "first"),
    ]


def test_docusaurus_docs_blog_and_pages(site: Site) -> None:
    site.write("docusaurus.config.js", "module.exports = {presets: ['classic']}\n")
    site.write("docs/intro.md", post("title: Intro"))
    site.write("docs/guides/install.mdx", post("title: Install\nslug: /setup"))
    site.write("blog/2021-08-26-welcome/index.md", post("title: Welcome"))
    site.write("blog/2021-09-01-soon.md", post("title: Soon\ndraft: true"))
    site.write("src/pages/markdown-page.md", post("title: A page"))
    site.write("build/docs/intro.md", post("title: build output"))
    site.commit()
    init(site)
    assert sorted(events(site)) == sorted([
        ("content.created", "docs", "intro"), ("content.published", "docs", "intro"),
        ("content.created", "docs", "setup"), ("content.published", "docs", "setup"),
        ("content.created", "blog", "welcome"), ("content.published", "blog", "welcome"),
        ("content.created", "blog", "soon"),
        ("content.created", "pages", "markdown-page"),
        ("content.published", "pages", "markdown-page"),
    ])


def test_zola_toml_front_matter_sections_drafts_and_dated_names(site: Site) -> None:
    site.write("zola.toml", 'base_url = "https://example.org"\n')
    site.write("content/blog/_index.md", '+++\ntitle = "Blog"\nsort_by = "date"\n+++\n')
    site.write("content/blog/first.md", '+++\ntitle = "First"\ndraft = true\n+++\nHi.\n')
    site.write("content/blog/2024-01-05_trip/index.md", '+++\ntitle = "Trip"\n+++\nHi.\n')
    site.write("content/blog/2999-01-01-later.md", '+++\ntitle = "Later"\n+++\nHi.\n')
    site.commit()
    site.write("content/blog/first.md", '+++\ntitle = "First"\ndraft = false\n+++\nHi.\n')
    site.commit()
    init(site)
    # Zola builds future-dated pages; a `YYYY-MM-DD_` or `-` prefix is a date, not the slug
    assert events(site) == [
        ("content.created", "blog", "trip"), ("content.published", "blog", "trip"),
        ("content.created", "blog", "later"), ("content.published", "blog", "later"),
        ("content.created", "blog", "blog"), ("content.published", "blog", "blog"),
        ("content.created", "blog", "first"),
        ("content.updated", "blog", "first"), ("content.published", "blog", "first"),
    ]


def test_astro_collections_come_from_src_content(site: Site) -> None:
    site.write("astro.config.mjs", "export default {}\n")
    site.write("src/content/blog/first.mdx", post("title: First\ndraft: false"))
    site.write("src/pages/index.md", post("title: not content"))
    site.commit()
    init(site)
    assert events(site) == [("content.created", "blog", "first"),
                            ("content.published", "blog", "first")]


def test_decap_cms_collections_and_branch_are_read(site: Site) -> None:
    site.write("static/admin/config.yml",
               "backend:\n  name: git-gateway\n  branch: main\n"
               "collections:\n  - name: articles\n    folder: content/blog\n"
               "  - name: settings\n    files: []\n")
    site.write("hugo.toml", "\n")
    site.write("content/blog/one.md", post("title: One"))
    site.commit()
    result = init(site)
    assert "Decap CMS" in result.stdout
    text = (site.root / "webhooks.toml").read_text()
    # read from the Decap config at each commit, not copied into webhooks.toml
    assert '# collections = { "blog/**" = "articles" }' in text and 'branch = "main"' in text
    assert events(site) == [("content.created", "articles", "one"),
                            ("content.published", "articles", "one")]


def test_init_never_overwrites_without_force(site: Site) -> None:
    site.write("webhooks.toml", "# mine\n")
    result = cometwatch("init", cwd=site.root)
    assert result.returncode == 2
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert (site.root / "webhooks.toml").read_text() == "# mine\n"
    assert cometwatch("init", "--force", cwd=site.root).returncode == 0
    assert "[[webhooks]]" in (site.root / "webhooks.toml").read_text()


def test_the_written_config_is_kept_out_of_git_unless_git_already_tracks_it(site: Site) -> None:
    site.write("content/a.md", post("title: A"))
    site.commit()
    assert ".git/info/exclude" in init(site).stdout
    assert "/webhooks.toml" in (site.root / ".git" / "info" / "exclude").read_text()
    assert "webhooks.toml" not in site.git("status", "--porcelain")
    tracked = Site(site.root.parent / "tracked")
    tracked.write("webhooks.toml", "# ours, committed\n")
    tracked.commit()
    result = cometwatch("init", "--force", cwd=tracked.root)
    assert result.returncode == 0 and "exclude" not in result.stdout


def test_a_decap_branch_this_clone_lacks_is_left_commented_out(site: Site) -> None:
    site.write("admin/config.yml", "backend:\n  name: github\n  branch: production\n")
    site.write("a.md", post("title: A"))
    site.commit()
    result = init(site, "--preset", "plain")
    assert "Preset: plain (--preset)" in result.stdout and "Detected" not in result.stdout
    assert "'production', which this clone does not have" in result.stdout
    assert '# branch = "production"' in (site.root / "webhooks.toml").read_text()
    assert cometwatch("check", cwd=site.root).returncode == 0


def test_init_outside_a_repository_says_so(tmp_path: Path) -> None:
    result = cometwatch("init", cwd=tmp_path)
    assert result.returncode == 0 and "is not a git repository yet" in result.stdout


def test_written_config_is_private_and_loads(site: Site) -> None:
    init(site)
    mode = (site.root / "webhooks.toml").stat().st_mode & 0o777
    assert mode == 0o600
    result = cometwatch("check", cwd=site.root)
    assert result.returncode == 1  # an empty repository has no branch yet
    assert "does not exist" in result.stderr or "no commits yet" in result.stderr
    assert "Traceback" not in result.stderr


def test_check_counts_entries_and_never_shows_a_secret(site: Site) -> None:
    site.write("content/posts/a.md", post("status: published"))
    site.write("content/posts/b.md", post("status: draft"))
    site.write("content/pages/c.md", post("title: C"))
    site.write("content/.trash/posts/d.md", post("title: D"))
    site.write("content/posts/broken.md", "---\ntitle: [unclosed\n---\n")
    site.write("webhooks.toml",
               '[repository]\ncontent_dir = "content"\n'
               '[[webhooks]]\nname = "build"\n'
               'url = "https://hooks.example.org/build/TOKEN-IN-PATH?x=1"\n'
               'secret = "s3cr3t-value"\n')
    site.commit()
    result = cometwatch("check", cwd=site.root)
    assert result.returncode == 0, result.stderr
    assert "entries     4 (2 published), 1 in trash" in result.stdout
    assert "posts                     3 entries,      1 published" in result.stdout
    assert "content/posts/broken.md" in result.stdout
    assert "s3cr3t-value" not in result.stdout + result.stderr
    assert "TOKEN-IN-PATH" not in result.stdout


@pytest.mark.parametrize(("config", "key"), [
    ('[repository]\nbranchh = "main"\n', "repository.branchh"),
    ('[[webhooks]]\nname = "a"\nurl = "ftp://x"\nsecret = "s"\n', "webhooks[0].url"),
    ('[[webhooks]]\nname = "a"\nurl = "https://x.org"\n', "webhooks[0].secret"),
    ('[[webhooks]]\nname = "a"\nurl = "https://x.org"\nsecret = "s"\nevents = ["content.x"]\n',
     "webhooks[0].events"),
    ("[repository\n", ""),
])
def test_check_refuses_a_broken_config_with_one_line_and_exit_2(
        site: Site, config: str, key: str) -> None:
    site.write("webhooks.toml", config)
    result = cometwatch("check", cwd=site.root)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "webhooks.toml" in lines[0] and key in lines[0]


def test_check_on_a_folder_that_is_not_a_repository_exits_1(tmp_path: Path) -> None:
    result = cometwatch("check", cwd=tmp_path)
    assert result.returncode == 1
    assert "not a git repository" in result.stderr and "Traceback" not in result.stderr


def test_help_is_fast_because_commands_import_lazily() -> None:
    code = ("import sys, cometwatch.cli as c; c.build_parser(); "
            "heavy = [m for m in ('git', 'httpx', 'watchdog', 'yaml', 'sqlite3') "
            "if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("url", "shown"), [
    ("https://api.netlify.com/build_hooks/5f1a", "https://api.netlify.com/build_hooks/…"),
    ("http://127.0.0.1:8080/hook", "http://127.0.0.1:8080/hook"),
    ("https://x.org/a?token=1", "https://x.org/a?token=***"),
])
def test_urls_are_shown_without_their_tokens(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_progress_stays_quiet_when_output_is_not_a_terminal() -> None:
    import io

    from cometwatch.progress import Progress

    stream = io.StringIO()
    progress = Progress(total=1000, label="backfill", stream=stream)
    for _ in range(1000):
        progress()
    progress.close()
    assert stream.getvalue() == "" and progress.done == 1000


def test_progress_draws_on_a_terminal() -> None:
    import io

    from cometwatch.progress import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    progress = Progress(total=400, label="backfill", stream=stream)
    progress._last = time.monotonic() - 1
    progress(400)
    assert "400/400 commits" in stream.getvalue()


def _long_history(site: Site, commits: int) -> None:
    """`commits` commits, each adding a post, in one `git fast-import`."""
    lines = []
    for n in range(1, commits + 1):
        text = post(f"title: Post {n}").encode()
        stamp = f"committer T <t@x> {1_700_000_000 + n} +0000".encode()
        lines += [b"commit refs/heads/main", stamp,
                  b"data 4", b"save",  # fast-import chains the commits of a branch itself
                  f"M 644 inline content/posts/p{n}.md".encode(), f"data {len(text)}".encode(),
                  text, b""]
    subprocess.run(["git", "fast-import", "--quiet"], cwd=site.root, check=True,
                   input=b"\n".join(lines) + b"\n")
    site.git("reset", "-q", "--hard", "main")


@pytest.mark.process  # a terminal is the point
@pytest.mark.parametrize("command", [("events", "--all"), ("scan", "--all", "--no-deliver")])
def test_a_long_read_draws_a_bar_on_a_terminal_and_nothing_in_a_pipe(
        site: Site, command: tuple[str, ...]) -> None:
    import pty

    _long_history(site, 250)
    environ = {k: v for k, v in os.environ.items() if k != "COMETWATCH_CONFIG"}
    argv = [sys.executable, "-m", "cometwatch", *command]
    leader, follower = pty.openpty()
    with subprocess.Popen(argv, cwd=site.root, env=environ, stdout=subprocess.PIPE,
                          stderr=follower) as proc:
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the terminal closed: the command is done
                break
            if not chunk:
                break
            drawn += chunk
        stdout = proc.stdout.read() if proc.stdout else b""
    os.close(leader)
    assert proc.returncode == 0, drawn
    assert b"reading history [" in drawn and b"250/250 commits" in drawn
    assert b"\x1b[K" in drawn  # the bar is wiped when the read is done
    assert stdout.count(b"\n") >= (250 if command[0] == "events" else 1)
    piped = cometwatch(*command, cwd=site.root)
    assert piped.returncode == 0 and "reading history" not in piped.stderr


def test_a_site_with_only_a_decap_config_gets_the_decap_preset(site: Site) -> None:
    site.write("admin/config.yml",
               "backend:\n  name: git-gateway\n  branch: main\n"
               "collections:\n  - name: articles\n    folder: posts\n"
               "  - name: pages\n    files:\n      - {name: about, file: about.md}\n")
    site.write("posts/one.md", post("title: One"))
    site.write("about.md", post("title: About"))
    site.write("README.md", "# not an entry: no Decap collection holds it\n")
    site.commit()
    result = init(site)
    assert "Detected: decap" in result.stdout
    assert 'preset = "decap"' in (site.root / "webhooks.toml").read_text()
    assert sorted(events(site)) == sorted([
        ("content.created", "articles", "one"), ("content.published", "articles", "one"),
        ("content.created", "pages", "about"), ("content.published", "pages", "about")])
    assert cometwatch("check", cwd=site.root).returncode == 0
