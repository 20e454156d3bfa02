"""Site models: a site read as its own tool reads it, from the tool's configuration at one commit.

The shape, for every tool (Hugo, Jekyll, Zola here; the JavaScript-configured ones build on it):

- A `Tool` says which files of the tree steer it (`steers`: its config files, read as bytes,
  and files whose mere presence matters, such as Hugo's bundle `index.md`), parses one such
  file (`parse`, pure, cached by blob sha by the caller; a bad file raises `SiteConfigError`
  with its line), and builds a `Site` from the parsed files (`build`).
- A `Site` answers, for a repository path, its `entry.Location` (collection, slug, locale,
  translation key and rank, the tool's publication policy for it) or None: not an entry. It
  carries the `ContentRules` its entries are read with (the webhooks.toml rules, with what the
  tool's config says filled in where webhooks.toml does not set the key). Sites are frozen
  values: two builds from the same files are equal, so "did this commit change the rules" is
  `new != old`.
- `cometwatch.sites.loader.SiteLoader` keeps, along a history walk, the steering files' blob
  shas and the site they give; the flow feeds it each commit's changes.

Nothing here reads git or the file system: the flow hands in the bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, Protocol

from cometwatch.config import ContentRules
from cometwatch.entry import Location, locate


class Steer(Enum):
    READ = "read"  # a config file: its bytes build the site
    PRESENCE = "presence"  # only whether the path exists matters (a bundle's index.md)


@dataclass(frozen=True, slots=True)
class SiteBase:
    """What webhooks.toml says about the site, before its tool's config is read."""

    root: str = ""  # the site's folder in the repository ("": its top level)
    rules: ContentRules = field(default_factory=ContentRules)  # the preset's and the config's
    overrides: frozenset[str] = frozenset()  # the [repository] keys webhooks.toml sets itself

    def path(self, relative: str) -> str:
        """A site-relative path as a repository path."""
        relative = relative.strip("/")
        if not self.root:
            return relative
        return f"{self.root}/{relative}" if relative else self.root

    def relative(self, path: str) -> str | None:
        """A repository path as a site-relative one, or None outside the site's folder."""
        if not self.root:
            return path
        return path[len(self.root) + 1:] if path.startswith(self.root + "/") else None


PATH_CACHE = 65536  # paths a site remembers the location of; past that it starts again


def remembered(cache: dict[str, Location | None], path: str,
               find: Callable[[str], Location | None], trash: str,
               content: str) -> Location | None:
    """`find(path)`, remembered in `cache` (which a walk over a huge tree cannot grow
    unbounded). A path in the `trash` folder is the entry it mirrors under `content`, trashed."""
    if path in cache:
        return cache[path]
    if len(cache) > PATH_CACHE:
        cache.clear()
    mirror = _trash_mirror(trash, path, content)
    if mirror is None:
        where = find(path)
    else:
        found = remembered(cache, mirror, find, trash, content)
        where = None if found is None else replace(found, path=path, trashed=True)
    cache[path] = where
    return where


def _trash_mirror(trash: str, path: str, content: str) -> str | None:
    """For a path in the trash folder, the path it mirrors under `content`; else None."""
    if not trash or not path.startswith(trash + "/"):
        return None
    inside = path[len(trash) + 1:]
    return f"{content}/{inside}" if content else inside


class SiteConfigError(ValueError):
    """A site config file that cannot be read: the rules it gave before stay in force."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class Site(Protocol):
    """A site at one commit: what each path is, as its tool reads it."""

    @property
    def rules(self) -> ContentRules: ...

    def locate(self, path: str) -> Location | None:
        """The entry a regular file at repository path `path` is, or None."""
        ...

    def scope(self) -> tuple[str, ...]:
        """Repository folders every entry lies under ("" for the whole tree), trash included:
        history outside them (and outside the steering files) never gives an event."""
        ...


class Tool(Protocol):
    """One site tool's reading of its own configuration."""

    name: str

    def steers(self, relative: str) -> Steer | None:
        """Whether a site-relative path feeds `build`, and how."""
        ...

    def parse(self, relative: str, data: bytes) -> Any:
        """One steering file's bytes → what `build` takes (pure; raise SiteConfigError)."""
        ...

    # Optional: `pathspecs() -> tuple[str, ...]`, the site-relative files and folders that
    # hold every file `steers` answers for outside the site's `scope()` folders. A tool that
    # has it gets a history limited to those and its scope; one without is read whole.

    def build(self, parsed: Mapping[str, Any], present: frozenset[str],
              base: SiteBase) -> Site:
        """The site from the parsed READ files (site-relative path → `parse`'s value) and the
        PRESENCE files that exist (site-relative paths)."""
        ...


@dataclass(frozen=True, slots=True)
class RuleSite:
    """A site read with the fixed rules of webhooks.toml and its preset: contract §1 as written."""

    rules: ContentRules

    def locate(self, path: str) -> Location | None:
        return locate(path, "100644", self.rules)

    def scope(self) -> tuple[str, ...]:
        rules = self.rules
        if not rules.content_dir:
            return ("",)
        return tuple(dict.fromkeys((rules.content_dir, rules.trash_dir)))


def tool_for(preset: str) -> Tool | None:
    """The site model of a preset, or None when the preset is a fixed table."""
    import importlib

    where = TOOLS.get(preset)
    if where is None:
        return None
    module, _, name = where.partition(":")
    factory: Callable[[], Tool] = getattr(importlib.import_module(module), name)
    from cometwatch.sites.decaptool import refined  # a Decap CMS config beside it refines it

    return refined(factory())


# preset name → "module:class" of its Tool (imported when a config names the preset)
TOOLS: dict[str, str] = {
    "hugo": "cometwatch.sites.hugo:Hugo",
    "jekyll": "cometwatch.sites.jekyll:Jekyll",
    "zola": "cometwatch.sites.zola:Zola",
    "docusaurus": "cometwatch.sites.jstools:Docusaurus",
    "astro": "cometwatch.sites.jstools:Astro",
    "eleventy": "cometwatch.sites.jstools:Eleventy",
    "decap": "cometwatch.sites.decaptool:decap_only",
}


__all__ = ["TOOLS", "RuleSite", "Site", "SiteBase", "SiteConfigError", "Steer", "Tool",
           "tool_for"]
