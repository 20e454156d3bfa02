"""Docusaurus, Astro and Eleventy sites read as their own configs define them, on real
repositories: the entries cometwatch sees at a commit are the pages the tool builds."""

from __future__ import annotations

import json

import pytest
from conftest import Site, post
from jssite import entries, events

from cometwatch.cli import main

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


ASTRO_CONTENT = """import { defineCollection, z } from 'astro:content';
import { glob } from 'astro/loaders';

const BASE = './src/data/post';

const post = defineCollection({
  loader: glob({ pattern: '**/*.{md,mdx}', base: BASE }),
  schema: z.object({ title: z.string(), pubDate: z.coerce.date() }),
});

export const collections = { post };
"""


def test_astro_glob_loader_entries_and_the_migration_to_it(site: Site) -> None:
    site.write("astro.config.mjs", "import { defineConfig } from 'astro/config';\n"
               "export default defineConfig({});\n")
    site.write("src/content/post/first.md", post("title: First"))
    site.write("src/content/post/second.md", post("title: Second"))
    legacy = site.commit()
    site.move("src/content/post/first.md", "src/data/post/first.md")
    site.move("src/content/post/second.md", "src/data/post/second.md")
    site.write("src/content.config.ts", ASTRO_CONTENT)
    migrated = site.commit()
    toml = '[repository]\npreset = "astro"\n'
    seen, warnings = entries(site, toml)
    assert warnings == []
    assert {p: (e.type, e.slug) for p, e in seen.items()} == {
        "src/data/post/first.md": ("post", "first"), "src/data/post/second.md": ("post", "second")}
    out, _ = events(site, toml)
    assert [(n, p) for c, n, _, p in out if c == legacy] == [
        ("content.created", "src/content/post/first.md"),
        ("content.published", "src/content/post/first.md"),
        ("content.created", "src/content/post/second.md"),
        ("content.published", "src/content/post/second.md")]
    # the move to the glob loader's base is a rename of each post, never unpublished + deleted
    assert [(n, p) for c, n, _, p in out if c == migrated] == [
        ("content.updated", "src/data/post/first.md"),
        ("content.updated", "src/data/post/second.md")]


ELEVENTY_CONFIG = """const INPUT = "src";

module.exports = function (eleventyConfig) {
  eleventyConfig.addPassthroughCopy("src/img");
  return {
    dir: { input: INPUT, includes: "_includes", output: "_site" },
  };
};
"""


def test_eleventy_input_folder_types_entries_by_their_folder_under_it(site: Site) -> None:
    site.write(".eleventy.js", ELEVENTY_CONFIG)
    site.write(".eleventyignore", "README.md\n")
    site.write("README.md", "# readme\n")
    site.write("src/posts/first.md", post("title: First"))
    site.write("src/about.md", post("title: About"))
    site.write("src/_includes/layout.md", post("title: layout"))
    site.write("src/drafts/x.md", post("title: X"))
    site.write(".gitignore", "src/drafts\n")
    site.commit()
    seen, warnings = entries(site, '[repository]\npreset = "eleventy"\n')
    assert warnings == []
    assert {p: (e.type, e.slug) for p, e in seen.items()} == {
        "src/posts/first.md": ("posts", "first"), "src/about.md": ("pages", "about")}


def test_eleventy_permalink_false_is_unpublished_and_excluded_pages_are_unlisted(
        site: Site) -> None:
    site.write(".eleventy.js", ELEVENTY_CONFIG)
    site.write("src/404.md", post("title: Not found\neleventyExcludeFromCollections: true"))
    site.write("src/feeds/data.md", post("title: Data only\npermalink: false"))
    site.write("src/posts/first.md", post("title: First"))
    site.write("src/posts/hidden.md", post("title: Hidden"))
    site.write("src/posts/hidden.11tydata.json", '{"permalink": false}')
    site.write("src/notes/notes.11tydata.json", '{"eleventyExcludeFromCollections": true}')
    site.write("src/notes/a.md", post("title: A"))
    site.write("src/notes/b.md", post("title: B\neleventyExcludeFromCollections: false"))
    site.write("src/wip/wip.11tydata.json", '{"draft": true}')
    site.write("src/wip/c.md", post("title: C"))
    site.write("src/wip/d.md", post("title: D\ndraft: false"))
    site.commit()
    seen, warnings = entries(site, '[repository]\npreset = "eleventy"\n')
    assert warnings == []
    assert {p: (e.published, e.status) for p, e in seen.items()} == {
        "src/404.md": (True, "unlisted"),
        "src/feeds/data.md": (False, "unrendered"),
        "src/posts/first.md": (True, "published"),
        "src/posts/hidden.md": (False, "unrendered"),
        "src/notes/a.md": (True, "unlisted"),
        "src/notes/b.md": (True, "published"),
        "src/wip/c.md": (False, "draft"),
        "src/wip/d.md": (True, "published"),
    }


def test_docusaurus_unlisted_docs_are_published_and_say_so(site: Site) -> None:
    docusaurus_site(site)
    site.write("docs/secret.md", post("title: Secret\nunlisted: true"))
    site.commit()
    seen, _ = entries(site, DOCUSAURUS_TOML)
    assert (seen["docs/secret.md"].published, seen["docs/secret.md"].status) == (True,
                                                                                 "unlisted")


def test_entries_json_lists_docusaurus_pages_with_versions_and_locales(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    docusaurus_site(site)
    site.write("webhooks.toml", DOCUSAURUS_TOML)
    site.commit()
    capsys.readouterr()
    assert main(["--config", str(site.root / "webhooks.toml"), "entries", "--json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    rows = {row["path"]: row for row in map(json.loads, out.splitlines())}
    assert {path: (r["type"], r["version"], r["locale"]) for path, r in rows.items()} == {
        "docs/intro.md": ("docs", "current", "en"),
        "docs/guides/setup.md": ("docs", "current", "en"),
        "website/versioned_docs/version-1.0/intro.md": ("docs", "1.0", "en"),
        "website/i18n/fr/docusaurus-plugin-content-docs/current/intro.md":
            ("docs", "current", "fr"),
        "website/community/support.md": ("community", None, "en"),
        "website/blog/2024-01-02-release.md": ("blog", None, "en"),
        "website/blog/2024-02-01-draft.md": ("blog", None, "en"),
        "website/src/pages/about.md": ("pages", None, "en"),
    }
    assert rows["docs/intro.md"]["title"] == "Intro"


DECAP_CONFIG = """backend:
  name: git-gateway
  branch: main
publish_mode: editorial_workflow
collections:
  - name: docs
    folder: content/docs
    create: true
  - name: widgets
    folder: content/docs/widgets
  - name: start
    folder: content/guides
    filter: {field: group, value: start}
  - name: reference
    folder: content/guides
    filter: {field: group, value: reference}
  - name: pages
    files:
      - {name: about, file: content/about.md}
"""


def test_decap_beside_hugo_refines_its_collections_by_folder_and_by_field(site: Site) -> None:
    site.write("hugo.toml", 'baseURL = "https://example.org/"\n')
    site.write("static/admin/config.yml", DECAP_CONFIG)
    site.write("content/docs/intro.md", post("title: Intro"))
    site.write("content/docs/widgets/string.md", post("title: String"))
    site.write("content/guides/a.md", post("title: A\ngroup: start"))
    site.write("content/guides/b.md", post("title: B\ngroup: reference"))
    site.write("content/guides/c.md", post("title: C"))
    site.write("content/about.md", post("title: About"))
    site.write("content/posts/draft.md", post("title: D\ndraft: true"))
    site.commit()
    toml = '[repository]\npreset = "hugo"\n'
    seen, warnings = entries(site, toml)
    assert warnings == []
    assert {p: (e.type, e.published) for p, e in seen.items()} == {
        "content/docs/intro.md": ("docs", True),
        "content/docs/widgets/string.md": ("widgets", True),
        "content/guides/a.md": ("start", True),
        "content/guides/b.md": ("reference", True),
        "content/guides/c.md": ("guides", True),  # no filter matches: Hugo's section
        "content/about.md": ("pages", True),
        "content/posts/draft.md": ("posts", False),  # Hugo still decides what is published
    }
    # an edit of the filter field moves the entry to the other collection
    site.write("content/guides/a.md", post("title: A\ngroup: reference"))
    moved = site.commit()
    out, _ = events(site, toml)
    assert [(n, k, p) for c, n, k, p in out if c == moved] == [
        ("content.updated", "reference", "content/guides/a.md")]


def test_decap_alone_makes_its_collections_the_entries(site: Site) -> None:
    site.write("admin/config.yml", DECAP_CONFIG)
    site.write("content/docs/intro.md", post("title: Intro"))
    site.write("content/docs/sub/deep.md", post("title: Deep"))  # not nested: not Decap's
    site.write("content/guides/a.md", post("title: A\ngroup: start"))
    site.write("content/about.md", post("title: About"))
    site.write("README.md", "# readme\n")
    site.commit()
    seen, warnings = entries(site, '[repository]\npreset = "decap"\n')
    assert warnings == []
    assert {p: e.type for p, e in seen.items()} == {
        "content/docs/intro.md": "docs", "content/guides/a.md": "start",
        "content/about.md": "pages"}


def test_a_broken_decap_config_is_a_warning_naming_its_line(site: Site) -> None:
    site.write("admin/config.yml", DECAP_CONFIG)
    site.write("content/docs/intro.md", post("title: Intro"))
    site.commit()
    site.write("admin/config.yml", DECAP_CONFIG + "  - name: [broken\n")
    site.write("content/docs/two.md", post("title: Two"))
    site.commit()
    out, warnings = events(site, '[repository]\npreset = "decap"\n')
    assert any(w.startswith("admin/config.yml line 21") and "not YAML" in w for w in warnings)
    assert ("content.created", "docs", "content/docs/two.md") in [(n, k, p) for _, n, k, p in out]


def test_astro_dates_are_read_as_javascript_reads_them(site: Site) -> None:
    site.write("src/content.config.ts", ASTRO_CONTENT)
    site.write("src/data/post/old.md", post("title: Old\npubDate: 'Jul 08 2022'"))
    site.write("src/data/post/later.md", post("title: Later\npubDate: 'Aug 02 2099'"))
    site.commit()
    # Astro builds a page whatever its pubDate says: a schedule is webhooks.toml's to ask for
    seen, warnings = entries(site, '[repository]\npreset = "astro"\n'
                                   'publish_date_fields = ["pubDate"]\n')
    assert warnings == []  # no "broken frontmatter"
    assert (seen["src/data/post/old.md"].published, seen["src/data/post/later.md"].status) == (
        True, "scheduled")


STARLIGHT_CONFIG = """import { defineConfig } from 'astro/config';
import starlight from '@astrojs/starlight';

export default defineConfig({
  integrations: [
    starlight({
      title: 'Docs',
      defaultLocale: 'root',
      locales: {
        root: { label: 'English', lang: 'en' },
        fr: { label: 'Français', lang: 'fr' },
      },
    }),
  ],
});
"""

STARLIGHT_CONTENT = """import { defineCollection } from 'astro:content';
import { docsLoader } from '@astrojs/starlight/loaders';
import { docsSchema } from '@astrojs/starlight/schema';

export const collections = {
  docs: defineCollection({ loader: docsLoader(), schema: docsSchema() }),
};
"""


def test_starlight_translations_are_variants_of_one_entry(site: Site) -> None:
    site.write("astro.config.mjs", STARLIGHT_CONFIG)
    site.write("src/content.config.ts", STARLIGHT_CONTENT)
    site.write("src/content/docs/concepts/why-astro.mdx", post("title: Why Astro"))
    site.write("src/content/docs/fr/concepts/why-astro.mdx", post("title: Pourquoi Astro"))
    site.write("src/content/docs/guides/1.md", post("title: One"))
    site.write("src/content/docs/reference/1.md", post("title: Also one"))
    site.commit()
    seen, warnings = entries(site, '[repository]\npreset = "astro"\n')
    assert warnings == []
    en, fr = (seen["src/content/docs/concepts/why-astro.mdx"],
              seen["src/content/docs/fr/concepts/why-astro.mdx"])
    assert (en.id, en.type, en.slug) == (fr.id, fr.type, fr.slug) == (
        en.id, "docs", "concepts-why-astro")
    assert seen["src/content/docs/guides/1.md"].slug == "guides-1"
    ids = {e.id for e in seen.values()}
    assert len(ids) == 3  # one entry per page, whatever its locales


def test_docusaurus_translations_share_their_entrys_id(site: Site) -> None:
    docusaurus_site(site)
    site.commit()
    seen, _ = entries(site, DOCUSAURUS_TOML)
    assert seen["website/i18n/fr/docusaurus-plugin-content-docs/current/intro.md"].id == \
        seen["docs/intro.md"].id
    assert len({e.id for e in seen.values()}) == len(seen) - 1


def test_decap_editorial_workflow_branches_stay_out_until_merged(site: Site) -> None:
    site.write("admin/config.yml", DECAP_CONFIG)
    site.write("content/docs/intro.md", post("title: Intro"))
    site.commit()
    site.git("checkout", "-q", "-b", "cms/docs/new-page")
    site.write("content/docs/new-page.md", post("title: New page"))
    site.commit("Create Docs “new-page”")
    site.git("checkout", "-q", "main")
    toml = '[repository]\npreset = "decap"\nbranch = "main"\n'
    out, _ = events(site, toml)
    assert [p for _, _, _, p in out] == ["content/docs/intro.md", "content/docs/intro.md"]
    site.git("merge", "-q", "--no-ff", "-m", "Publish", "cms/docs/new-page")
    out, _ = events(site, toml)
    assert ("content.created", "docs", "content/docs/new-page.md") in [
        (n, k, p) for _, n, k, p in out]


def test_the_key_a_warning_names_overrides_what_could_not_be_read(site: Site) -> None:
    site.write("docusaurus.config.ts",
               DOCUSAURUS_CONFIG.replace("path: '../docs',", "path: process.env.DOCS,"))
    site.write("documentation/setup.md", post("title: Setup"))
    site.write("documentation/guides/index.md", post("title: Guides"))
    site.write("blog/2024-01-02-release.md", post("title: Release"))
    site.commit()
    toml = '[repository]\npreset = "docusaurus"\n'
    seen, warnings = entries(site, toml)
    assert len(warnings) == 1 and "set [repository] collections" in warnings[0]
    assert sorted(seen) == ["blog/2024-01-02-release.md"]
    seen, _ = entries(site, toml + 'collections = { "documentation/**" = "docs" }\n')
    assert {p: (e.type, e.slug) for p, e in seen.items()} == {
        "documentation/setup.md": ("docs", "setup"),
        "documentation/guides/index.md": ("docs", "guides"),
        "blog/2024-01-02-release.md": ("blog", "release")}


def test_eleventy_input_given_on_the_command_line_is_content_dir(site: Site) -> None:
    site.write(".eleventy.js",
               "module.exports = function (c) { return {dir: {output: 'dist'}}; };\n")
    site.write("package.json", '{"scripts": {"build": "eleventy --input=site"}}\n')
    site.write("site/blog/a.md", post("title: A"))
    site.write("site/_includes/x.md", post("title: X"))
    site.write("README.md", "# readme\n")
    site.commit()
    for toml in ('[repository]\npreset = "eleventy"\ncontent_dir = "site"\n',
                 '[repository]\npreset = "eleventy"\n'):  # read from package.json's script
        seen, warnings = entries(site, toml)
        assert warnings == []
        assert {p: e.type for p, e in seen.items()} == {"site/blog/a.md": "blog"}
