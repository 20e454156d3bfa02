"""cometwatch.sites.docusaurus: the pages Docusaurus's docs, blog and pages plugins build."""

from __future__ import annotations

import pytest

from cometwatch.sites.docusaurus import Docusaurus, read_docusaurus, sidebars_file
from cometwatch.sites.jsconfig import read_module
from cometwatch.sites.page import Page

CONFIG = b"""
import {themes as prismThemes} from 'prism-react-renderer';
import type {Config} from '@docusaurus/types';
import type * as Preset from '@docusaurus/preset-classic';

const isDeployPreview = !!process.env.NETLIFY && process.env.CONTEXT === 'deploy-preview';
const COMMUNITY = 'community';

const config: Config = {
  title: 'My Site',
  url: 'https://example.com',
  baseUrl: '/',
  i18n: {
    defaultLocale: 'en',
    locales: ['en', 'fr', 'ja'],
  },
  presets: [
    [
      'classic',
      {
        docs: {
          path: '../docs',
          sidebarPath: './sidebars.ts',
          editUrl: ({locale, docPath}) => `https://github.com/x/y/edit/main/${docPath}`,
        },
        blog: {
          showReadingTime: true,
          blogSidebarCount: 'ALL',
        },
        theme: {customCss: './src/css/custom.css'},
      } satisfies Preset.Options,
    ],
  ],
  plugins: [
    [
      require.resolve('@docusaurus/plugin-content-docs'),
      /** @type {import('@docusaurus/plugin-content-docs').Options} */
      ({
        id: COMMUNITY,
        path: COMMUNITY,
        routeBasePath: COMMUNITY,
        sidebarPath: './sidebarsCommunity.js',
      }),
    ],
    isDeployPreview && '@docusaurus/plugin-debug',
  ].filter(Boolean),
  themeConfig: {prism: {theme: prismThemes.github}} satisfies Preset.ThemeConfig,
};

export default config;
"""


def site(config: bytes = CONFIG, files: dict[str, bytes] | None = None,
         present: frozenset[str] = frozenset(), root: str = "website",
         name: str = "docusaurus.config.ts") -> Docusaurus:
    module = read_module(f"{root}/{name}" if root else name, config)
    files = {"versions.json": b'["2.0", "1.0"]'} if files is None else files
    return read_docusaurus(root, module, files, present)


PLACES = [
    # the preset's docs at path '../docs': the repository's docs/ folder
    ("docs/intro.md", Page("docs", "intro", "en", "docs/intro.md", 0, "current")),
    ("docs/guides/01-setup.mdx", Page("docs", "guides-setup", "en",
                                      "docs/guides/01-setup.mdx", 0, "current")),
    ("docs/guides/index.md", Page("docs", "guides", "en", "docs/guides/index.md", 0, "current")),
    ("docs/_partials/shared.mdx", None),  # `_` partials: the docs plugin excludes **/_*
    ("docs/guides/_snippet.md", None),
    ("docs/README.txt", None),
    ("website/docs/intro.md", None),  # not the docs path
    # each version's copy is an entry of its own, in the same collection
    ("website/versioned_docs/version-1.0/intro.md",
     Page("docs", "intro", "en", "website/versioned_docs/version-1.0/intro.md", 0, "1.0")),
    ("website/versioned_docs/version-0.9/intro.md", None),  # not in versions.json
    # translations: locale variants of the file they translate, configured locales only
    ("website/i18n/fr/docusaurus-plugin-content-docs/current/intro.md",
     Page("docs", "intro", "fr", "docs/intro.md", 1, "current")),
    ("website/i18n/ja/docusaurus-plugin-content-docs/version-1.0/intro.md",
     Page("docs", "intro", "ja", "website/versioned_docs/version-1.0/intro.md", 2, "1.0")),
    ("website/i18n/de/docusaurus-plugin-content-docs/current/intro.md", None),
    ("website/i18n/en/docusaurus-plugin-content-docs/current/intro.md", None),
    ("website/i18n/fr/code.json", None),
    # the community docs plugin instance: its own collection, its own translations
    ("website/community/support.md",
     Page("community", "support", "en", "website/community/support.md", 0, None)),
    ("website/i18n/fr/docusaurus-plugin-content-docs-community/current/support.md",
     Page("community", "support", "fr", "website/community/support.md", 1, None)),
    # the blog: dates from file or folder names are not part of the slug
    ("website/blog/2021-08-26-welcome.md",
     Page("blog", "welcome", "en", "website/blog/2021-08-26-welcome.md", 0, None)),
    ("website/blog/2021-08-01-mdx-blog-post/index.mdx",
     Page("blog", "mdx-blog-post", "en", "website/blog/2021-08-01-mdx-blog-post/index.mdx",
          0, None)),
    ("website/blog/2019/05/28/first-post.md",
     Page("blog", "first-post", "en", "website/blog/2019/05/28/first-post.md", 0, None)),
    ("website/blog/authors.yml", None),
    ("website/i18n/fr/docusaurus-plugin-content-blog/2021-08-26-welcome.md",
     Page("blog", "welcome", "fr", "website/blog/2021-08-26-welcome.md", 1, None)),
    # Markdown pages
    ("website/src/pages/markdown-page.md",
     Page("pages", "markdown-page", "en", "website/src/pages/markdown-page.md", 0, None)),
    ("website/src/pages/index.tsx", None),
    ("website/src/components/_x.md", None),
    ("README.md", None),
]


@pytest.mark.parametrize(("path", "expected"), PLACES)
def test_each_file_is_placed_as_the_plugins_build_it(path: str, expected: Page | None) -> None:
    model = site()
    assert model.place(path) == expected
    assert model.warnings == ()


def test_a_locale_the_config_does_not_build_is_no_entry_and_one_locale_is_no_locale() -> None:
    model = site(CONFIG.replace(b"locales: ['en', 'fr', 'ja']", b"locales: ['en']"))
    assert model.place("docs/intro.md") == Page("docs", "intro", None, "docs/intro.md", 0,
                                                "current")
    assert model.place("website/i18n/fr/docusaurus-plugin-content-docs/current/intro.md") \
        is None


def test_include_current_version_false_hides_docs_only_when_the_versions_are_committed() -> None:
    config = CONFIG.replace(b"path: '../docs',", b"path: '../docs', includeCurrentVersion: false,")
    copied = site(config)  # versioned_docs is made by a build script: docs/ is what is built
    assert copied.place("docs/intro.md") is not None
    committed = site(config, present=frozenset({sidebars_file("default", "2.0")}))
    assert committed.place("docs/intro.md") is None
    assert committed.place("website/versioned_docs/version-1.0/intro.md") is not None


def test_only_include_versions_limits_the_versions_built() -> None:
    config = CONFIG.replace(b"path: '../docs',", b"path: '../docs', onlyIncludeVersions: "
                            b"['current', '2.0'],")
    model = site(config)
    assert model.place("website/versioned_docs/version-1.0/intro.md") is None
    assert model.place("website/versioned_docs/version-2.0/intro.md") is not None
    assert model.place("docs/intro.md") is not None


def test_include_and_exclude_options_replace_the_defaults() -> None:
    config = CONFIG.replace(b"path: '../docs',",
                            b"path: '../docs', include: ['**/*.md'], exclude: ['drafts/**'],")
    model = site(config)
    assert model.place("docs/a.mdx") is None
    assert model.place("docs/drafts/a.md") is None
    assert model.place("docs/_a.md") is not None  # the default exclude was replaced


def test_a_site_at_the_top_with_module_exports_and_defaults() -> None:
    config = b"""// @ts-check
/** @type {import('@docusaurus/types').Config} */
const config = {
  presets: [['@docusaurus/preset-classic', /** @type {any} */ ({blog: false})]],
};
module.exports = config;
"""
    model = site(config, files={}, root="", name="docusaurus.config.js")
    assert model.place("docs/a.md") == Page("docs", "a", None, "docs/a.md", 0, None)
    assert model.place("blog/2020-01-01-x.md") is None  # blog: false


def test_without_a_config_the_plugins_defaults_apply() -> None:
    model = read_docusaurus("", None, {})
    assert model.place("docs/a.md") == Page("docs", "a", None, "docs/a.md", 0, None)
    assert model.place("blog/x.md") is not None


def test_a_computed_path_is_one_warning_naming_file_line_key_default_and_override() -> None:
    config = CONFIG.replace(b"path: '../docs',", b"path: process.env.DOCS_PATH,")
    model = site(config)
    assert model.warnings == (
        "website/docusaurus.config.ts:22: presets[0][1].docs.path is not a literal "
        "(process.env.DOCS_PATH); using 'docs'; set [repository] collections in webhooks.toml "
        "to choose",)
    assert model.place("website/docs/intro.md") is not None


def test_a_broken_config_is_a_warning_and_the_defaults() -> None:
    model = site(b"export default {presets: [", root="")
    assert len(model.warnings) == 1 and "syntax error" in model.warnings[0]
    assert model.place("docs/a.md") is not None


def test_a_broken_versions_file_is_a_warning() -> None:
    model = site(files={"versions.json": b"{not json"})
    assert any("versions.json: not JSON" in w for w in model.warnings)
    assert model.place("website/versioned_docs/version-1.0/intro.md") is None


@pytest.mark.parametrize(("route", "collection"), [
    ("'/'", "docs"), ("'docs'", "docs"), ("'/guides/'", "guides"), ("'api/v2'", "v2")])
def test_the_default_docs_instance_is_named_by_its_route_base(route: str,
                                                              collection: str) -> None:
    config = f"module.exports = {{presets: [['classic', {{docs: {{routeBasePath: {route}}}, " \
             f"blog: {{routeBasePath: 'news'}}}}]]}};".encode()
    model = site(config, files={}, root="", name="docusaurus.config.js")
    assert model.place("docs/a.md") == Page(collection, "a", None, "docs/a.md", 0, None)
    assert model.place("blog/x.md") == Page("news", "x", None, "blog/x.md", 0, None)
