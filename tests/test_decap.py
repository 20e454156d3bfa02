"""cometwatch.sites.decap: the entries Decap CMS's collections hold."""

from __future__ import annotations

import pytest
import yaml

from cometwatch.sites.decap import Decap, read_decap
from cometwatch.sites.page import Page

CONFIG = """
backend:
  name: git-gateway
  branch: main
publish_mode: editorial_workflow
media_folder: static/img
i18n:
  structure: multiple_folders
  locales: [en, de]
  default_locale: en
collections:
  - name: docs
    label: Docs
    folder: content/docs
    create: true
  - name: widgets
    label: Widgets
    folder: content/docs/widgets
    create: true
  - name: intro
    folder: content/guides
    filter: {field: group, value: intro}
  - name: reference
    folder: content/guides
    filter: {field: group, value: reference}
  - name: posts
    folder: content/posts
    slug: "{{year}}-{{month}}-{{day}}-{{slug}}"
    nested: {depth: 3}
  - name: bundles
    folder: content/bundles
    path: "{{slug}}/index"
  - name: authors
    folder: data/authors
    format: yml
  - name: localized
    folder: content/localized
    i18n: true
  - name: split
    folder: content/split
    i18n: {structure: multiple_files}
  - name: pages
    label: Pages
    files:
      - {name: about, label: About, file: content/about.md}
      - {name: home, file: content/_index.md}
"""


def decap() -> Decap:
    return read_decap(yaml.safe_load(CONFIG))


PLACES = [
    ("content/docs/intro.md", Page("docs", "intro")),
    ("content/docs/sub/deep.md", None),  # not nested: only direct children
    # the most specific folder wins, though the broad one is declared first
    ("content/docs/widgets/string.md", Page("widgets", "string")),
    # a folder shared by filtered collections: the collection follows the front matter
    ("content/guides/start.md", Page("", "start", choices=(
        ("group", "intro", "intro"), ("group", "reference", "reference")))),
    ("content/posts/2024-01-02-hello.md", Page("posts", "hello")),
    ("content/posts/2024/jan/a.md", Page("posts", "2024-jan-a")),  # nested depth 3
    ("content/posts/a/b/c/d.md", None),
    ("content/posts/x.txt", None),
    ("content/bundles/trip/index.md", Page("bundles", "trip")),
    ("content/bundles/trip.md", None),  # not the path template's shape
    ("data/authors/ann.yml", Page("authors", "ann")),
    ("data/authors/ann.md", None),
    ("content/localized/en/a.md", Page("localized", "a", "en", "content/localized/en/a.md", 0)),
    ("content/localized/de/a.md", Page("localized", "a", "de", "content/localized/en/a.md", 1)),
    ("content/localized/a.md", None),  # multiple_folders: only under a locale's folder
    ("content/split/b.en.md", Page("split", "b", "en", "content/split/b.en.md", 0)),
    ("content/split/b.de.md", Page("split", "b", "de", "content/split/b.en.md", 1)),
    ("content/about.md", Page("pages", "about")),
    ("content/_index.md", Page("pages", "home")),
    ("content/other.md", None),
]


@pytest.mark.parametrize(("path", "expected"), PLACES)
def test_each_collection_kind_places_its_entries(path: str, expected: Page | None) -> None:
    assert decap().place(path) == expected
    assert decap().warnings == ()


def test_filter_fields_are_the_fields_front_matter_decides_by() -> None:
    assert decap().filter_fields == ("group",)


@pytest.mark.parametrize(("data", "warning"), [
    ("collections: [{folder: x}]", "config.yml: collections[0] has no name; skipped"),
    ("collections: [{name: a}]", "config.yml: collection 'a' has neither folder nor files; "
                                 "skipped"),
    ("collections: [{name: a, folder: x, filter: [1]}]",
     "config.yml: collection 'a': filter is not a field and a value; read without it"),
    ("- a list", "config.yml: not a mapping; no Decap collections read"),
])
def test_what_is_not_understood_is_a_warning(data: str, warning: str) -> None:
    assert read_decap(yaml.safe_load(data)).warnings == (warning,)
