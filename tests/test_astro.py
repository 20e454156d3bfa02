"""cometwatch.sites.astro: the entries Astro's content collections load."""

from __future__ import annotations

import pytest

from cometwatch.sites.astro import Astro, astro_slug, read_astro
from cometwatch.sites.jsconfig import read_module
from cometwatch.sites.page import Page

CONTENT_CONFIG = b"""
import { defineCollection, z } from 'astro:content';
import { glob, file } from 'astro/loaders';

const POSTS = './src/data/post';

const post = defineCollection({
  loader: glob({ pattern: '**/*.{md,mdx}', base: POSTS }),
  schema: ({ image }) =>
    z.object({
      title: z.string(),
      pubDate: z.coerce.date(),
      heroImage: image().optional(),
    }),
});

const notes = defineCollection({
  loader: glob({ pattern: ['**/*.md', '!**/drafts/**'], base: 'src/notes' }),
});

const authors = defineCollection({
  loader: glob({ pattern: '**/*.json', base: './src/data/authors' }),
});

const dogs = defineCollection({ loader: file('src/data/dogs.json') });

export const collections = { post, notes, authors, dogs };
"""

ASTRO_CONFIG = b"""// @ts-check
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';
import sitemap from '@astrojs/sitemap';

export default defineConfig({
  site: 'https://example.com',
  integrations: [mdx(), sitemap()],
});
"""


def astro(content: bytes | None = CONTENT_CONFIG, config: bytes = ASTRO_CONFIG) -> Astro:
    return read_astro("", read_module("astro.config.mjs", config),
                      None if content is None else read_module("src/content.config.ts", content))


PLACES = [
    ("src/data/post/first-post.md", Page("post", "first-post")),
    ("src/data/post/2022/Hello World.mdx", Page("post", "2022-hello-world")),
    ("src/data/post/guides/index.md", Page("post", "guides")),
    ("src/data/post/notes.txt", None),
    ("src/notes/a.md", Page("notes", "a")),
    ("src/notes/drafts/b.md", None),  # a negated pattern
    ("src/data/authors/ann.json", None),
    ("src/data/dogs.json", None),
    ("src/content/post/old.md", None),  # the legacy folder is not this collection's base
    ("README.md", None),
]


@pytest.mark.parametrize(("path", "expected"), PLACES)
def test_glob_loaders_give_the_entries_astro_loads(path: str, expected: Page | None) -> None:
    site = astro()
    assert site.place(path) == expected
    assert site.warnings == ()


@pytest.mark.parametrize(("rel", "slug"), [
    ("first-post.md", "first-post"),
    ("Nested/Deep Post.md", "nested-deep-post"),
    ("2022.01.02 notes!.md", "20220102-notes"),
    ("docs/index.mdx", "docs"),
    ("index.md", "index"),
    ("Ünïcode.md", "ünïcode"),
])
def test_the_slug_is_astros_default_id(rel: str, slug: str) -> None:
    assert astro_slug(rel) == slug


def test_legacy_collections_without_a_loader_skip_underscore_files() -> None:
    site = read_astro("", None, read_module("src/content/config.ts", b"""
import { defineCollection, z } from 'astro:content';
const blog = defineCollection({ type: 'content', schema: z.object({}) });
const data = defineCollection({ type: 'data' });
export const collections = { 'blog': blog, data };
"""))
    assert site.place("src/content/blog/a.md") == Page("blog", "a")
    assert site.place("src/content/blog/_draft.md") is None
    assert site.place("src/content/blog/_parts/a.md") is None
    assert site.place("src/content/data/a.md") is None


def test_without_a_content_config_each_content_folder_is_a_collection() -> None:
    site = astro(content=None)
    assert site.place("src/content/blog/a.md") == Page("blog", "a")
    assert site.place("src/content/docs/x/y.mdx") == Page("docs", "x-y")
    assert site.place("src/content/docs/_x.md") is None
    assert site.place("src/content/top.md") is None


STARLIGHT_CONFIG = b"""
import { defineConfig } from 'astro/config';
import starlight from '@astrojs/starlight';

const locales = {
  root: { label: 'English', lang: 'en' },
  fr: { label: 'Fran\xc3\xa7ais', lang: 'fr' },
  'zh-cn': { label: '\xe7\xae\x80\xe4\xbd\x93\xe4\xb8\xad\xe6\x96\x87', lang: 'zh-CN' },
};

export default defineConfig({
  integrations: [
    starlight({
      title: 'Docs',
      defaultLocale: 'root',
      locales,
      sidebar: [{ label: 'Guides', autogenerate: { directory: 'guides' } }],
    }),
  ],
});
"""

STARLIGHT_CONTENT = b"""
import { defineCollection } from 'astro:content';
import { docsLoader, i18nLoader } from '@astrojs/starlight/loaders';
import { docsSchema, i18nSchema } from '@astrojs/starlight/schema';

export const collections = {
  docs: defineCollection({ loader: docsLoader(), schema: docsSchema() }),
  i18n: defineCollection({ loader: i18nLoader(), schema: i18nSchema() }),
};
"""

STARLIGHT = [
    ("src/content/docs/concepts/why-astro.mdx",
     Page("docs", "concepts-why-astro", "en", "src/content/docs/concepts/why-astro.mdx", 0)),
    ("src/content/docs/fr/concepts/why-astro.mdx",
     Page("docs", "concepts-why-astro", "fr", "src/content/docs/concepts/why-astro.mdx", 1)),
    ("src/content/docs/zh-cn/concepts/why-astro.mdx",
     Page("docs", "concepts-why-astro", "zh-CN", "src/content/docs/concepts/why-astro.mdx", 2)),
    ("src/content/docs/index.mdx", Page("docs", "index", "en", "src/content/docs/index.mdx", 0)),
    ("src/content/docs/fr/index.mdx",
     Page("docs", "index", "fr", "src/content/docs/index.mdx", 1)),
    ("src/content/docs/de/page.md",  # not a configured locale: a page of the root locale
     Page("docs", "de-page", "en", "src/content/docs/de/page.md", 0)),
    ("src/content/docs/guides/_partial.mdx", None),
    ("src/content/i18n/fr.json", None),
]


@pytest.mark.parametrize(("path", "expected"), STARLIGHT)
def test_starlight_locales_are_variants_of_the_root_locales_page(path: str,
                                                                 expected: Page | None) -> None:
    site = read_astro("", read_module("astro.config.mjs", STARLIGHT_CONFIG),
                      read_module("src/content.config.ts", STARLIGHT_CONTENT))
    assert site.place(path) == expected
    assert site.warnings == ()


def test_starlight_without_a_root_locale_keys_variants_by_the_default_locale() -> None:
    config = STARLIGHT_CONFIG.replace(b"root: { label: 'English', lang: 'en' }",
                                      b"en: { label: 'English' }").replace(
                                          b"defaultLocale: 'root'", b"defaultLocale: 'en'")
    site = read_astro("", read_module("astro.config.mjs", config),
                      read_module("src/content.config.ts", STARLIGHT_CONTENT))
    assert site.place("src/content/docs/fr/a.md") == Page("docs", "a", "fr",
                                                          "src/content/docs/en/a.md", 1)
    assert site.place("src/content/docs/en/a.md") == Page("docs", "a", "en",
                                                          "src/content/docs/en/a.md", 0)


def test_a_computed_base_is_one_warning_with_astros_default() -> None:
    content = CONTENT_CONFIG.replace(b"base: 'src/notes'", b"base: process.env.NOTES")
    site = astro(content)
    assert len(site.warnings) == 1
    assert site.warnings[0].startswith("src/content.config.ts:18: collections.notes.loader.base"
                                       " is not a literal (process.env.NOTES); using the project "
                                       "root")


def test_an_unknown_loader_is_a_warning_and_no_entries() -> None:
    content = CONTENT_CONFIG.replace(b"const dogs = defineCollection({ loader: file(",
                                     b"const dogs = defineCollection({ loader: feedLoader(")
    site = astro(content)
    assert len(site.warnings) == 1 and "feedLoader()" in site.warnings[0]


def test_a_broken_content_config_is_a_warning() -> None:
    site = astro(b"export const collections = {")
    assert site.collections == ()
    assert "syntax error" in site.warnings[0]
