"""Per-site-tool defaults, kept as data: where content lives, which folders are collections and
drafts, and which dates hide an entry, the way each tool itself reads them. A preset only sets
defaults; any key in the config still wins. `markers` are the files `cometwatch init` looks for.
"""

from __future__ import annotations

from typing import Any

_COMMON_EXCLUDE = ("**/README.md", "**/README.markdown", "**/CHANGELOG.md", "**/LICENSE.md",
                   "**/node_modules/**", "vendor/**")  # nested ones too: never pages

PRESETS: dict[str, dict[str, Any]] = {
    # A plain folder of Markdown: contract §1 as written.
    "plain": {"markers": ()},
    # Hugo: content/<section>/…; `draft`; a future `date` or `publishDate` is not built
    # (buildFuture is off by default); `expiryDate`; `_index.md` section pages and page bundles
    # take their folder's name; `name.fr.md` is the French translation of `name`.
    "hugo": {
        "markers": ("hugo.toml", "hugo.yaml", "hugo.json", "config.toml", "config/_default"),
        "content_dir": "content",
        "drafts_dirs": (),
        "publish_date_fields": ("publishDate", "publishdate", "pubDate", "pubdate"),
        "expiry_date_fields": ("expiryDate", "expirydate", "unpublishdate"),
        "future_date_fields": ("date",),
        "strip_language_suffix": True,
    },
    # Jekyll: _posts (date-prefixed names) and _drafts are the posts collection; other `_name`
    # folders are collections; `published: false`; a post dated in the future (front matter
    # `date` or the name's prefix) is not built (future: false is the default).
    "jekyll": {
        "markers": ("_config.yml", "_config.yaml", "_config.toml"),
        "content_dir": "",
        "drafts_dirs": ("_drafts",),
        "drafts_collection": "posts",
        "future_date_fields": ("date",),
        "filename_dates": True,
        "exclude": (*_COMMON_EXCLUDE, "_site/**", "_layouts/**", "_includes/**", "_data/**",
                    "_sass/**", ".jekyll-cache/**"),
    },
    # Eleventy: the input folder is the project root by default; `draft: true` is the
    # documented convention for drafts.
    "eleventy": {
        "markers": ("eleventy.config.js", "eleventy.config.mjs", "eleventy.config.cjs",
                    ".eleventy.js"),
        "content_dir": "",
        "drafts_dirs": (),
        "exclude": (*_COMMON_EXCLUDE, "_site/**", "_includes/**", "_data/**"),
    },
    # Astro content collections: src/content/<collection>/…, `draft: true`, `pubDate`.
    "astro": {
        "markers": ("astro.config.mjs", "astro.config.js", "astro.config.ts",
                    "astro.config.mts"),
        "content_dir": "src/content",
        "drafts_dirs": (),
        "extensions": ("md", "mdx", "markdown", "mdoc"),
    },
    # Docusaurus: docs/ and blog/ (date-prefixed names or folders), `draft: true`.
    "docusaurus": {
        "markers": ("docusaurus.config.js", "docusaurus.config.ts", "docusaurus.config.mjs"),
        "content_dir": "",
        "drafts_dirs": (),
        "extensions": ("md", "mdx"),
        "collections": {"src/pages/**": "pages"},
        "exclude": (*_COMMON_EXCLUDE, "build/**", ".docusaurus/**"),
    },
    # Zola: content/<section>/…, TOML front matter, `draft = true`, `_index.md` sections; a
    # `YYYY-MM-DD-` or `YYYY-MM-DD_` name prefix is the page's date and not part of its slug;
    # future-dated pages are built.
    "zola": {
        "markers": ("zola.toml", "config.toml"),
        "content_dir": "content",
        "drafts_dirs": (),
        "date_prefix": r"\d{4}-\d{2}-\d{2}[-_]",
    },
    # Decap CMS alone: the entries are its config.yml's collections (cometwatch.sites.decap);
    # beside another tool's config, that tool's preset reads it too.
    "decap": {
        "markers": ("admin/config.yml", "static/admin/config.yml", "public/admin/config.yml",
                    "src/admin/config.yml", "admin/config.yaml", "static/admin/config.yaml",
                    "public/admin/config.yaml", "src/admin/config.yaml"),
        "content_dir": "",
        "drafts_dirs": (),
    },
}
