"""Pure: the Markdown templates an Eleventy site builds.

Read statically from the config (`.eleventy.js`, `eleventy.config.{js,mjs,cjs}`, the first
found, as Eleventy looks): `dir` (`input`, `includes`, `layouts`, `data`, `output`) from the
config function's returned object or `export const config`, the `setInputDirectory`-style calls,
`templateFormats` / `setTemplateFormats`, `ignores.add` / `ignores.delete` and
`setUseGitIgnore`; `--input` from package.json's scripts (the command line wins). Then
`.eleventyignore` (project root and input folder) and `.gitignore`
as Eleventy applies them: each line a path or glob from that file's folder, negations skipped.
Directory and template data files (`*.11tydata.json`, and `.11tydata.js` read statically) give
front matter defaults: `permalink: false` (never written), `eleventyExcludeFromCollections`
(written, not listed), `draft`.

An entry's collection is its first folder under the input folder (`pages` at the top); its
slug is Eleventy's `page.fileSlug` (the name without a `YYYY-MM-DD-` date; `index` takes its
folder's name).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cometwatch.entry import slugify
from cometwatch.sites.jsconfig import Call, JSObject, Module, Unknown, Value, read_module
from cometwatch.sites.jsglob import any_match
from cometwatch.sites.page import Page, join, under

CONFIG_NAMES = (".eleventy.js", "eleventy.config.js", "eleventy.config.mjs",
                "eleventy.config.cjs")
DATA_SUFFIXES = (".11tydata.json", ".11tydata.js", ".11tydata.cjs", ".11tydata.mjs")
DEFAULT_FIELDS = ("permalink", "eleventyExcludeFromCollections", "draft")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}-")
_DIR_SETTERS = {"setInputDirectory": "input", "setIncludesDirectory": "includes",
                "setLayoutsDirectory": "layouts", "setDataDirectory": "data",
                "setOutputDirectory": "output"}

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Eleventy:
    root: str
    input: str  # repository folders
    includes: str
    layouts: str
    data: str
    output: str
    markdown: bool = True  # `md` is among the template formats
    ignores: tuple[str, ...] = ()  # globs over repository paths
    defaults: tuple[tuple[str, tuple[tuple[str, Scalar], ...]], ...] = ()  # data file → values
    warnings: tuple[str, ...] = ()

    def place(self, path: str) -> Page | None:
        rel = under(path, self.input)
        if rel is None or not self.markdown or not path.endswith(".md"):
            return None
        for folder in (self.includes, self.layouts, self.data, self.output):
            if folder and under(path, folder) is not None:
                return None
        if any_match(path, self.ignores):
            return None
        folders = rel.split("/")[:-1]
        stem = rel.rpartition("/")[2][:-3]
        if stem == "index" and folders:
            stem = folders[-1]
        slug = slugify(_DATE.sub("", stem, count=1)) or "index"
        collection = folders[0] if folders else "pages"
        defaults = self.front_defaults(path) if self.defaults else {}
        return Page(collection, slug, defaults=tuple(sorted(defaults.items())))

    def front_defaults(self, path: str) -> dict[str, Scalar]:
        """The data cascade's values for `DEFAULT_FIELDS` at a template: directory data files
        from the input folder down, then the template's own data file (the later wins)."""
        folder, _, name = path.rpartition("/")
        stem = name.rpartition(".")[0]
        own = {f"{folder}/{stem}" if folder else stem}
        chain: list[str] = []
        parts = folder.split("/") if folder else []
        for depth in range(len(parts) + 1):
            here = "/".join(parts[:depth])
            if depth and (here == self.input or under(here, self.input) is not None):
                chain.append(f"{here}/{parts[depth - 1]}")
        found = dict(self.defaults)
        out: dict[str, Scalar] = {}
        for base in (*chain, *own):
            for suffix in DATA_SUFFIXES:
                values = found.get(base + suffix)
                if values is not None:
                    out.update(values)
        return out


def read_eleventy(root: str, config: Module | None, files: Mapping[str, bytes],
                  input_dir: str | None = None) -> Eleventy:
    """The site from its config module and its other steering files (site-relative path →
    bytes: `.eleventyignore`, `<input>/.eleventyignore`, `.gitignore`, `*.11tydata.*`);
    `input_dir` (site-relative) is webhooks.toml's `content_dir`, which wins. Never raises:
    what cannot be read is a warning, and Eleventy's default is used."""
    warnings: list[str] = []
    dirs = {"input": ".", "includes": "_includes", "layouts": "", "data": "_data",
            "output": "_site"}
    formats: tuple[str, ...] | None = None
    git_ignore = True
    added: list[str] = []
    removed: set[str] = set()
    if config is not None and config.error:
        warnings.append(f"{config.error}: Eleventy's defaults are used")
    elif config is not None:
        for value in (config.default, config.exports.get("config")):
            if isinstance(value, JSObject):
                _read_dirs(value, dirs, warnings)
                listed = _formats(value.read("templateFormats"), warnings, value)
                formats = listed if listed is not None else formats
        for call in config.setup:
            arg: Value = call.args[0] if call.args else None
            if call.callee in _DIR_SETTERS:
                if isinstance(arg, str):
                    dirs[_DIR_SETTERS[call.callee]] = arg
                else:
                    warnings.append(_call_unknown(call, arg).message(
                        repr(dirs[_DIR_SETTERS[call.callee]]), "[repository] content_dir"))
            elif call.callee == "setTemplateFormats":
                listed = _formats(arg, warnings, None, call)
                formats = listed if listed is not None else formats
            elif call.callee == "addTemplateFormats" and formats is not None:
                formats = (*formats, *(_formats(arg, warnings, None, call) or ()))
            elif call.callee == "setUseGitIgnore" and isinstance(arg, bool):
                git_ignore = arg
            elif call.callee == "ignores.add" and isinstance(arg, str):
                added.append(arg)
            elif call.callee == "ignores.delete" and isinstance(arg, str):
                removed.add(arg)
            elif call.callee.startswith("ignores.") or call.callee == "setUseGitIgnore":
                warnings.append(_call_unknown(call, arg).message("no change to the ignores",
                                                                 "[repository] exclude"))
    if input_dir is None:
        input_dir = cli_input(files.get("package.json"))  # the command line beats the config
    if input_dir is not None:  # webhooks.toml's content_dir, or `eleventy --input=…`
        dirs["input"] = input_dir or "."
        warnings = [w for w in warnings if ": dir.input " not in w
                    and ": setInputDirectory() " not in w]
    input_dir = join(root, dirs["input"])
    includes = join(input_dir, dirs["includes"])
    ignores = ["**/node_modules/**", ".git/**", *(g for g in added if g not in removed)]
    ignores = [join(root, g) if not g.startswith("**") else g for g in ignores]
    for name in dict.fromkeys((".eleventyignore", join(dirs["input"], ".eleventyignore"))):
        ignores.extend(ignore_file(join(root, name.rpartition("/")[0]), files.get(name)))
    if git_ignore:
        ignores.extend(ignore_file(root, files.get(".gitignore")))
    defaults = []
    for name, data in sorted(files.items()):
        if name.endswith(DATA_SUFFIXES):
            values = _data_file(join(root, name), data, warnings)
            if values:
                defaults.append((join(root, name), values))
    return Eleventy(
        root, input_dir, includes,
        join(input_dir, dirs["layouts"]) if dirs["layouts"] else includes,
        join(input_dir, dirs["data"]), join(root, dirs["output"]),
        markdown=formats is None or "md" in formats, ignores=tuple(ignores),
        defaults=tuple(defaults), warnings=tuple(warnings))


def _read_dirs(value: JSObject, dirs: dict[str, str], warnings: list[str]) -> None:
    found = value.read("dir")
    if found is None:
        return
    if not isinstance(found, JSObject):
        warnings.append(value.unreadable("dir", "an object").message(
            "Eleventy's default folders", "[repository] content_dir"))
        return
    for key in dirs:
        item = found.read(key)
        if isinstance(item, str):
            dirs[key] = item
        elif item is not None:
            warnings.append(found.unreadable(key, "a folder").message(
                repr(dirs[key] or dirs["includes"]), "[repository] content_dir" if key == "input"
                else "[repository] exclude"))


def _formats(value: Value, warnings: list[str], where: JSObject | None,
             call: Call | None = None) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(","))
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return tuple(str(v) for v in value)
    unknown = where.unreadable("templateFormats", "a list") if where is not None else \
        _call_unknown(call, value) if call is not None else None
    if unknown is not None:
        warnings.append(unknown.message("Eleventy's default formats (md included)",
                                        "[repository] extensions"))
    return None


def _call_unknown(call: Call, arg: Value) -> Unknown:
    if isinstance(arg, Unknown):
        return arg
    return Unknown(call.file, call.line, tuple(call.callee.split(".")), "not a literal argument")


def cli_input(package_json: bytes | None) -> str | None:
    """The `--input` a package.json script runs Eleventy with (`eleventy --input=src`), the
    `build` script's first; None when no script says."""
    import shlex

    try:
        scripts = json.loads(package_json or b"{}").get("scripts")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    if not isinstance(scripts, dict):
        return None
    ordered = sorted(scripts.items(), key=lambda item: item[0] != "build")
    for _, command in ordered:
        if not isinstance(command, str) or "eleventy" not in command:
            continue
        try:
            words = shlex.split(command)
        except ValueError:
            continue
        for index, word in enumerate(words):
            if word.startswith("--input="):
                return join(word[len("--input="):])
            if word == "--input" and index + 1 < len(words):
                return join(words[index + 1])
    return None


def ignore_file(folder: str, data: bytes | None) -> list[str]:
    """An ignore file's lines as Eleventy reads them: from the file's folder, a directory
    meaning everything under it; comments, blank lines and negations skipped."""
    if not data:
        return []
    out: list[str] = []
    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", "!")):
            continue
        pattern = join(folder, line.lstrip("/"))
        out.extend((pattern, f"{pattern}/**"))
    return out


def _data_file(name: str, data: bytes, warnings: list[str]) -> tuple[tuple[str, Scalar], ...]:
    value: object
    if name.endswith(".json"):
        try:
            value = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            warnings.append(f"{name}: not JSON ({' '.join(str(exc).split())}); its defaults "
                            f"are not read")
            return ()
        if not isinstance(value, dict):
            return ()
        return tuple((key, value[key]) for key in DEFAULT_FIELDS
                     if isinstance(value.get(key), (str, int, float, bool)))
    module = read_module(name, data)
    found = module.default
    if module.error or not isinstance(found, JSObject):
        return ()
    out: list[tuple[str, Scalar]] = []
    for key in DEFAULT_FIELDS:
        item = found.read(key)
        if isinstance(item, (str, int, float, bool)):
            out.append((key, item))
        elif isinstance(item, Unknown) and item.reason != "a function":
            # a permalink function is computed per page: the page is written, as by default
            warnings.append(item.message("no default from this file", "[repository] exclude"))
    return tuple(out)
