"""The pure core of contract §1 and §2, table by table: what a path is, what a blob says, whether an
entry is published at a moment, which events a change gives, and the ids."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from cometwatch import utc
from cometwatch.config import ContentRules
from cometwatch.derive import Side, event_names, transition
from cometwatch.entry import (
    Frontmatter,
    Location,
    locate,
    next_change,
    published_at,
    read_frontmatter,
    slugify,
)
from cometwatch.identity import Ledger, Record, derived_id, event_id

RULES = ContentRules()
HUGO_LIKE = replace(RULES, content_dir="content", trash_dir="content/.trash",
                    language_dirs=("en", "fr"), strip_language_suffix=True)


def where(path: str, rules: ContentRules = RULES, mode: str = "100644"
          ) -> tuple[str, str, bool, bool] | None:
    found = locate(path, mode, rules)
    return None if found is None else (found.collection, found.slug, found.trashed,
                                       found.in_drafts)


# -- locate: entry or not, collection, slug, trash, drafts ------------------------------------


@pytest.mark.parametrize(("path", "rules", "expected"), [
    ("posts/hello.md", RULES, ("posts", "hello", False, False)),
    ("posts/hello.markdown", RULES, ("posts", "hello", False, False)),
    ("posts/Hello.MD", RULES, ("posts", "hello", False, False)),
    ("about.md", RULES, ("pages", "about", False, False)),
    ("_posts/2024-05-03-first.md", RULES, ("posts", "first", False, False)),
    ("_drafts/idea.md", RULES, ("posts", "idea", False, True)),
    ("_authors/ada.md", RULES, ("authors", "ada", False, False)),
    ("posts/trip/index.md", RULES, ("posts", "trip", False, False)),
    ("posts/trip/_index.md", RULES, ("posts", "trip", False, False)),
    ("index.md", RULES, ("pages", "index", False, False)),
    ("posts/2024-05-03-x.md", RULES, ("posts", "x", False, False)),
    ("posts/2024-05-x.md", RULES, ("posts", "2024-05-x", False, False)),
    (".trash/posts/hello.md", RULES, ("posts", "hello", True, False)),
    (".trash/hello.md", RULES, ("pages", "hello", True, False)),
    ("content/posts/a.md", HUGO_LIKE, ("posts", "a", False, False)),
    ("content/en/posts/a.fr.md", HUGO_LIKE, ("posts", "a", False, False)),
    ("content/fr/a.md", HUGO_LIKE, ("pages", "a", False, False)),
    ("content/.trash/en/posts/a.md", HUGO_LIKE, ("posts", "a", True, False)),
    ("content/de/posts/a.md", HUGO_LIKE, ("de", "a", False, False)),
])
def test_a_path_gives_collection_slug_trash_and_drafts(path: str, rules: ContentRules,
                                                       expected: tuple[str, str, bool, bool]
                                                       ) -> None:
    assert where(path, rules) == expected


@pytest.mark.parametrize(("path", "mode", "rules"), [
    ("posts/notes.txt", "100644", RULES),
    ("posts/.md", "100644", RULES),
    ("posts/README", "100644", RULES),
    ("posts/link.md", "120000", RULES),  # a symlink
    ("posts/module.md", "160000", RULES),  # a submodule
    ("README.md", "100644", HUGO_LIKE),  # outside content_dir
    ("contents/a.md", "100644", HUGO_LIKE),  # a folder that only starts like it
    ("content/posts/a.mdx", "100644", HUGO_LIKE),
])
def test_a_path_that_is_not_an_entry(path: str, mode: str, rules: ContentRules) -> None:
    assert locate(path, mode, rules) is None


def test_an_executable_file_is_still_an_entry() -> None:
    assert where("posts/a.md", mode="100755") == ("posts", "a", False, False)


def test_collection_globs_come_before_folders_and_exclude_globs_remove_files() -> None:
    rules = replace(RULES, collections=(("blog/**", "posts"), ("**/faq-*.md", "faq"),
                                        ("*.md", "top")),
                    exclude=("node_modules/**", "**/_partials/*.md", "LICENSE.md"))
    assert where("blog/a.md", rules) == ("posts", "a", False, False)
    assert where("blog/2024/05/b.md", rules) == ("posts", "b", False, False)
    assert where("help/faq-billing.md", rules) == ("faq", "faq-billing", False, False)
    assert where("faq-top.md", rules) == ("faq", "faq-top", False, False)
    assert where("about.md", rules) == ("top", "about", False, False)
    assert where("docs/guide.md", rules) == ("docs", "guide", False, False)
    assert where("node_modules/pkg/readme.md", rules) is None
    assert where("docs/_partials/footer.md", rules) is None
    assert where("LICENSE.md", rules) is None
    assert where("docs/LICENSE.md", rules) == ("docs", "license", False, False)


def test_other_extensions_and_drafts_folders_can_be_configured() -> None:
    rules = replace(RULES, extensions=("mdx",), drafts_dirs=("wip",), drafts_collection="blog")
    assert where("posts/a.mdx", rules) == ("posts", "a", False, False)
    assert where("posts/a.md", rules) is None
    assert where("wip/a.mdx", rules) == ("blog", "a", False, True)
    assert where("_drafts/a.mdx", rules) == ("drafts", "a", False, False)


def test_a_jekyll_name_date_is_read_in_the_configured_zone() -> None:
    rules = replace(RULES, filename_dates=True, timezone="Europe/Paris")
    found = locate("_posts/2024-05-03-x.md", "100644", rules)
    assert found is not None and found.name_date == 1_714_687_200  # 2024-05-03T00:00+02:00
    assert locate("_posts/2024-05-03-x.md", "100644", RULES).name_date is None  # type: ignore


# -- slugs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "slug"), [
    ("Hello World", "hello-world"),
    ("  Trimmed  ", "trimmed"),
    ("C++ & Python!", "c-python"),
    ("---x---", "x"),
    ("a__b", "a-b"),
    ("snake_case", "snake_case"),
    ("x.y", "x-y"),
    ("Über uns", "über-uns"),
    ("u\u0308ber", "über"),  # decomposed input comes out composed
    ("日本語 テキスト", "日本語-テキスト"),
    ("Rocket 🚀 launch", "rocket-launch"),
    ("", ""),
    ("🚀", ""),
])
def test_slugs_are_url_safe_and_keep_unicode_letters(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_a_name_that_slugifies_to_nothing_is_index() -> None:
    assert where("posts/🚀.md") == ("posts", "index", False, False)


# -- frontmatter ------------------------------------------------------------------------------


def front(text: str | bytes, rules: ContentRules = RULES) -> Frontmatter:
    return read_frontmatter(text.encode() if isinstance(text, str) else text, rules)


@pytest.mark.parametrize(("text", "explicit_id"), [
    ("---\nuid: a-1\n---\nbody", "a-1"),
    ("---\r\nuid: crlf\r\n---\r\nbody", "crlf"),
    ("\ufeff---\nuid: bom\n---\n", "bom"),
    ("\n\n---\nuid: leading-blank-lines\n---\n", "leading-blank-lines"),
    ("---  \nuid: trailing-spaces\n---   \n", "trailing-spaces"),
    ("+++\nuid = \"toml\"\n+++\nbody", "toml"),
    ('{\n  "uid": "json"\n}\nbody', "json"),
    ('{"uid": "json-one-line"}\nbody', "json-one-line"),
    ("---\nuid: 12\n---\n", "12"),
    ("---\nuid: 2024-01-01\n---\n", "2024-01-01"),
    ("---\nuid: ''\nid: second\n---\n", "second"),
    ("---\nuid: [1, 2]\nuuid: third\n---\n", "third"),
    ("---\nuid: '  kept verbatim '\n---\n", "  kept verbatim "),
])
def test_frontmatter_formats_and_the_explicit_id(text: str, explicit_id: str) -> None:
    got = front(text)
    assert got.broken is None
    assert got.explicit_id == explicit_id


@pytest.mark.parametrize("text", [
    "Just text, no frontmatter.\n",
    "---title\n---\n",  # not a delimiter line
    "---\n---\nempty block\n",
    "{{< youtube dQw4w9WgXcQ >}}\n\nA Hugo shortcode first, no frontmatter.\n",
    "{% include note.html %}\nLiquid first, no frontmatter.\n",
    "",
])
def test_text_without_frontmatter_is_empty_metadata(text: str) -> None:
    got = front(text)
    assert got == Frontmatter(no_block=got.no_block)


@pytest.mark.parametrize(("text", "no_block"), [
    ("Just text, no frontmatter.\n", True),
    ("---title\n---\n", True),
    ("", True),
    ("---\n---\nempty block\n", False),  # Jekyll's idiom for "a page, no fields"
    ("---\ntitle: x\n---\n", False),
])
def test_a_file_without_a_frontmatter_block_says_so(text: str, no_block: bool) -> None:
    assert front(text).no_block is no_block


@pytest.mark.parametrize(("text", "reason"), [
    ("---\ntitle: x\nno closing line\n", "not closed"),
    ("---\ntitle: [unclosed\n---\n", "ParserError"),
    ("+++\ntitle = \n+++\n", "TOMLDecodeError"),
    ('{\n"title": \n}\n', "JSONDecodeError"),
    (b"---\ntitle: caf\xe9\n---\n", "not UTF-8"),
    ("---\npublishDate: 2024-13-45\n---\n", "month must be in 1..12"),  # YAML reads dates
    ("---\nexpiryDate: next tuesday\n---\n", "expiryDate: not a date"),
    ("---\npublishDate: 1700000000\n---\n", "publishDate: not a date"),
    ("---\n" + "k: v\n" * 70_000 + "---\n", "longer than 256 KiB"),
    ("---\n- a list\n- not a mapping\n---\n", "a list, not a mapping"),
    ("---\ndraft true\n---\n", "a str, not a mapping"),  # a colon forgotten
])
def test_broken_frontmatter_says_why_in_one_line(text: str | bytes, reason: str) -> None:
    got = front(text)
    assert got.broken is not None and reason in got.broken
    assert "\n" not in got.broken
    assert got.explicit_id is None


@pytest.mark.parametrize(("text", "expected"), [
    ("status: Published", {"status": "published"}),
    ("status:", {"status": ""}),
    ("status: 3", {"status": "3"}),
    ("draft: true", {"draft": True}),
    ("draft: 'yes'", {"draft": True}),
    ("draft: 'no'", {"draft": False}),
    ("draft: 1", {"draft": False}),
    ("published: false", {"unpublished_flag": True}),
    ("published: 'False'", {"unpublished_flag": True}),
    ("published: true", {"unpublished_flag": False}),
    ("slug: My Post!", {"slug": "my-post"}),
    ("slug: ''", {"slug": None}),
    ("slug: [a, b]", {"slug": None}),
])
def test_the_flags_a_block_sets(text: str, expected: dict[str, object]) -> None:
    got = front(f"---\n{text}\n---\n")
    for name, value in expected.items():
        assert getattr(got, name) == value, name


def test_custom_field_names_are_read() -> None:
    rules = replace(RULES, id_fields=("key",), slug_field="permalink", status_field="state",
                    publish_date_fields=("goLive",), expiry_date_fields=("goDark",))
    got = front("---\nkey: k\npermalink: The Path\nstate: live\ngoLive: 2024-01-01\n"
                "goDark: 2024-02-01\nuid: ignored\n---\n", rules)
    assert (got.explicit_id, got.slug, got.status) == ("k", "the-path", "live")
    assert got.publish_at == 1_704_067_200 and got.expire_at == 1_706_745_600


# -- dates ------------------------------------------------------------------------------------

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-05-03T12:00:00Z", 1_714_737_600),
    ("2024-05-03T14:00:00+02:00", 1_714_737_600),
    ("2024-05-03 14:00:00", 1_714_737_600),  # naive: in the zone (CEST, +02:00)
    ("2024-05-03T14:00", 1_714_737_600),
    ("2024-05-03", 1_714_687_200),  # midnight in the zone
    (datetime(2024, 5, 3, 14, 0), 1_714_737_600),
    (datetime(2024, 5, 3, 12, 0, tzinfo=UTC), 1_714_737_600),
    (date(2024, 5, 3), 1_714_687_200),
    ("2024-01-15 12:00:00", 1_705_316_400),  # winter: +01:00
    ("not a date", None),
    (1_714_737_600, None),
    (True, None),
])
def test_dates_are_read_with_naive_ones_in_the_configured_zone(value: object,
                                                                expected: float | None
                                                                ) -> None:
    assert utc.local(value, PARIS) == expected


def test_yaml_dates_with_and_without_offsets_become_moments() -> None:
    rules = replace(RULES, timezone="Europe/Paris")
    assert front("---\npublishDate: 2024-05-03 14:00:00\n---\n", rules).publish_at \
        == 1_714_737_600
    assert front("---\npublishDate: 2024-05-03T12:00:00Z\n---\n", rules).publish_at \
        == 1_714_737_600
    assert front("---\npublishDate: 2024-05-03T12:00:00Z\n---\n").publish_at == 1_714_737_600
    assert front('+++\npublishDate = 2024-05-03T14:00:00+02:00\n+++\n').publish_at \
        == 1_714_737_600
    assert front("---\npublishDate: 2024-05-03\n---\n").publish_at == 1_714_694_400


def test_utc_iso_is_the_cometcms_timestamp_shape() -> None:
    assert utc.iso(1_714_737_600) == "2024-05-03T12:00:00Z"
    assert utc.iso(1_714_737_600.9) == "2024-05-03T12:00:00Z"
    assert utc.iso(0) == "1970-01-01T00:00:00Z"


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-05-03T12:00:00Z", 1_714_737_600),
    ("2024-05-03T14:00:00+02:00", 1_714_737_600),
    ("2024-05-03T12:00", 1_714_737_600),  # no zone: UTC
    ("2024-05-03", 1_714_694_400),
    ("yesterday", None),
])
def test_utc_parse_reads_what_utc_iso_writes_and_iso_8601(text: str,
                                                          expected: float | None) -> None:
    assert utc.parse(text) == expected
    if expected is not None:
        assert utc.parse(utc.iso(expected)) == expected


# -- published at a moment --------------------------------------------------------------------

T = 1_714_737_600.0
PLAIN = Location("posts/a.md", "posts", "a", trashed=False, in_drafts=False)


@pytest.mark.parametrize(("facts", "location", "published"), [
    (Frontmatter(), PLAIN, True),
    (Frontmatter(draft=True), PLAIN, False),
    (Frontmatter(unpublished_flag=True), PLAIN, False),
    (Frontmatter(status="published"), PLAIN, True),
    (Frontmatter(status="published", draft=True), PLAIN, True),
    (Frontmatter(status="draft"), PLAIN, False),
    (Frontmatter(status=""), PLAIN, False),
    (Frontmatter(), replace(PLAIN, trashed=True), False),
    (Frontmatter(status="published"), replace(PLAIN, in_drafts=True), False),
    (Frontmatter(publish_at=T), PLAIN, True),  # a publish date at T has come
    (Frontmatter(publish_at=T + 1), PLAIN, False),
    (Frontmatter(expire_at=T), PLAIN, False),  # an expiry at T has come
    (Frontmatter(expire_at=T + 1), PLAIN, True),
    (Frontmatter(publish_at=T - 10, expire_at=T + 10), PLAIN, True),
    (Frontmatter(future_at=T + 1), PLAIN, False),
    (Frontmatter(), replace(PLAIN, name_date=T + 1), False),
    (Frontmatter(future_at=T - 1), replace(PLAIN, name_date=T + 1), True),  # front wins
    (Frontmatter(draft=True, publish_at=T - 1), PLAIN, False),
])
def test_published_at_a_moment(facts: Frontmatter, location: Location, published: bool) -> None:
    assert published_at(facts, location, T, RULES) is published


def test_published_values_are_configurable() -> None:
    rules = replace(RULES, published_values=("live", "public"))
    assert published_at(Frontmatter(status="public"), PLAIN, T, rules)
    assert not published_at(Frontmatter(status="published"), PLAIN, T, rules)


@pytest.mark.parametrize(("facts", "location", "expected"), [
    (Frontmatter(publish_at=T + 5, expire_at=T + 9), PLAIN, T + 5),
    (Frontmatter(publish_at=T - 5, expire_at=T + 9), PLAIN, T + 9),
    (Frontmatter(publish_at=T), PLAIN, None),  # not strictly later
    (Frontmatter(future_at=T + 3, expire_at=T + 9), PLAIN, T + 3),
    (Frontmatter(), replace(PLAIN, name_date=T + 7), T + 7),
    (Frontmatter(publish_at=T + 5), replace(PLAIN, trashed=True), None),
    (Frontmatter(publish_at=T + 5), replace(PLAIN, in_drafts=True), None),
    (Frontmatter(broken="x"), PLAIN, None),
])
def test_next_change_is_the_first_scheduled_date_after_the_moment(
        facts: Frontmatter, location: Location, expected: float | None) -> None:
    assert next_change(facts, location, T) == expected


# -- the contract §2 table ------------------------------------------------------------------------

LIVE, DRAFT = Side(trashed=False, published=True), Side(trashed=False, published=False)
BIN_LIVE, BIN = Side(trashed=True, published=True), Side(trashed=True, published=False)


@pytest.mark.parametrize(("old", "new", "restored", "changed", "events"), [
    (None, LIVE, False, True, ("content.created", "content.published")),
    (None, DRAFT, False, True, ("content.created",)),
    (None, LIVE, True, True, ("content.restored", "content.published")),
    (None, DRAFT, True, True, ("content.restored",)),
    (DRAFT, DRAFT, False, True, ("content.updated",)),
    (LIVE, LIVE, False, True, ("content.updated",)),
    (DRAFT, LIVE, False, True, ("content.updated", "content.published")),
    (LIVE, DRAFT, False, True, ("content.updated", "content.unpublished")),
    (LIVE, BIN, False, True, ("content.unpublished", "content.deleted")),
    (DRAFT, BIN, False, True, ("content.deleted",)),
    (LIVE, None, False, True, ("content.unpublished", "content.deleted")),
    (DRAFT, None, False, True, ("content.deleted",)),
    (BIN, LIVE, False, True, ("content.restored", "content.published")),
    (BIN, DRAFT, False, True, ("content.restored",)),
    (None, BIN, False, True, ()),  # created in trash
    (BIN, None, False, True, ()),  # removed from trash
    (BIN, BIN, False, True, ()),  # moved within trash
    (LIVE, LIVE, False, False, ()),  # mode-only change
    (DRAFT, DRAFT, False, False, ()),
])
def test_the_events_of_a_change_follow_the_spec_table(old: Side | None, new: Side | None,
                                                      restored: bool, changed: bool,
                                                      events: tuple[str, ...]) -> None:
    assert event_names(old, new, restored=restored, changed=changed) == events


def test_a_scheduled_transition_is_one_event_or_none() -> None:
    assert transition(False, True) == ("content.published",)
    assert transition(True, False) == ("content.unpublished",)
    assert transition(True, True) == transition(False, False) == ()


# -- ids --------------------------------------------------------------------------------------


def test_a_derived_id_is_ten_base62_characters_of_sha256_of_the_path() -> None:
    digest = int(hashlib.sha256(b"posts/hello.md").hexdigest(), 16)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    expected = "".join(alphabet[digest // 62 ** k % 62] for k in range(10))
    assert derived_id("posts/hello.md") == expected == "eyXwq16joP"
    assert derived_id("posts/hello.md", 1) != expected
    assert derived_id("über/ünï.md").isalnum() and len(derived_id("über/ünï.md")) == 10


def test_event_ids_depend_on_commit_entry_and_event_only() -> None:
    one = event_id("c" * 40, "id-1", "content.created")
    assert one == event_id("c" * 40, "id-1", "content.created")
    assert one.startswith("evt_") and len(one) == 26
    others = {event_id("d" * 40, "id-1", "content.created"),
              event_id("c" * 40, "id-2", "content.created"),
              event_id("c" * 40, "id-1", "content.updated"),
              event_id("c" * 40, "id-1", "content.created", "posts/b.md")}
    assert one not in others and len(others) == 4


def _record(sha: str, derived: str, explicit: str | None = None) -> Record:
    return Record(sha, derived, explicit, "posts", "a", True, False,
                  Frontmatter(explicit_id=explicit, publish_at=T + 60))


def test_a_ledger_survives_json_with_its_ids_timers_and_deleted_entries() -> None:
    ledger = Ledger()
    first = ledger.mint("posts/a.md")
    again = ledger.mint("posts/a.md")
    assert first == derived_id("posts/a.md") and again == derived_id("posts/a.md", 1)
    ledger.put("posts/a.md", _record("1" * 40, first), T + 60)
    ledger.put("posts/b.md", _record("2" * 40, again, "uid-b"), T + 30)
    gone = ledger.drop("posts/b.md")
    assert gone is not None
    ledger.remember_deleted(gone, "posts/b.md")
    ledger.clock = T
    copy = Ledger.from_json(json.loads(json.dumps(ledger.to_json())))
    assert copy == ledger
    assert copy.next_due() == ledger.next_due() == (T + 60, "posts/a.md")
    assert copy.mint("posts/a.md") == derived_id("posts/a.md", 2)
    claimed = copy.claim_deleted("anywhere.md", "uid-b")
    assert claimed is not None and claimed.derived_id == again
    assert copy.claim_deleted("posts/b.md", None) is None  # claimed once, not twice


def test_the_next_timer_is_the_earliest_and_follows_changes() -> None:
    ledger = Ledger()
    for n, path in enumerate(["c.md", "a.md", "b.md"]):
        ledger.put(path, _record(str(n) * 40, f"d{n}"), T + 10)
    assert ledger.next_due() == (T + 10, "a.md")  # a tie goes to the first path
    ledger.put("a.md", _record("0" * 40, "d1"), T + 20)
    assert ledger.next_due() == (T + 10, "b.md")
    ledger.drop("b.md")
    ledger.put("c.md", _record("0" * 40, "d0"), None)
    assert ledger.next_due() == (T + 20, "a.md")
    for n in range(500):  # rescheduling many times keeps the queue small and right
        ledger.put("a.md", _record("0" * 40, "d1"), T + 1000 - n)
    assert ledger.next_due() == (T + 501, "a.md")
    assert len(ledger._queue) < 200
    ledger.drop("a.md")
    assert ledger.next_due() is None


def test_a_path_claim_ignores_a_deleted_entry_that_had_an_explicit_id() -> None:
    ledger = Ledger()
    ledger.remember_deleted(_record("1" * 40, "d1", "uid-1"), "posts/a.md")
    assert ledger.claim_deleted("posts/a.md", None) is None
    ledger.remember_deleted(_record("2" * 40, "d2"), "posts/a.md")
    claimed = ledger.claim_deleted("posts/a.md", None)
    assert claimed is not None and claimed.derived_id == "d2"


# -- a block that starts like front matter and does not parse is broken, whatever its shape ------

@pytest.mark.parametrize("text", [
    '{"title": "x", "draft": true,}\nBody.\n',  # one line, a trailing comma
    '{"title": "x", "draft": true,}',  # the whole file, no newline
    '{"title": "x",\n "draft": true,\n}\nBody.\n',  # several lines
    '{ "title": "x", "draft": true }}\n',  # closed, then a stray brace: read, not broken
    "{title: x, draft: true}\nBody.\n",  # not JSON at all
    "+++\ntitle = 'x'\ndraft = true,\n+++\n",
    "+++\ntitle = 'x'\n",  # TOML never closed
    "---\ntitle: x\ndraft: [true\n---\n",
    "---",  # a delimiter and nothing else
])
def test_a_block_that_starts_like_front_matter_and_does_not_parse_is_broken(text: str) -> None:
    got = front(text)
    if text.startswith("{ \"title\": \"x\", \"draft\": true }"):
        assert got.broken is None and got.draft
    else:
        assert got.broken is not None and "\n" not in got.broken


@pytest.mark.parametrize("text", [
    "{{< youtube dQw4w9WgXcQ >}}\n",  # Hugo shortcode
    "{% include note.html %}\n",  # Liquid
    "{# a Nunjucks comment #}\n",
    "---title\n",  # not a delimiter line
])
def test_a_template_tag_first_is_text_not_a_broken_block(text: str) -> None:
    assert front(text) == Frontmatter(no_block=True)


# -- explicit ids verbatim, as written -----------------------------------------------------------

IDS_AS_WRITTEN = ["007", "7", "1.10", "1.1", "12:30:00", "0x1F", "31", "1e3", "0o17",
                  "2024-01-01", "2024-01-01T10:00:00Z", "2024-01-01 10:00:00+00:00", "true",
                  "yes", "True", "1_000", ".5", "+1", "-0", "0b101"]


@pytest.mark.parametrize("written", IDS_AS_WRITTEN)
def test_a_yaml_id_is_the_text_as_written(written: str) -> None:
    assert front(f"---\nid: {written}\n---\n").explicit_id == written


@pytest.mark.parametrize("written", ["7", "1.10", "0x1F", "0o17", "0b101", "1_000", "1e3",
                                     "+1", "-0", "true", "1979-05-27T07:32:00Z",
                                     "1979-05-27 07:32:00", "1979-05-27", "07:32:00", "inf",
                                     "nan"])
def test_a_toml_id_is_the_text_as_written(written: str) -> None:
    got = front(f"+++\ntitle = 'x'\nid = {written}  # a comment\n[params]\nid = 9\n+++\n")
    assert got.explicit_id == written


@pytest.mark.parametrize("written", ["7", "1.10", "1e3", "-0", "1.0E+2", "true"])
def test_a_json_id_is_the_text_as_written(written: str) -> None:
    assert front(f'{{"id": {written}}}\n').explicit_id == written
    assert front(f'{{\n  "id": {written}\n}}\n').explicit_id == written


def test_two_spellings_of_one_number_never_give_one_id() -> None:
    ids = {front(f"---\nid: {written}\n---\n").explicit_id for written in IDS_AS_WRITTEN}
    assert len(ids) == len(IDS_AS_WRITTEN)


def test_a_slug_and_a_status_are_read_as_written_too() -> None:
    got = front("---\nslug: 1.10\nstatus: yes\n---\n")
    assert (got.slug, got.status) == ("1-10", "yes")


def test_a_toml_line_inside_a_multiline_string_is_not_the_id() -> None:
    got = front("+++\nbody = '''\nid = 5\n'''\nid = 0x05\n+++\n")
    assert got.explicit_id == "0x05"


# -- paths that are not UTF-8 --------------------------------------------------------------------

def test_a_path_that_is_not_utf8_gives_a_readable_collection_and_slug() -> None:
    path = b"caf\xe9/bad\xffname.md".decode("utf-8", "surrogateescape")
    where = locate(path, "100644", RULES)
    assert where is not None
    assert (where.collection, where.slug) == ("caf\ufffd", "bad-name")
    assert where.path == path  # the path itself keeps git's bytes
