"""Docusaurus, Astro and Eleventy sites read as their own configs define them, on real
repositories: the entries cometwatch sees at a commit are the pages the tool builds."""

from __future__ import annotations

from conftest import Site, post
from jssite import entries, events

DOCUSAURUS_CONFIG = """import type {Config} from '@docusaurus/types';
import type * as Preset from '@docusaurus/preset-classic';

const isProd = process.env.NODE_ENV === 'production';

const config: Config = {
  title: 'Project',
  url: 'https://project.example',
  baseUrl: '/',
  i18n: {defaultLocale: 'en', locales: ['en', 'fr']},
  presets: [
    [
      'classic',
      {
        docs: {
          path: '../docs',
          sidebarPath: './sidebars.ts',
        },
        blog: {showReadingTime: true},
      } satisfies Preset.Options,
    ],
  ],
  plugins: [
    [
      require.resolve('@docusaurus/plugin-content-docs'),
      {id: 'community', path: 'community', routeBasePath: 'community'},
    ],
    isProd && '@docusaurus/plugin-ideal-image',
  ],
};

export default config;
"""

DOCUSAURUS_TOML = '[repository]\npreset = "docusaurus"\nsite_dir = "website"\n'


def docusaurus_site(site: Site) -> None:
    site.write("README.md", "# The project\n")
    site.write("src/main.py", "print('code')\n")
    site.write("website/docusaurus.config.ts", DOCUSAURUS_CONFIG)
    site.write("website/versions.json", '["1.0"]\n')
    site.write("docs/intro.md", post("id: intro\ntitle: Intro"))
    site.write("docs/guides/setup.md", post("id: setup\ntitle: Setup"))
    site.write("docs/_partials/note.mdx", "A partial.\n")
    site.write("website/versioned_docs/version-1.0/intro.md", post("id: intro\ntitle: Intro"))
    site.write("website/i18n/fr/docusaurus-plugin-content-docs/current/intro.md",
               post("id: intro\ntitle: Intro (fr)"))
    site.write("website/i18n/de/docusaurus-plugin-content-docs/current/intro.md",
               post("id: intro"))
    site.write("website/community/support.md", post("id: intro\ntitle: Support"))
    site.write("website/blog/2024-01-02-release.md", post("title: Release"))
    site.write("website/blog/2024-02-01-draft.md", post("title: Later\ndraft: true"))
    site.write("website/src/pages/about.md", post("title: About"))


def test_docusaurus_entries_are_the_plugins_pages_with_ids_unique_per_file(site: Site) -> None:
    docusaurus_site(site)
    site.commit()
    seen, warnings = entries(site, DOCUSAURUS_TOML)
    assert warnings == []
    assert {path: (e.type, e.slug, e.published) for path, e in seen.items()} == {
        "docs/intro.md": ("docs", "intro", True),
        "docs/guides/setup.md": ("docs", "guides-setup", True),
        "website/versioned_docs/version-1.0/intro.md": ("docs", "intro", True),
        "website/i18n/fr/docusaurus-plugin-content-docs/current/intro.md":
            ("docs", "intro", True),
        "website/community/support.md": ("community", "support", True),
        "website/blog/2024-01-02-release.md": ("blog", "release", True),
        "website/blog/2024-02-01-draft.md": ("blog", "draft", False),
        "website/src/pages/about.md": ("pages", "about", True),
    }
    # `id: intro` in four plugins, versions and locales is no entry id
    ids = [e.id for path, e in seen.items() if "/i18n/" not in path]
    assert len(set(ids)) == len(ids)
    assert "intro" not in ids


def test_a_docusaurus_config_edit_retypes_entries_at_that_commit(site: Site) -> None:
    docusaurus_site(site)
    site.commit()
    site.write("website/docusaurus.config.ts", DOCUSAURUS_CONFIG.replace(
        "{id: 'community', path: 'community'", "{id: 'help', path: 'community'"))
    retyped = site.commit()
    out, _ = events(site, DOCUSAURUS_TOML)
    assert [(name, kind, path) for commit, name, kind, path in out if commit == retyped] == [
        ("content.updated", "help", "website/community/support.md")]


def test_a_computed_docusaurus_path_is_one_warning_and_the_default(site: Site) -> None:
    docusaurus_site(site)
    site.write("website/docusaurus.config.ts",
               DOCUSAURUS_CONFIG.replace("path: '../docs',", "path: process.env.DOCS,"))
    site.write("website/docs/local.md", post("title: Local"))
    site.commit()
    seen, warnings = entries(site, DOCUSAURUS_TOML)
    assert warnings == [
        "website/docusaurus.config.ts:16: presets[0][1].docs.path is not a literal "
        "(process.env.DOCS); using 'docs'; set [repository] collections in webhooks.toml to "
        "choose"]
    assert "website/docs/local.md" in seen
    assert "docs/intro.md" not in seen


def test_a_broken_docusaurus_config_keeps_the_rules_it_gave(site: Site) -> None:
    docusaurus_site(site)
    site.commit()
    site.write("website/docusaurus.config.ts",
               DOCUSAURUS_CONFIG.replace("presets: [", "presets: [["))
    site.write("docs/new.md", post("title: New"))
    site.commit()
    out, warnings = events(site, DOCUSAURUS_TOML)
    assert any("website/docusaurus.config.ts" in w and "syntax error" in w for w in warnings)
    assert ("content.created", "docs", "docs/new.md") in [(n, k, p) for _, n, k, p in out]
