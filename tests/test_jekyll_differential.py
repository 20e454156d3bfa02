"""`cometwatch entries --json` against the real Jekyll, on fixture sites shaped like real ones
(tests/sites/jekyll-*: files without front matter, dot-folder templates, undeclared `_name`
folders, collections with and without output, collections_dir, defaults, future, excludes,
Jekyll's own date spellings). Every file carries a marker; the pages Jekyll writes are the
files whose marker is in its output, and they must be exactly the entries published with a
page of their own.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import Site
from testing import run_cli

SITES = Path(__file__).parent / "sites"
JEKYLL_SITES = sorted(p.name for p in SITES.glob("jekyll-*"))
JEKYLL = shutil.which("jekyll")
pytestmark = pytest.mark.skipif(JEKYLL is None, reason="jekyll is not installed (Debian's "
                                                       "`jekyll` package; .ci/run installs it)")


MARKDOWN = (".md", ".markdown")  # the extensions the jekyll preset reads (jekyll.org names
                                # its posts `.markdown`)


def marker(path: str) -> str:
    return "MARK" + path.encode().hex()


@pytest.fixture
def jekyll_site(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    site = Site(tmp_path / "repo")
    source = SITES / request.param
    for file in sorted(source.rglob("*")):
        if file.is_file():
            relative = file.relative_to(source).as_posix()
            site.write(relative, file.read_text() + (f"\n{marker(relative)}\n"
                                                     if file.suffix in MARKDOWN else ""))
    (site.root / "webhooks.toml").write_text('[repository]\npreset = "jekyll"\n')
    site.commit("the site")
    return site.root


def written(root: Path, out: Path) -> set[str]:
    """The source files Jekyll renders into pages (a static copy keeps its `.md` name)."""
    assert JEKYLL is not None
    subprocess.run([JEKYLL, "build", "--quiet", "-s", str(root), "-d", str(out)], cwd=root,
                   check=True, capture_output=True, timeout=300)
    text = "\n".join(p.read_text(errors="replace") for p in out.rglob("*")
                     if p.is_file() and p.suffix not in MARKDOWN)
    return {path.relative_to(root).as_posix() for path in root.rglob("*")
            if path.suffix in MARKDOWN and ".git" not in path.parts
            and marker(path.relative_to(root).as_posix()) in text}


@pytest.mark.parametrize("jekyll_site", JEKYLL_SITES, indirect=True)
def test_entries_with_a_page_are_the_pages_jekyll_writes(jekyll_site: Path,
                                                          tmp_path: Path) -> None:
    pages = written(jekyll_site, tmp_path / "out")
    result = run_cli("entries", "--json", cwd=jekyll_site)
    assert result.returncode == 0, result.stderr
    ours = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(e["path"] for e in ours if e["status"] == "published") == sorted(pages)
    for entry in ours:
        assert entry["type"] != "github" and not entry["path"].startswith(".github/")
