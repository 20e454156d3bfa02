"""`init` at the top of a repository whose site lives in a folder of it, and `check`'s
warnings when the content folder is missing or holds no entries."""

from __future__ import annotations

import json

import pytest
from conftest import Site, post
from test_init_check import cometwatch, init


def test_init_at_the_top_finds_a_site_in_docs_and_check_accepts_it(site: Site) -> None:
    site.write("src/main.py", "print('the project itself')\n")
    site.write("README.md", "# The project\n")
    site.write("docs/_config.yml", "title: Docs\n")
    site.write("docs/index.md", post("title: Home"))
    site.write("docs/_posts/2020-01-01-release.md", post("title: Release"))
    site.commit()
    result = init(site)
    assert "Detected: jekyll in docs/" in result.stdout
    text = (site.root / "webhooks.toml").read_text()
    assert 'preset = "jekyll"' in text and 'site_dir = "docs"' in text
    check = cometwatch("check", cwd=site.root)
    assert check.returncode == 0, check.stderr
    assert "content in docs/" in check.stdout and "entries     2 (2 published)" in check.stdout
    assert "warning" not in check.stdout
    listed = cometwatch("entries", "--json", cwd=site.root)
    assert sorted(json.loads(line)["path"] for line in listed.stdout.splitlines()) == [
        "docs/_posts/2020-01-01-release.md", "docs/index.md"]


def test_init_in_the_site_folder_writes_the_config_at_the_repository_top(site: Site) -> None:
    site.write("website/hugo.toml", 'baseURL = "https://example.org/"\n')
    site.write("website/content/docs/start.md", post("title: Start"))
    site.commit()
    result = cometwatch("init", "website", cwd=site.root)
    assert result.returncode == 0, result.stderr
    assert 'site_dir = "website"' in (site.root / "webhooks.toml").read_text()
    check = cometwatch("check", cwd=site.root)
    assert check.returncode == 0, check.stderr
    assert "content in website/content/" in check.stdout
    assert "docs                      1 entries" in check.stdout


def test_a_hugo_theme_repository_watches_its_example_site(site: Site) -> None:
    site.write("theme.toml", 'name = "A theme"\n')
    site.write("layouts/_default/single.html", "{{ .Content }}\n")
    site.write("exampleSite/hugo.toml", 'baseURL = "https://example.org/"\ntheme = "x"\n')
    site.write("exampleSite/content/posts/demo.md", post("title: Demo"))
    site.commit()
    assert "Detected: hugo in exampleSite/" in init(site).stdout
    assert 'site_dir = "exampleSite"' in (site.root / "webhooks.toml").read_text()


def test_several_sites_are_listed_and_one_is_asked_for(site: Site) -> None:
    site.write("docs/hugo.toml", 'baseURL = "https://example.org/"\n')
    site.write("website/_config.yml", "title: x\n")
    site.commit()
    result = cometwatch("init", cwd=site.root)
    assert result.returncode == 2
    assert "docs/ (hugo), website/ (jekyll)" in result.stderr
    assert "cometwatch init FOLDER" in result.stderr
    assert not (site.root / "webhooks.toml").exists()


@pytest.mark.parametrize(("config", "files", "said"), [
    ('contentDir = "pages"\n', {}, "pages/ does not exist at"),
    ("", {"content/notes.txt": "not Markdown\n"}, "nothing in content/ at"),
])
def test_check_warns_when_the_content_folder_gives_no_entries(
        site: Site, config: str, files: dict[str, str], said: str) -> None:
    site.write("hugo.toml", 'baseURL = "https://example.org/"\n' + config)
    for path, text in {"README.md": "# x\n", **files}.items():
        site.write(path, text)
    site.commit()
    init(site)
    check = cometwatch("check", cwd=site.root)
    assert check.returncode == 0, check.stderr
    warning = next(line for line in check.stdout.splitlines() if "no entries" in line)
    assert said in warning and "*.md" in warning and "site_dir" in warning
