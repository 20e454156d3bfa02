"""Pure: what a JavaScript-configured site tool (Docusaurus, Astro, Eleventy) or Decap CMS makes
of one file, before the frontmatter is read: the value their site models give for a path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cometwatch.entry import slugify


@dataclass(frozen=True, slots=True)
class Page:
    """A file the tool builds into a page (or, with `unbuilt`, keeps without building)."""

    collection: str  # the entry's type: a plugin instance, a content collection, a folder
    slug: str  # from the path, as the tool names the page; a frontmatter `slug` overrides it
    locale: str | None = None  # this variant's locale; None on a site without locales
    key: str = ""  # the variants of one entry share it: the default-locale file's path
    rank: int = 0  # the locale's place in the site's list (0: the default locale)
    version: str | None = None  # Docusaurus docs: "current" or the version's name
    defaults: tuple[tuple[str, Any], ...] = ()  # front matter defaults (Eleventy data files)
    choices: tuple[tuple[str, str, str], ...] = ()  # (field, value, collection): Decap filter


def path_slug(relative: str) -> str:
    """A slug from a path under a collection's base, `/` joined by `-` (the whole path names the
    page: `concepts/why-astro` → `concepts-why-astro`); `index` takes its folder's name."""
    stem = relative.rpartition(".")[0] if "." in relative.rpartition("/")[2] else relative
    parts = [part for part in stem.split("/") if part]
    if parts and parts[-1] in ("index", "_index") and len(parts) > 1:
        parts.pop()
    return slugify("-".join(parts)) or "index"


def under(path: str, folder: str) -> str | None:
    """`path` relative to `folder` ("" the top), or None when it is not below it."""
    folder = folder.strip("/")
    if folder in ("", "."):
        return path
    return path[len(folder) + 1:] if path.startswith(folder + "/") else None


def join(*parts: str) -> str:
    """Site-relative folders joined and normalised (`./src`, `src/`, `a/../b`)."""
    out: list[str] = []
    for part in "/".join(parts).split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if out and out[-1] != "..":
                out.pop()
            else:
                out.append("..")
            continue
        out.append(part)
    return "/".join(out)
