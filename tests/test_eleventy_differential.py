"""`cometwatch entries --json` against the real Eleventy, on a fixture site written the way
Eleventy sites are (tests/sites/eleventy-*: an input folder, .eleventyignore, .gitignore,
ignores.add, permalink: false, eleventyExcludeFromCollections, directory data files).

Eleventy comes from the npm registry (`npm install @11ty/eleventy`); the comparison runs when
`eleventy` is on PATH or COMETWATCH_ELEVENTY names its binary, and says so when skipped. What
cometwatch must see is also written out below, so the fixture is checked either way.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Site
from testing import run_cli

SITES = Path(__file__).parent / "sites"
ELEVENTY = os.environ.get("COMETWATCH_ELEVENTY") or shutil.which("eleventy")

# path → (published, status): what Eleventy builds, as `entries --json` must list it
EXPECTED = {
    "src/404.md": (True, "unlisted"),
    "src/about.md": (True, "published"),
    "src/feeds/data.md": (False, "unrendered"),
    "src/index.md": (True, "published"),
    "src/notes/a.md": (True, "unlisted"),
    "src/posts/2024-01-02-first-post.md": (True, "published"),
    "src/posts/bundle/index.md": (True, "published"),
    "src/posts/second.md": (True, "published"),
    "src/wip/c.md": (False, "unrendered"),
    "src/wip/ready.md": (True, "published"),
}


@pytest.fixture
def eleventy_site(tmp_path: Path) -> Path:
    site = Site(tmp_path / "repo")
    shutil.copytree(SITES / "eleventy-blog", site.root, dirs_exist_ok=True)
    (site.root / "webhooks.toml").write_text('[repository]\npreset = "eleventy"\n')
    # committed before .gitignore listed it: in the tree, and still ignored by Eleventy
    site.git("add", "-f", "src/generated/g.md")
    site.commit("the site")
    return site.root


def cometwatch_entries(root: Path) -> dict[str, dict[str, object]]:
    result = run_cli("entries", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return {str(row["path"]): row for row in map(json.loads, result.stdout.splitlines())}


def test_entries_are_the_templates_eleventy_builds(eleventy_site: Path) -> None:
    ours = cometwatch_entries(eleventy_site)
    assert {path: (row["published"], row["status"]) for path, row in ours.items()} == EXPECTED
    assert ours["src/posts/2024-01-02-first-post.md"]["slug"] == "first-post"
    assert ours["src/posts/bundle/index.md"]["type"] == "posts"


@pytest.mark.skipif(ELEVENTY is None, reason="Eleventy is not installed: npm install "
                    "@11ty/eleventy, then put it on PATH or set COMETWATCH_ELEVENTY")
def test_entries_agree_with_eleventy(eleventy_site: Path) -> None:
    assert ELEVENTY is not None
    result = subprocess.run([ELEVENTY, "--to=json", "--quiet"], cwd=eleventy_site,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    built = json.loads(text[text.index("["):text.rindex("]") + 1])
    theirs = {row["inputPath"].removeprefix("./"): bool(row["outputPath"]) for row in built}
    ours = cometwatch_entries(eleventy_site)
    assert sorted(ours) == sorted(theirs)
    # written (an output file) is published, unlisted pages included; no file is not
    assert {path: bool(row["published"]) for path, row in ours.items()} == theirs
