"""Pure: the entries Decap CMS edits, as its `config.yml` defines its collections.

Folder collections: `folder`, `extension` / `format` (frontmatter, yaml, toml, json),
`nested` (`depth`; without it only the folder's direct children), `path` (`{{slug}}/index`),
`filter` (`field`/`value`: collections sharing one folder, told apart by a front matter field,
so the entry's collection follows its content), the `slug` template (the `{{slug}}` part of a
`{{year}}-{{month}}-{{day}}-{{slug}}` name is the entry's slug). Files collections: one entry
per listed `file`, typed by the collection. `i18n` (top level, opted into per collection):
`multiple_folders` (`<folder>/<locale>/…`) and `multiple_files` (`name.<locale>.md`) give
locale variants; `single_file` keeps every locale in one file. The most specific folder wins,
not the first declared.

Decap's paths are the repository's (its Git backend writes there), whatever folder the
config sits in. `identifier_field` names the field Decap makes a new entry's slug from; the
file name it wrote already carries that slug, so it is not read again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from cometwatch.entry import slugify
from cometwatch.sites.page import Page, join, under

CONFIG_PATHS = ("admin/config.yml", "static/admin/config.yml", "public/admin/config.yml",
                "src/admin/config.yml", "admin/config.yaml", "static/admin/config.yaml",
                "public/admin/config.yaml", "src/admin/config.yaml")
_EXTENSIONS = {"yml": "yml", "yaml": "yml", "toml": "toml", "json": "json",
               "frontmatter": "md", "yaml-frontmatter": "md", "toml-frontmatter": "md",
               "json-frontmatter": "md"}
_PLACEHOLDER = re.compile(r"\{\{\s*([^}]*?)\s*\}\}")
_DATE_PARTS = {"year": r"\d{4}", "month": r"\d{2}", "day": r"\d{2}", "hour": r"\d{2}",
               "minute": r"\d{2}", "second": r"\d{2}"}


@dataclass(frozen=True, slots=True)
class Folder:
    name: str
    folder: str  # repository path
    extension: str = "md"
    depth: int = 1  # folder levels entries may lie in (1: direct children)
    path: str | None = None  # the path template under `folder`, without extension
    slug: str = "{{slug}}"
    filter: tuple[str, str] | None = None  # (field, value)
    i18n: str | None = None  # multiple_folders, multiple_files, single_file


@dataclass(frozen=True, slots=True)
class File:
    collection: str
    name: str
    file: str  # repository path
    i18n: str | None = None


@dataclass(frozen=True, slots=True)
class Decap:
    folders: tuple[Folder, ...] = ()
    files: tuple[File, ...] = ()
    locales: tuple[str, ...] = ()  # the default first
    warnings: tuple[str, ...] = ()

    @property
    def filter_fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f.filter[0] for f in self.folders if f.filter))

    def place(self, path: str) -> Page | None:
        """The entry a repository path is in Decap, or None; `choices` when collections
        sharing its folder are told apart by a front matter field."""
        for entry in self.files:
            found = self._file(entry, path)
            if found is not None:
                return found
        matched: list[tuple[Folder, Page]] = []
        for folder in self.folders:
            page = self._folder(folder, path)
            if page is not None:
                matched.append((folder, page))
        if not matched:
            return None
        deepest = max(folder.folder.count("/") + bool(folder.folder) for folder, _ in matched)
        matched = [(f, p) for f, p in matched if f.folder.count("/") + bool(f.folder) == deepest]
        plain = [(f, p) for f, p in matched if f.filter is None]
        choices = tuple((f.filter[0], f.filter[1], f.name) for f, _ in matched if f.filter)
        if plain:
            base = plain[0][1]
            return replace(base, choices=choices) if choices else base
        # only filtered collections here: one whose value none matches is in none of them
        # ("": the caller's collection, or the first filtered one)
        return replace(matched[0][1], collection="", choices=choices)

    def _file(self, entry: File, path: str) -> Page | None:
        if path == entry.file:
            if entry.i18n not in ("multiple_files", "multiple_folders"):
                return Page(entry.collection, slugify(entry.name) or "index")
            return Page(entry.collection, slugify(entry.name) or "index",
                        *self._variant(None, entry.file))
        if entry.i18n not in ("multiple_files", "multiple_folders") or len(self.locales) < 2:
            return None
        folder, _, name = entry.file.rpartition("/")
        stem, dot, ext = name.rpartition(".")
        for locale in self.locales[1:]:
            if entry.i18n == "multiple_files":
                variant = f"{folder}/{stem}.{locale}{dot}{ext}" if folder else \
                    f"{stem}.{locale}{dot}{ext}"
            else:
                variant = join(folder, locale, name)
            if path == variant:
                return Page(entry.collection, slugify(entry.name) or "index",
                            *self._variant(locale, entry.file))
        return None

    def _variant(self, locale: str | None, key: str) -> tuple[str | None, str, int]:
        if len(self.locales) < 2:
            return None, "", 0
        locale = locale or self.locales[0]
        return locale, key, self.locales.index(locale)

    def _folder(self, folder: Folder, path: str) -> Page | None:
        rel = under(path, folder.folder)
        if rel is None or not rel.endswith("." + folder.extension):
            return None
        rel = rel[:-len(folder.extension) - 1]
        locale = None
        multilingual = folder.i18n in ("multiple_folders", "multiple_files") and \
            len(self.locales) > 1
        if multilingual and folder.i18n == "multiple_folders":
            head, _, rest = rel.partition("/")
            if head not in self.locales or not rest:
                return None
            locale, rel = head, rest
        elif multilingual:
            stem, dot, suffix = rel.rpartition(".")
            if dot and suffix in self.locales:
                locale, rel = suffix, stem
            else:
                locale = self.locales[0]
        parts = rel.split("/")
        if folder.path is not None:
            slug = _template_slug(folder.path, rel)
            if slug is None:
                return None
        elif len(parts) > folder.depth or any(not part for part in parts):
            return None
        else:
            slug = _template_slug(folder.slug, parts[-1]) if len(parts) == 1 else None
            if slug is None:  # a nested entry: `a/b/index` is named by its folders
                slug = slugify("-".join(parts[:-1] if parts[-1] == "index" and len(parts) > 1
                                        else parts))
        key = ""
        if multilingual:
            default = self.locales[0]
            if folder.i18n == "multiple_folders":
                key = join(folder.folder, default, rel) + "." + folder.extension
            else:  # every locale's file has its suffix, the default's too: `post.en.md`
                key = join(folder.folder, rel) + f".{default}.{folder.extension}"
        return Page(folder.name, slug or "index", locale if multilingual else None, key,
                    self.locales.index(locale) if multilingual and locale else 0)


def _template_slug(template: str, text: str) -> str | None:
    """The slug a rendered Decap template holds: its `{{slug}}` part (else the whole text),
    or None when the text does not have the template's shape."""
    shape, named = _template(template)
    found = shape.fullmatch(text)
    if found is None:
        return None
    return slugify(found.group("slug") if named else text.rpartition("/")[2]) or "index"


@lru_cache(maxsize=256)
def _template(template: str) -> tuple[re.Pattern[str], bool]:
    pattern = []
    position = 0
    named = False
    for match in _PLACEHOLDER.finditer(template):
        pattern.append(re.escape(template[position:match.start()]))
        name = match.group(1)
        if name == "slug" and not named:
            pattern.append("(?P<slug>[^/]+?)")
            named = True
        else:
            pattern.append(f"(?:{_DATE_PARTS.get(name, '[^/]+?')})")
        position = match.end()
    pattern.append(re.escape(template[position:]))
    return re.compile("".join(pattern)), named


def read_decap(data: Any, file: str = "config.yml") -> Decap:
    """The collections of a parsed config.yml. Never raises: what is not understood is a
    warning naming the collection and key."""
    warnings: list[str] = []
    if not isinstance(data, dict):
        return Decap(warnings=(f"{file}: not a mapping; no Decap collections read",))
    found_i18n = data.get("i18n")
    i18n: dict[Any, Any] = found_i18n if isinstance(found_i18n, dict) else {}
    locales = tuple(str(x) for x in i18n.get("locales") or () if isinstance(x, str))
    default = i18n.get("default_locale")
    if isinstance(default, str) and default in locales:
        locales = (default, *(x for x in locales if x != default))
    structure = i18n.get("structure", "multiple_folders")
    folders: list[Folder] = []
    files: list[File] = []
    for index, collection in enumerate(data.get("collections") or ()):
        if not isinstance(collection, dict) or not isinstance(collection.get("name"), str):
            warnings.append(f"{file}: collections[{index}] has no name; skipped")
            continue
        name = collection["name"]
        own = collection.get("i18n")
        kind = None
        if own is True:
            kind = structure
        elif isinstance(own, dict):
            kind = own.get("structure", structure)
        if isinstance(collection.get("files"), list):
            for item in collection["files"]:
                if isinstance(item, dict) and isinstance(item.get("file"), str):
                    files.append(File(name, str(item.get("name") or item["file"]),
                                      join(item["file"]), kind))
            continue
        folder = collection.get("folder")
        if not isinstance(folder, str):
            warnings.append(f"{file}: collection {name!r} has neither folder nor files; skipped")
            continue
        fmt = str(collection.get("format") or "frontmatter")
        extension = str(collection.get("extension") or _EXTENSIONS.get(fmt, "md")).lstrip(".")
        nested = collection.get("nested")
        depth = 1
        if isinstance(nested, dict):
            raw = nested.get("depth")
            depth = raw if isinstance(raw, int) and raw > 0 else 100
        rule = collection.get("filter")
        found_filter = None
        if isinstance(rule, dict) and isinstance(rule.get("field"), str) and \
                rule.get("value") is not None and not isinstance(rule.get("value"), (dict, list)):
            value = rule["value"]
            found_filter = (rule["field"], "true" if value is True else "false"
                            if value is False else str(value))
        elif rule is not None:
            warnings.append(f"{file}: collection {name!r}: filter is not a field and a value; "
                            f"read without it")
        path = collection.get("path")
        folders.append(Folder(name, join(folder), extension, depth,
                              str(path).strip("/") if isinstance(path, str) else None,
                              str(collection.get("slug") or "{{slug}}"), found_filter,
                              kind if kind != "single_file" else None))
    return Decap(tuple(folders), tuple(files), locales if len(locales) > 1 else (),
                 tuple(warnings))
