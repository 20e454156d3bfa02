"""Site configs as large real sites write them, for benchmarks/derive.py's `site-configs`:
what reading the steering files of one commit costs, cold (every blob new) and warm (cached
by blob sha, as along a history walk)."""

from __future__ import annotations

import time
from typing import Any

from cometwatch.sites import SiteBase, Tool, tool_for

_DOCS_PLUGIN = """
    [
      '@docusaurus/plugin-content-docs',
      {{
        id: '{name}',
        path: '{name}',
        routeBasePath: '{name}',
        sidebarPath: require.resolve('./sidebars{name}.js'),
        editUrl: ({{locale, versionDocsDirPath, docPath}}) =>
          `https://github.com/example/site/edit/main/website/${{versionDocsDirPath}}/${{docPath}}`,
        showLastUpdateAuthor: true,
        showLastUpdateTime: true,
        remarkPlugins: [npm2yarn, [remarkMath, {{strict: false}}]],
        exclude: ['**/_*.{{md,mdx}}', '**/__tests__/**', 'drafts/**'],
      }},
    ],"""

DOCUSAURUS = """// @ts-check
import {themes as prismThemes} from 'prism-react-renderer';
import npm2yarn from '@docusaurus/remark-plugin-npm2yarn';
import remarkMath from 'remark-math';
import type {Config} from '@docusaurus/types';
import type * as Preset from '@docusaurus/preset-classic';

const isDev = process.env.NODE_ENV === 'development';
const isDeployPreview = !!process.env.NETLIFY && process.env.CONTEXT === 'deploy-preview';
const baseUrl = process.env.BASE_URL ?? '/';
const TwitterSvg = '<svg viewBox="0 0 24 24"><path d="M23.953 4.57a10 10 0 01-2.825.775"/></svg>';
const locales = ['en', 'fr', 'pt-BR', 'ko', 'zh-CN', 'ja', 'es', 'de', 'it', 'ru'];

const config: Config = {
  title: 'Example',
  tagline: 'Build optimized websites quickly, focus on your content',
  organizationName: 'example',
  projectName: 'site',
  baseUrl,
  baseUrlIssueBanner: true,
  url: 'https://example.io',
  trailingSlash: isDeployPreview,
  i18n: {
    defaultLocale: 'en',
    locales,
    localeConfigs: {en: {label: 'English', direction: 'ltr'}, fr: {label: 'Fran\\u00e7ais'}},
  },
  markdown: {format: 'detect', mermaid: true, mdx1Compat: {comments: true}},
  onBrokenLinks: 'throw',
  onBrokenMarkdownLinks: 'warn',
  favicon: 'img/favicon.ico',
  customFields: {isDeployPreview, description: 'An optimized site generator in React.'},
  staticDirectories: ['static', '_dogfooding/_asset-tests'],
  themes: ['live-codeblock', '@docusaurus/theme-mermaid'],
  plugins: [PLUGINS
    ['@docusaurus/plugin-client-redirects', {fromExtensions: ['html'], redirects: [
      {from: ['/docs/support', '/docs/next/support'], to: '/community/support'},
      {from: ['/docs/team', '/docs/next/team'], to: '/community/team'},
    ]}],
    ['@docusaurus/plugin-ideal-image', {quality: 70, max: 1030, min: 640, steps: 2}],
    ['@docusaurus/plugin-pwa', {debug: isDeployPreview, offlineModeActivationStrategies:
      ['appInstalled', 'standalone', 'queryString'], pwaHead: [
      {tagName: 'link', rel: 'icon', href: 'img/logo.png'},
      {tagName: 'meta', name: 'theme-color', content: 'rgb(37, 194, 160)'},
    ]}],
    isDev && '@docusaurus/plugin-debug',
  ].filter(Boolean),
  presets: [
    [
      'classic',
      {
        debug: true,
        docs: {
          path: 'docs',
          sidebarPath: './sidebars.ts',
          editUrl: ({locale, docPath}) => `https://github.com/example/edit/main/${docPath}`,
          admonitions: {keywords: ['my-custom-admonition']},
          showLastUpdateAuthor: true,
          showLastUpdateTime: true,
          remarkPlugins: [[npm2yarn, {sync: true}], remarkMath],
          disableVersioning: false,
          lastVersion: undefined,
          onlyIncludeVersions: isDev ? ['current', '3.0'] : undefined,
          versions: {current: {label: `${'Canary'} \\ud83d\\udea7`}},
        },
        blog: {
          path: 'blog',
          editUrl: ({locale, blogDirPath, blogPath}) =>
            `https://github.com/example/edit/main/website/${blogDirPath}/${blogPath}`,
          remarkPlugins: [npm2yarn],
          postsPerPage: 5,
          feedOptions: {type: 'all', copyright: `Copyright \\u00a9 ${2024} Example.`},
          blogSidebarCount: 'ALL',
          blogSidebarTitle: 'All our posts',
        },
        pages: {remarkPlugins: [npm2yarn]},
        theme: {customCss: ['./src/css/custom.css']},
        gtag: !(isDeployPreview || isDev) ? {trackingID: ['G-E5CR2Q1NRE']} : undefined,
        sitemap: {ignorePatterns: ['/tests/**'], lastmod: 'date', priority: null},
      } satisfies Preset.Options,
    ],
  ],
  themeConfig: {
    liveCodeBlock: {playgroundPosition: 'bottom'},
    docs: {sidebar: {hideable: true, autoCollapseCategories: true}},
    colorMode: {defaultMode: 'light', disableSwitch: false, respectPrefersColorScheme: true},
    announcementBar: {id: 'announcementBar-3',
                      content: `\\u2b50\\ufe0f If you like it, ${TwitterSvg}`},
    prism: {theme: prismThemes.github, darkTheme: prismThemes.dracula,
            additionalLanguages: ['java', 'latex', 'haskell', 'matlab', 'PHp', 'powershell']},
    algolia: {appId: 'X1Z85QJPUV', apiKey: 'bf7211c161e8205da2f933a02534105a', indexName: 'x'},
    navbar: {hideOnScroll: true, title: 'Example', items: [
      {type: 'doc', position: 'left', docId: 'introduction', label: 'Docs'},
      {type: 'docSidebar', position: 'left', sidebarId: 'api', label: 'API'},
      {to: 'blog', label: 'Blog', position: 'left'},
      {to: 'showcase', label: 'Showcase', position: 'left'},
      {to: '/community/support', label: 'Community', position: 'left',
       activeBaseRegex: '/community/'},
      {type: 'docsVersionDropdown', position: 'right', dropdownActiveClassDisabled: true},
      {type: 'localeDropdown', position: 'right'},
    ]},
    footer: {style: 'dark', links: [
      {title: 'Learn', items: [{label: 'Introduction', to: 'docs'},
                               {label: 'Installation', to: 'docs/installation'}]},
      {title: 'Community', items: [{label: 'Stack Overflow',
                                    href: 'https://stackoverflow.com/questions/tagged/x'}]},
      {title: 'More', items: [{label: 'Blog', to: 'blog'},
                              {label: 'GitHub', href: 'https://github.com/example'}]},
    ], copyright: `Copyright \\u00a9 ${new Date().getFullYear()} Example.`},
  } satisfies Preset.ThemeConfig,
};

export default config;
""".replace("PLUGINS", "".join(_DOCS_PLUGIN.format(name=name)
                               for name in ("community", "api", "changelog")))

ASTRO_CONFIG = """import { defineConfig } from 'astro/config';
import starlight from '@astrojs/starlight';
import mdx from '@astrojs/mdx';
import sitemap from '@astrojs/sitemap';

export const locales = {
  root: { label: 'English', lang: 'en' },
  de: { label: 'Deutsch', lang: 'de' }, es: { label: 'Espa\\u00f1ol', lang: 'es' },
  fr: { label: 'Fran\\u00e7ais', lang: 'fr' }, it: { label: 'Italiano', lang: 'it' },
  ja: { label: '\\u65e5\\u672c\\u8a9e', lang: 'ja' }, ko: { label: 'Korean', lang: 'ko' },
  'pt-br': { label: 'Portugu\\u00eas do Brasil', lang: 'pt-BR' },
  'zh-cn': { label: 'Chinese', lang: 'zh-CN' }, 'zh-tw': { label: 'Chinese', lang: 'zh-TW' },
  ru: { label: 'Russian', lang: 'ru' }, pl: { label: 'Polski', lang: 'pl' },
  ar: { label: 'Arabic', dir: 'rtl', lang: 'ar' }, hi: { label: 'Hindi', lang: 'hi' },
};

const site = 'https://docs.example.com/';

export default defineConfig({
  site,
  trailingSlash: 'always',
  integrations: [
    starlight({
      title: 'Docs',
      logo: { light: './src/assets/logo-light.svg', dark: './src/assets/logo-dark.svg' },
      editLink: { baseUrl: 'https://github.com/example/docs/edit/main/' },
      social: [{ icon: 'github', label: 'GitHub', href: 'https://github.com/example' }],
      defaultLocale: 'root',
      locales,
      sidebar: [
        { label: 'Start', items: ['getting-started', 'install',
          { label: 'Guides', autogenerate: { directory: 'guides' } }] },
        { label: 'Reference', autogenerate: { directory: 'reference' }, collapsed: true },
      ],
      customCss: ['./src/styles/custom.css'],
      lastUpdated: true,
      pagination: false,
    }),
    mdx(),
    sitemap(),
  ],
});
"""

ASTRO_CONTENT = """import { defineCollection, z } from 'astro:content';
import { docsLoader, i18nLoader } from '@astrojs/starlight/loaders';
import { docsSchema, i18nSchema } from '@astrojs/starlight/schema';
import { glob, file } from 'astro/loaders';

const BLOG = './src/data/blog';

export const collections = {
  docs: defineCollection({ loader: docsLoader(), schema: docsSchema({ extend: z.object({
    i18nReady: z.boolean().default(false), githubURL: z.string().url().optional() }) }) }),
  i18n: defineCollection({ loader: i18nLoader(), schema: i18nSchema() }),
  blog: defineCollection({ loader: glob({ pattern: '**/[^_]*.{md,mdx}', base: BLOG }),
    schema: ({ image }) => z.object({ title: z.string(), pubDate: z.coerce.date(),
      heroImage: image().optional(), tags: z.array(z.string()).default([]) }) }),
  authors: defineCollection({ loader: file('src/data/authors.json') }),
};
"""

ELEVENTY = """import { IdAttributePlugin, InputPathToUrlTransformPlugin, HtmlBasePlugin }
  from "@11ty/eleventy";
import { feedPlugin } from "@11ty/eleventy-plugin-rss";
import pluginSyntaxHighlight from "@11ty/eleventy-plugin-syntaxhighlight";
import pluginNavigation from "@11ty/eleventy-navigation";

export default async function (eleventyConfig) {
  eleventyConfig.addPreprocessor("drafts", "*", (data, content) => {
    if (data.draft && process.env.ELEVENTY_RUN_MODE === "build") { return false; }
  });
  eleventyConfig.addPassthroughCopy({ "./public/": "/" })
    .addPassthroughCopy("./content/feed/pretty-atom-feed.xsl");
  eleventyConfig.addWatchTarget("css/**/*.css");
  eleventyConfig.addBundle("css", { toFileDirectory: "dist" });
  eleventyConfig.addPlugin(pluginSyntaxHighlight, { preAttributes: { tabindex: 0 } });
  eleventyConfig.addPlugin(pluginNavigation);
  eleventyConfig.addPlugin(HtmlBasePlugin);
  eleventyConfig.addPlugin(InputPathToUrlTransformPlugin);
  eleventyConfig.addPlugin(feedPlugin, { type: "atom", outputPath: "/feed/feed.xml",
    collection: { name: "posts", limit: 10 },
    metadata: { language: "en", title: "Blog Title", base: "https://example.com/" } });
  eleventyConfig.addPlugin(IdAttributePlugin);
  eleventyConfig.addShortcode("currentBuildDate", () => (new Date()).toISOString());
  eleventyConfig.ignores.add("content/notes/private/**");
};

export const config = {
  templateFormats: ["md", "njk", "html", "liquid", "11ty.js"],
  markdownTemplateEngine: "njk",
  htmlTemplateEngine: "njk",
  dir: { input: "content", includes: "../_includes", data: "../_data", output: "_site" },
};
"""

DECAP = """backend:
  name: git-gateway
  branch: main
publish_mode: editorial_workflow
media_folder: static/img
public_folder: /img
i18n: {structure: multiple_folders, locales: [en, de, fr], default_locale: en}
collections:
""" + "".join(f"""  - name: docs-{group}
    label: Docs ({group})
    folder: content/docs
    filter: {{field: group, value: {group}}}
    create: true
    fields:
      - {{label: Title, name: title, widget: string}}
      - {{label: Group, name: group, widget: hidden, default: {group}}}
      - {{label: Body, name: body, widget: markdown}}
""" for group in ("start", "guides", "widgets", "reference", "media", "backends", "i18n",
                  "customization", "contributing", "intro", "faq")) + """  - name: blog
    folder: content/blog
    slug: "{{year}}-{{month}}-{{day}}-{{slug}}"
    i18n: true
  - name: pages
    files:
      - {name: about, file: content/about.md}
"""

SITES: dict[str, tuple[str, dict[str, str]]] = {
    "docusaurus": ("docusaurus", {"docusaurus.config.ts": DOCUSAURUS,
                                  "versions.json": '["3.0", "2.4", "2.3", "1.1"]'}),
    "astro + starlight": ("astro", {"astro.config.mjs": ASTRO_CONFIG,
                                    "src/content.config.ts": ASTRO_CONTENT}),
    "eleventy": ("eleventy", {"eleventy.config.js": ELEVENTY,
                              ".eleventyignore": "README.md\nnode_modules\n",
                              ".gitignore": "_site\nnode_modules\n.cache\n"}),
    "hugo + decap (11 filtered collections)": ("hugo", {
        "hugo.toml": 'baseURL = "https://example.org/"\ntitle = "Site"\n',
        "static/admin/config.yml": DECAP}),
}


def read_once(tool: Tool, files: dict[str, bytes], base: SiteBase) -> Any:
    parsed = {path: tool.parse(path, data) for path, data in files.items()}
    return tool.build(parsed, frozenset(), base)


def measure(repeat: int) -> dict[str, float]:
    """Milliseconds to read each site's steering files at a commit that changed them all
    (every blob new: parsed, then the site built), the median of `repeat` rounds."""
    out: dict[str, float] = {}
    for label, (preset, texts) in SITES.items():
        tool = tool_for(preset)
        assert tool is not None
        base = SiteBase()
        runs = []
        for round_ in range(max(repeat, 5)):
            # a comment made unique per round: a new blob, never a cached parse
            files = {path: (text + (f"\n# {round_}\n" if path.endswith((".yml", ".toml",
                                                                            "ignore"))
                                    else f"\n// {round_}\n")).encode()
                     for path, text in texts.items() if not path.endswith(".json")}
            files.update({path: text.encode() for path, text in texts.items()
                          if path.endswith(".json")})
            started = time.perf_counter()
            read_once(tool, files, base)
            runs.append((time.perf_counter() - started) * 1000)
        out[label] = sorted(runs)[len(runs) // 2]
    return out
