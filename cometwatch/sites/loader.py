"""The site in force along a history walk: which steering files the tree holds, and the site
they give, updated commit by commit. Pure: the flow hands in trees, changes and a blob reader.

Blobs are immutable, so each steering blob is parsed once (cached by sha), and a site is built
once per set of steering blobs. A steering file that cannot be parsed is a warning naming the
file and line; the rules it gave before stay in force (a file never read well counts as absent).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cometwatch.commits import Change
from cometwatch.config import RepositoryConfig
from cometwatch.sites import RuleSite, Site, SiteBase, SiteConfigError, Steer, Tool, tool_for

log = logging.getLogger("cometwatch.sites")

Reader = Callable[[list[str]], Mapping[str, bytes]]  # blob shas → their bytes
_REGULAR = ("100644", "100755")
_SITES_KEPT = 64


class SiteLoader:
    def __init__(self, tool: Tool | None, base: SiteBase,
                 warn: Callable[[str], None] | None = None) -> None:
        self.tool = tool
        self.base = base
        self.warn = warn or log.warning
        self._read: dict[str, str] = {}  # site-relative path → blob sha, of the READ files
        self._present: set[str] = set()  # site-relative PRESENCE paths that exist
        self._parsed: dict[str, Any] = {}  # blob sha → parse (or the SiteConfigError)
        self._good: dict[str, tuple[str, Any]] = {}  # path → (sha, its last good parse)
        self._sites: dict[tuple[Any, ...], Site] = {}
        self._told: set[str] = set()  # the bad blobs already warned about
        self._said: set[str] = set()  # the sites' own warnings (a key not read) already said
        self.commit: str | None = None  # the commit `site` stands at (None: the empty tree)
        # after `apply` changed the site: the folders it can have changed (a bundle's index
        # added or removed changes only its folder), or None for anywhere
        self.only: tuple[str, ...] | None = None
        self.worth: dict[tuple[str, ...], bool] = {}  # the flow's: is a scoped walk worth it
        self.site: Site = RuleSite(base.rules) if tool is None else self._build()

    @property
    def static(self) -> bool:
        """True when no file of the tree can change the site (a fixed-table preset)."""
        return self.tool is None

    def pathspecs(self) -> tuple[str, ...] | None:
        """The repository paths of every file that can steer the site (folders and files), for
        a history limited to them and to the site's folders; None when the tool cannot say."""
        if self.tool is None:
            return ()
        paths = getattr(self.tool, "pathspecs", None)
        found: tuple[str, ...] | None = paths() if paths is not None else None
        return None if found is None else tuple(self.base.path(p) for p in found)

    def steer(self, path: str | None, mode: str | None) -> Steer | None:
        if self.tool is None or path is None or mode not in _REGULAR:
            return None
        relative = self.base.relative(path)
        return None if relative is None else self.tool.steers(relative)

    def steers(self, changes: Iterable[Change]) -> bool:
        """Whether any of these changes touches a steering file."""
        if self.tool is None:
            return False
        return any(self.steer(c.old_path, c.old_mode) or self.steer(c.new_path, c.new_mode)
                   for c in changes)

    def reset(self, tree: Mapping[str, tuple[str, str]], read: Reader,
              commit: str | None) -> bool:
        """Stand at a whole tree (path → (mode, sha)); True when the site changed."""
        self.only = None
        if self.tool is None:
            self.commit = commit
            return False
        self._read.clear()
        self._present.clear()
        for path, (mode, sha) in tree.items():
            self._note(path, mode, sha)
        return self._rebuild(read, commit)

    def apply(self, changes: Iterable[Change], read: Reader, commit: str) -> bool:
        """Follow one commit's changes; True when the site it gives differs from before."""
        if self.tool is None:
            self.commit = commit
            return False
        touched = False
        folders: set[str] | None = set()  # None: a READ file changed, the whole site may have
        for change in changes:
            old = self.steer(change.old_path, change.old_mode)
            new = self.steer(change.new_path, change.new_mode)
            if change.old_path == change.new_path and old is new is Steer.PRESENCE:
                continue  # an edit of a file whose presence alone matters
            for path, steer in ((change.old_path, old), (change.new_path, new)):
                if steer is Steer.READ:
                    folders = None
                elif steer is Steer.PRESENCE and path and folders is not None:
                    folders.add(path.rpartition("/")[0])
            if change.old_path and old is not None:
                relative = self.base.relative(change.old_path) or ""
                self._read.pop(relative, None)
                self._present.discard(relative)
                touched = True
            if change.new_path and change.new_sha and \
                    self._note(change.new_path, change.new_mode, change.new_sha):
                touched = True
        if not touched:
            self.commit = commit
            return False
        self.only = None if folders is None else tuple(sorted(folders))
        return self._rebuild(read, commit)

    def _note(self, path: str, mode: str | None, sha: str) -> bool:
        steer = self.steer(path, mode)
        if steer is None:
            return False
        relative = self.base.relative(path) or ""
        if steer is Steer.READ:
            self._read[relative] = sha
        else:
            self._present.add(relative)
        return True

    def _rebuild(self, read: Reader, commit: str | None) -> bool:
        unknown = [sha for sha in self._read.values() if sha not in self._parsed]
        if unknown:
            blobs = read(unknown)
            assert self.tool is not None
            by_sha = {sha: path for path, sha in self._read.items()}
            for sha in unknown:
                try:
                    self._parsed[sha] = self.tool.parse(by_sha[sha], blobs[sha])
                except SiteConfigError as exc:
                    self._parsed[sha] = exc
        old = self.site
        self.site = self._build(commit)
        self.commit = commit
        return self.site != old

    def _build(self, commit: str | None = None) -> Site:
        assert self.tool is not None
        parsed: dict[str, Any] = {}
        for relative, sha in sorted(self._read.items()):
            value = self._parsed[sha]
            if isinstance(value, SiteConfigError):
                kept = self._good.get(relative)
                self._tell(relative, sha, value, commit, kept is not None)
                if kept is not None:
                    parsed[relative] = kept[1]
                continue
            self._good[relative] = (sha, value)
            parsed[relative] = value
        key = (tuple(sorted((path, id(value)) for path, value in parsed.items())),
               frozenset(self._present))
        site = self._sites.get(key)
        if site is None:
            if len(self._sites) >= _SITES_KEPT:
                self._sites.clear()
            site = self._sites[key] = self.tool.build(parsed, frozenset(self._present),
                                                      self.base)
            for warning in getattr(site, "warnings", ()):  # once each, not at every build
                if warning not in self._said:
                    self._said.add(warning)
                    self.warn(warning)
        return site

    def _tell(self, relative: str, sha: str, error: SiteConfigError, commit: str | None,
              kept: bool) -> None:
        if sha in self._told:
            return
        self._told.add(sha)
        where = self.base.path(relative)
        line = f" line {error.line}" if error.line else ""
        at = f" at {commit[:12]}" if commit else ""
        then = "the rules it gave before stay in force" if kept else \
            "read as if it were absent until it can be read"
        self.warn(f"{where}{line}{at}: cannot read the site config: {error.message}; {then}")


def loader_for(repository: RepositoryConfig,
               warn: Callable[[str], None] | None = None) -> SiteLoader:
    """The site loader of a config's repository: its preset's tool (None: a fixed table)."""
    base = SiteBase(root=repository.site_dir, rules=repository.rules,
                    overrides=repository.overrides)
    return SiteLoader(tool_for(repository.preset), base, warn)
