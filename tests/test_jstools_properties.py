"""A site config of any bytes never stops event flow: each tool's parse either reads it or
raises SiteConfigError (the loader keeps the rules it had), and build never raises."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from testing import examples

from cometwatch.sites import SiteBase, SiteConfigError, tool_for

FILES = {
    "docusaurus": ("docusaurus.config.ts", "docusaurus.config.js", "versions.json"),
    "astro": ("astro.config.mjs", "src/content.config.ts", "src/content/config.ts"),
    "eleventy": (".eleventy.js", "eleventy.config.mjs", ".eleventyignore", ".gitignore",
                 "src/posts/posts.11tydata.json", "src/a.11tydata.js"),
    "decap": ("admin/config.yml", "static/admin/config.yml"),
}
_ATOMS = ["export default ", "module.exports = ", "export const collections = ", "{", "}", "[",
          "]", "(", ")", ",", ":", "'docs'", "path", "id", "presets", "plugins", "'classic'",
          "docs", "blog", "i18n", "locales", "defaultLocale", "dir", "input", "glob(",
          "loader", "base", "pattern", "defineCollection(", "starlight(", "integrations",
          "process.env.X", "require.resolve('x')", "true", "null", "1", "...x", "\n",
          "collections:", "- name: a", "  folder: x", "  filter: {field: g, value: v}",
          "i18n: {structure: multiple_files, locales: [en, de]}", "files: [{file: a.md}]"]


def _read(preset: str, files: dict[str, bytes]) -> Any:
    tool = tool_for(preset)
    assert tool is not None
    parsed = {}
    for path, data in files.items():
        if tool.steers(path) is None:
            continue
        try:
            parsed[path] = tool.parse(path, data)
        except SiteConfigError:
            continue
    site = tool.build(parsed, frozenset(), SiteBase())
    for path in ("docs/a.md", "src/content/docs/fr/a.md", "src/a.md", "content/x/a.md",
                 "x/a.md", "a.md", "i18n/de/docusaurus-plugin-content-docs/current/a.md"):
        site.locate(path)
    site.scope()
    return site


@settings(max_examples=examples(150), deadline=None)
@given(st.sampled_from(sorted(FILES)), st.data())
def test_any_bytes_in_a_site_config_never_raise(preset: str, data: st.DataObject) -> None:
    names = data.draw(st.lists(st.sampled_from(FILES[preset]), min_size=1, max_size=3,
                               unique=True))
    files = {name: data.draw(st.binary(max_size=300)) for name in names}
    _read(preset, files)


@settings(max_examples=examples(150), deadline=None)
@given(st.sampled_from(sorted(FILES)), st.data())
def test_near_configs_never_raise(preset: str, data: st.DataObject) -> None:
    names = data.draw(st.lists(st.sampled_from(FILES[preset]), min_size=1, max_size=3,
                               unique=True))
    files = {name: " ".join(data.draw(st.lists(st.sampled_from(_ATOMS), max_size=40))).encode()
             for name in names}
    _read(preset, files)
