"""cometwatch.sites.eleventy: the Markdown templates Eleventy builds."""

from __future__ import annotations

import pytest

from cometwatch.sites.eleventy import Eleventy, read_eleventy
from cometwatch.sites.jsconfig import read_module
from cometwatch.sites.page import Page

CJS_CONFIG = b"""const { DateTime } = require("luxon");
const pluginRss = require("@11ty/eleventy-plugin-rss");

const INPUT = "src";

module.exports = function (eleventyConfig) {
  eleventyConfig.addPlugin(pluginRss);
  eleventyConfig.addPassthroughCopy("src/img");
  eleventyConfig.ignores.add("src/notes/private/**");
  eleventyConfig.addFilter("readableDate", (dateObj) =>
    DateTime.fromJSDate(dateObj, { zone: "utc" }).toFormat("dd LLL yyyy"));

  return {
    templateFormats: ["md", "njk", "html"],
    markdownTemplateEngine: "njk",
    dir: {
      input: INPUT,
      includes: "_includes",
      data: "_data",
      output: "dist",
    },
  };
};
"""


def eleventy(config: bytes | None = CJS_CONFIG, files: dict[str, bytes] | None = None,
             name: str = ".eleventy.js") -> Eleventy:
    module = None if config is None else read_module(name, config)
    return read_eleventy("", module, files or {})


PLACES = [
    ("src/posts/first-post.md", Page("posts", "first-post")),
    ("src/posts/2022-08-02-dated.md", Page("posts", "dated")),
    ("src/posts/bundle/index.md", Page("posts", "bundle")),
    ("src/about.md", Page("pages", "about")),
    ("src/index.md", Page("pages", "index")),
    ("src/_includes/partial.md", None),  # includes under the input folder, not at the root
    ("src/_data/notes.md", None),
    ("src/notes/private/secret.md", None),  # ignores.add
    ("src/notes/public.md", Page("notes", "public")),
    ("src/node_modules/pkg/README.md", None),
    ("README.md", None),  # outside the input folder
    ("dist/posts/first-post/index.md", None),
    ("src/page.njk", None),
]


@pytest.mark.parametrize(("path", "expected"), PLACES)
def test_the_input_folder_and_its_includes_decide_what_is_a_template(
        path: str, expected: Page | None) -> None:
    site = eleventy()
    assert site.place(path) == expected
    assert site.warnings == ()


def test_esm_config_with_set_input_directory_and_an_exported_config() -> None:
    site = eleventy(b"""
export default async function (eleventyConfig) {
  eleventyConfig.setInputDirectory("content");
  eleventyConfig.setUseGitIgnore(false);
}
export const config = { dir: { includes: "../layouts" } };
""", files={".gitignore": b"content/ignored.md\n"}, name="eleventy.config.mjs")
    assert site.place("content/blog/a.md") == Page("blog", "a")
    assert site.place("content/ignored.md") is not None  # .gitignore not used
    assert site.place("layouts/base.md") is None
    assert site.place("src/a.md") is None


def test_without_a_config_the_project_root_is_the_input() -> None:
    site = eleventy(None)
    assert site.place("README.md") == Page("pages", "readme")  # Eleventy renders it too
    assert site.place("_includes/x.md") is None
    assert site.place("_site/x.md") is None
    assert site.place("blog/x.md") == Page("blog", "x")


def test_eleventyignore_and_gitignore_lines_are_read_from_their_folder() -> None:
    site = eleventy(files={
        ".eleventyignore": b"# comment\nREADME.md\nsrc/drafts/\n!src/drafts/keep.md\n",
        "src/.eleventyignore": b"scratch\n*.tmp.md\n",
        ".gitignore": b"node_modules\n/src/generated\n",
    })
    assert site.place("src/drafts/a.md") is None
    assert site.place("src/drafts/keep.md") is None  # negations are not supported by Eleventy
    assert site.place("src/scratch/a.md") is None
    assert site.place("src/x.tmp.md") is None
    assert site.place("src/posts/x.tmp.md") is not None  # anchored at the file's folder
    assert site.place("src/generated/a.md") is None
    assert site.place("src/posts/a.md") is not None


def test_template_formats_without_md_build_no_markdown() -> None:
    site = eleventy(b"module.exports = (c) => { c.setTemplateFormats('njk,html'); };")
    assert site.place("a.md") is None


def test_data_files_give_front_matter_defaults_down_the_folders() -> None:
    site = eleventy(files={
        "src/posts/posts.11tydata.json": b'{"eleventyExcludeFromCollections": true, "x": 1}',
        "src/posts/drafts/drafts.11tydata.json": b'{"permalink": false}',
        "src/posts/drafts/special.11tydata.js":
            b"module.exports = { permalink: '/special/', draft: true };",
        "src/other/other.11tydata.json": b"{broken",
    })
    assert site.front_defaults("src/posts/a.md") == {"eleventyExcludeFromCollections": True}
    assert site.front_defaults("src/posts/drafts/b.md") == {
        "eleventyExcludeFromCollections": True, "permalink": False}
    assert site.front_defaults("src/posts/drafts/special.md") == {
        "eleventyExcludeFromCollections": True, "permalink": "/special/", "draft": True}
    assert site.front_defaults("src/about.md") == {}
    assert site.warnings == ("src/other/other.11tydata.json: not JSON (Expecting property name "
                             "enclosed in double quotes: line 1 column 2 (char 1)); its "
                             "defaults are not read",)


def test_a_computed_input_is_one_warning_and_the_default() -> None:
    site = eleventy(CJS_CONFIG.replace(b"input: INPUT,", b"input: process.env.INPUT,"))
    assert site.warnings == (".eleventy.js:17: dir.input is not a literal (process.env.INPUT); "
                             "using '.'; set [repository] content_dir in webhooks.toml to "
                             "choose",)
    assert site.place("src/posts/a.md") == Page("src", "a")


def test_a_broken_config_is_a_warning_and_the_defaults() -> None:
    site = eleventy(b"module.exports = function (c) { return {dir: {input: 'src'}; };")
    assert "syntax error" in site.warnings[0]
    assert site.place("blog/a.md") == Page("blog", "a")


@pytest.mark.parametrize(("scripts", "expected"), [
    ('{"build": "eleventy --input=content"}', "content"),
    ('{"start": "npx @11ty/eleventy --serve --input ./site", "build": "eleventy"}', "site"),
    ('{"build": "cross-env ELEVENTY_ENV=prod npx @11ty/eleventy --input=src/pages"}',
     "src/pages"),
    ('{"build": "webpack"}', None),
    ('{"build": "eleventy --input=\\"unclosed"}', None),
])
def test_the_input_a_package_script_runs_eleventy_with(scripts: str, expected: str | None) -> None:
    from cometwatch.sites.eleventy import cli_input

    assert cli_input(f'{{"scripts": {scripts}}}'.encode()) == expected


def test_the_command_line_input_beats_the_config() -> None:
    site = eleventy(files={"package.json": b'{"scripts": {"build": "eleventy --input=pages"}}'})
    assert site.place("pages/a/b.md") == Page("a", "b")
    assert site.place("src/posts/a.md") is None
