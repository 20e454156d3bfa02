"""Per-site-tool defaults, as data. A preset only sets defaults; the config still wins."""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "plain": {},
    "hugo": {
        "content_dir": "content",
        "drafts_dirs": (),
        "future_date_fields": ("date",),
        "strip_language_suffix": True,
    },
    "jekyll": {
        "content_dir": "",
        "drafts_dirs": ("_drafts",),
        "drafts_collection": "posts",
        "future_date_fields": ("date",),
    },
    "eleventy": {"content_dir": "", "drafts_dirs": ()},
    "astro": {"content_dir": "src/content", "drafts_dirs": ()},
    "docusaurus": {"content_dir": "", "drafts_dirs": (), "extensions": ("md", "mdx")},
    "zola": {"content_dir": "content", "drafts_dirs": ()},
}
