"""Helpers for the JavaScript-configured fixture sites: what cometwatch reads at a commit."""

from __future__ import annotations

from dataclasses import dataclass

from conftest import Site

from cometwatch.config import parse_config_text
from cometwatch.engine import Engine
from cometwatch.entry import status_at
from cometwatch.flow import history, read_tree
from cometwatch.gitrepo import Repository


@dataclass(frozen=True)
class Seen:
    path: str
    type: str
    slug: str
    id: str
    published: bool
    status: str


def entries(site: Site, toml: str, rev: str = "HEAD") -> tuple[dict[str, Seen], list[str]]:
    """Every entry of the tree at `rev` under the config `toml`, and the warnings said."""
    config = parse_config_text(toml, site.root / "webhooks.toml", environ={})
    warnings: list[str] = []
    engine = Engine.for_repository(config.repository, warn=warnings.append)
    with Repository(site.root) as repo:
        read_tree(repo, engine, rev, 2_000_000_000)
    scope = engine.sites.site.scope()
    seen = {}
    for path, r in engine.ledger.entries.items():
        # Site.scope(): every entry lies under one of its folders (history is scoped to them)
        assert any(not folder or path.startswith(folder + "/") for folder in scope), \
            (path, scope)
        where = engine.locate(path, "100644")
        assert where is not None
        status = status_at(r.front, where, 2_000_000_000, engine.rules)
        seen[path] = Seen(path, r.collection, r.slug, r.entry_id, r.published, status)
    return seen, warnings


def events(site: Site, toml: str) -> tuple[list[tuple[str, str, str, str]], list[str]]:
    """(commit, event, type, path) for the whole history, and the warnings said."""
    config = parse_config_text(toml, site.root / "webhooks.toml", environ={})
    warnings: list[str] = []
    engine = Engine.for_repository(config.repository, warn=warnings.append)
    with Repository(site.root) as repo:
        out = [(save.commit, e.name, e.collection, e.path)
               for save in history(repo, engine, None, site.head()) for e in save.events]
    return out, warnings
