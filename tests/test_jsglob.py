"""cometwatch.sites.jsglob: globs as picomatch and fast-glob match them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cometwatch.sites.jsglob import any_match, matches

CASES = [
    ("**/*.{md,mdx}", "a.md", True),
    ("**/*.{md,mdx}", "guides/deep/a.mdx", True),
    ("**/*.{md,mdx}", "a.markdown", False),
    ("**/*.{md,mdx}", ".hidden/a.md", False),  # picomatch dot: false
    ("**/*.md", "a/.b.md", False),
    ("**/[^_]*.{md,mdx}", "posts/_draft.md", False),
    ("**/[^_]*.{md,mdx}", "posts/draft.md", True),
    ("**/[!_]*.md", "_x.md", False),
    ("**/_*/**", "guides/_partials/a.md", True),
    ("**/_*/**", "guides/partials/a.md", False),
    ("**/_*.{js,jsx,ts,tsx,md,mdx}", "guides/_snippet.mdx", True),
    ("*.md", "a.md", True),
    ("*.md", "a/b.md", False),
    ("posts/*.md", "posts/a.md", True),
    ("posts/**", "posts/a/b.md", True),
    ("./posts/**/*.md", "posts/a.md", True),
    ("{docs,blog}/*.md", "blog/a.md", True),
    ("**/*.{md,{mdx,mdoc}}", "a.mdoc", True),
    ("file?.md", "file1.md", True),
    ("file?.md", "file12.md", False),
    ("a[bc].md", "ac.md", True),
    ("weird{.md", "weird{.md", True),  # an unclosed brace is a character
    ("a\\*.md", "a*.md", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), CASES)
def test_a_glob_matches_as_the_javascript_tools_match(pattern: str, path: str,
                                                      expected: bool) -> None:
    assert matches(path, [pattern]) is expected


def test_a_negated_pattern_takes_matches_out_wherever_it_stands() -> None:
    assert matches("a.md", ["**/*.md", "!drafts/**"])
    assert not matches("drafts/a.md", ["**/*.md", "!drafts/**"])
    assert not matches("drafts/a.md", ["!drafts/**", "**/*.md"])
    assert not matches("a.md", ["!x.md"])  # no positive pattern: nothing


def test_an_exclude_list_excludes_on_any_match() -> None:
    assert any_match("a/_b.md", ["**/_*.md", "x"])
    assert not any_match("a/b.md", ["**/_*.md"])


@pytest.mark.filterwarnings("error")  # re's FutureWarning on a class that reads as a set op
@given(st.text(alphabet="ab/.*?[]!^{},-\\_&|~", max_size=20),
       st.text(alphabet="ab/._-", max_size=12))
def test_any_pattern_matches_or_not_and_never_raises(pattern: str, path: str) -> None:
    assert matches(path, [pattern]) in (True, False)


def test_an_empty_or_backward_class_is_characters() -> None:
    assert matches("a[]b", ["a[]b"])
    assert matches("[z-a]", ["[z-a]"])
