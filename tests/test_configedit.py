"""The webhooks.toml editor: comments and layout kept, what `check` refuses refused, the file
intact on every refusal, atomic saves, a file changed meanwhile or read-only refused."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testing import examples

from cometwatch.config import EVENT_NAMES, parse_config_text
from cometwatch.configedit import (
    Change,
    ConfigEditor,
    EditRefused,
    FileChanged,
    FileReadOnly,
    WebhookFields,
)

FILE = """\
# My site's cometwatch config: hand-written, keep these notes.
[repository]
path = "."   # the site itself

# The Netlify build: one build per burst.
[[webhooks]]
name = "netlify"                      # used by the commands
url = "https://api.netlify.com/build_hooks/abc"  # paste yours
secret = "old-literal-secret"
events = ["content.published", "content.unpublished"]
coalesce = "30s"                      # one build per burst
# max_wait = "5m"

# The search indexer reads its secret from the environment.
[[webhooks]]
name = "indexer"
url = "https://search.example.com/hooks"
secret_env = "INDEXER_SECRET"

# Notes at the end of the file.
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "webhooks.toml"
    path.write_text(FILE, encoding="utf-8")
    path.chmod(0o640)
    return path


def fields(name: str = "chat", url: str = "https://chat.example.com/in",
           events: tuple[str, ...] = EVENT_NAMES, collections: tuple[str, ...] | None = None,
           enabled: bool = True) -> WebhookFields:
    return WebhookFields(name, url, events, collections, enabled)


def loads(path: Path) -> object:
    return parse_config_text(path.read_text(), path, {"INDEXER_SECRET": "x"})


def test_reading_lists_webhooks_and_where_each_secret_comes_from_never_the_secret(
        config: Path) -> None:
    snapshot = ConfigEditor(config).read()
    netlify, indexer = snapshot.webhooks
    assert netlify.fields.events == ("content.published", "content.unpublished")
    assert netlify.secret.editable and netlify.secret.detail == "written in the file"
    assert netlify.other_keys == ("coalesce",)
    assert not indexer.secret.editable
    assert indexer.secret.detail == "environment variable INDEXER_SECRET"
    assert "old-literal-secret" not in repr(snapshot)


def test_adding_a_webhook_keeps_every_comment_and_line_of_the_file(config: Path) -> None:
    editor = ConfigEditor(config)
    saved = editor.add(editor.read().digest, Change(fields(), "a-new-secret-value"))
    text = config.read_text()
    assert text.startswith(FILE.removesuffix("\n# Notes at the end of the file.\n"))
    assert "# Notes at the end of the file." in text
    assert 'name = "chat"' in text and 'secret = "a-new-secret-value"' in text
    assert "events" not in text.split('name = "chat"')[1]  # all six: the default, unwritten
    assert [w.fields.name for w in saved.snapshot.webhooks] == ["netlify", "indexer", "chat"]
    assert loads(config)


def test_editing_replaces_only_the_changed_values_and_keeps_their_comments(
        config: Path) -> None:
    editor = ConfigEditor(config)
    change = Change(fields("netlify", "https://api.netlify.com/build_hooks/NEW",
                           ("content.published",), ("posts",), False))
    editor.edit(editor.read().digest, "netlify", change)
    text = config.read_text()
    assert 'url = "https://api.netlify.com/build_hooks/NEW"  # paste yours' in text
    assert 'name = "netlify"                      # used by the commands' in text
    assert 'events = ["content.published"]' in text
    assert 'collections = ["posts"]' in text and "enabled = false" in text
    assert 'secret = "old-literal-secret"' in text  # no new secret given: kept
    assert '# max_wait = "5m"' in text and "# The search indexer" in text
    assert text.count("\n") == FILE.count("\n") + 2  # the two keys added, nothing else
    # below the table's own keys, not below the next table's heading comment
    assert '# max_wait = "5m"\ncollections = ["posts"]\nenabled = false\n\n# The search' in text


def test_removing_a_webhook_takes_its_heading_comment_and_keeps_the_others(
        config: Path) -> None:
    editor = ConfigEditor(config)
    editor.remove(editor.read().digest, "indexer")
    text = config.read_text()
    assert "indexer" not in text and "The search indexer" not in text
    assert '# max_wait = "5m"' in text  # belongs to netlify (no blank line before it)
    assert text.endswith('# max_wait = "5m"\n\n# Notes at the end of the file.\n')
    editor.remove(editor.read().digest, "netlify")
    text = config.read_text()
    assert "webhooks" not in text and "# Notes at the end of the file." in text
    assert "# The Netlify build" not in text
    assert text.startswith("# My site's cometwatch config")


def test_a_new_secret_replaces_a_literal_one_and_generate_makes_one_shown_once(
        config: Path) -> None:
    editor = ConfigEditor(config)
    saved = editor.edit(editor.read().digest, "netlify",
                        Change(fields("netlify", "https://api.netlify.com/build_hooks/abc",
                                      ("content.published", "content.unpublished")),
                               generate=True))
    assert saved.generated and len(saved.generated) >= 40
    assert f'secret = "{saved.generated}"' in config.read_text()
    assert saved.generated not in repr(saved.snapshot)


@pytest.mark.parametrize(("change", "field", "says"), [
    (Change(fields(url="ftp://chat.example.com/"), "s3cret"), "url", "not an http(s) URL"),
    (Change(fields(url="http://chat.example.com/"), "s3cret"), "url", "plain http://"),
    (Change(fields(url="http://169.254.169.254/"), "s3cret"), "url", "metadata"),
    (Change(fields(name="netlify"), "s3cret"), "name", "already exists"),
    (Change(fields(name="has space"), "s3cret"), "name", "not a plain name"),
    (Change(fields(name=""), "s3cret"), "name", "missing"),
    (Change(fields(events=("content.updated", "content.exploded")), "s3cret"), "events",
     "unknown event 'content.exploded'"),
    (Change(fields(events=()), "s3cret"), "events", "at least one event"),
    (Change(fields(), None), "secret", "needs a secret"),
    (Change(fields(), ""), "secret", "the secret is empty"),
    (Change(fields(), " padded "), "secret", "spaces"),
    (Change(fields(url="https://x.example/" + "a" * 3000), "s3cret"), "url", "at most"),
    (Change(fields(), "x" * 5000), "secret", "at most"),
])
def test_a_form_check_would_refuse_is_refused_beside_its_field_and_the_file_is_intact(
        config: Path, change: Change, field: str, says: str) -> None:
    editor = ConfigEditor(config)
    before = config.read_bytes()
    with pytest.raises(EditRefused) as refused:
        editor.add(editor.read().digest, change)
    assert refused.value.field == field
    assert says in refused.value.message
    assert config.read_bytes() == before


def test_a_secret_from_the_environment_cannot_be_edited_from_the_page(config: Path) -> None:
    editor = ConfigEditor(config)
    before = config.read_bytes()
    with pytest.raises(EditRefused) as refused:
        editor.edit(editor.read().digest, "indexer",
                    Change(fields("indexer", "https://search.example.com/hooks"), "new"))
    assert refused.value.field == "secret"
    assert "environment variable INDEXER_SECRET" in refused.value.message
    assert config.read_bytes() == before


def test_a_file_edited_by_hand_since_the_page_loaded_is_refused_with_what_changed(
        config: Path) -> None:
    editor = ConfigEditor(config)
    digest = editor.read().digest
    config.write_text(FILE.replace("one build per burst.", "one build a burst.")
                      .replace("old-literal-secret", "rotated-by-hand"))
    before = config.read_bytes()
    with pytest.raises(FileChanged) as refused:
        editor.add(digest, Change(fields(), "s3cret"))
    assert "changed since this page was loaded" in refused.value.message
    assert "-# The Netlify build: one build per burst." in refused.value.diff
    assert "+# The Netlify build: one build a burst." in refused.value.diff
    assert "rotated-by-hand" not in refused.value.diff  # secrets masked in the diff
    assert "old-literal-secret" not in refused.value.diff
    assert config.read_bytes() == before


def test_a_read_only_file_is_refused_with_a_clear_message(config: Path) -> None:
    config.chmod(0o444)
    editor = ConfigEditor(config)
    snapshot = editor.read()
    assert snapshot.writable is not None and "read-only" in snapshot.writable
    with pytest.raises(FileReadOnly) as refused:
        editor.add(snapshot.digest, Change(fields(), "s3cret"))
    assert "read-only (mode 0444)" in refused.value.message
    assert config.read_text() == FILE


def test_a_save_keeps_the_files_mode_and_leaves_no_temporary_file(config: Path) -> None:
    editor = ConfigEditor(config)
    editor.add(editor.read().digest, Change(fields(), "s3cret"))
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert sorted(os.listdir(config.parent)) == ["webhooks.toml"]


def test_an_error_elsewhere_in_the_file_refuses_the_save_naming_it(config: Path) -> None:
    config.write_text(FILE.replace('path = "."', 'path = "."\nbogus = 1'))
    editor = ConfigEditor(config)
    with pytest.raises(EditRefused) as refused:
        editor.add(editor.read().digest, Change(fields(), "s3cret"))
    assert refused.value.field is None
    assert "repository.bogus" in refused.value.message


def test_a_first_webhook_is_added_to_a_file_without_any(tmp_path: Path) -> None:
    path = tmp_path / "webhooks.toml"
    path.write_text("# only a comment\n[repository]\npath = \".\"\n")
    editor = ConfigEditor(path)
    editor.add(editor.read().digest, Change(fields(), "s3cret"))
    text = path.read_text()
    assert text.startswith('# only a comment\n[repository]\npath = "."\n\n[[webhooks]]\n')
    assert loads(path)


@settings(max_examples=examples(40), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["add", "edit", "remove"]), st.integers(0, 5)),
                max_size=8))
def test_any_sequence_of_saves_keeps_the_files_notes_and_a_loadable_config(
        tmp_path: Path, steps: list[tuple[str, int]]) -> None:
    path = tmp_path / "webhooks.toml"
    path.write_text(FILE, encoding="utf-8")
    editor = ConfigEditor(path)
    names = ["netlify", "indexer"]
    made = 0
    for action, pick in steps:
        digest = editor.read().digest
        if action == "add":
            made += 1
            names.append(f"hook-{made}")
            editor.add(digest, Change(fields(names[-1], f"https://h{made}.example/in"), "s"))
        elif names and action == "remove":
            editor.remove(digest, names.pop(pick % len(names)))
        elif names:
            name = names[pick % len(names)]
            current = editor.read().webhook(name)
            assert current is not None
            editor.edit(digest, name, Change(WebhookFields(
                name, f"https://edited-{pick}.example/", current.fields.events,
                ("posts",), pick % 2 == 0)))
        text = path.read_text()
        assert text.startswith("# My site's cometwatch config: hand-written, keep these notes.")
        assert "# Notes at the end of the file." in text
        assert ('# max_wait = "5m"' in text) == ("netlify" in names)
        assert ("# The search indexer" in text) == ("indexer" in names)
        config = loads(path)
        assert [w.name for w in config.webhooks] == names  # type: ignore[attr-defined]


@pytest.mark.parametrize("line", [
    'secret = "hunter2-value"',
    "secret = 'hunter2-value'",
    'secrets = [{ value = "hunter2-value" }, { env = "OLD" }]',
    'headers = { Authorization = "Bearer hunter2-value" }',
    'headers = { "X-Api-Key" = "hunter2-value" }',
    'admin_token = { value = "hunter2-value" }',
    'X-Auth-Token = "hunter2-value"',
])
def test_a_diff_shown_for_a_changed_file_masks_every_secret(config: Path, line: str) -> None:
    editor = ConfigEditor(config)
    digest = editor.read().digest
    config.write_text(FILE + line + "\n")
    with pytest.raises(FileChanged) as refused:
        editor.remove(digest, "netlify")
    assert "hunter2" not in refused.value.diff and "********" in refused.value.diff


STARTS_WITH_WEBHOOKS = """\
[[webhooks]]
name = "a"
url = "https://a.example/"
secret = "s"

[webhooks.headers]
Authorization = "Bearer x"

# heading b
[[webhooks]]
name = "b"
url = "https://b.example/"
secret = "t"

# end notes
"""


@pytest.mark.parametrize(("remove", "kept", "gone"), [
    ("a", ["# heading b\n[[webhooks]]\nname = \"b\"", "# end notes"], ["Bearer x"]),
    ("b", ["[webhooks.headers]\nAuthorization = \"Bearer x\"\n\n# end notes"], ["heading b"]),
])
def test_a_table_with_a_sub_table_or_first_in_the_file_is_removed_cleanly(
        tmp_path: Path, remove: str, kept: list[str], gone: list[str]) -> None:
    path = tmp_path / "webhooks.toml"
    path.write_text(STARTS_WITH_WEBHOOKS)
    editor = ConfigEditor(path)
    editor.remove(editor.read().digest, remove)
    text = path.read_text()
    for piece in kept:
        assert piece in text
    for piece in gone:
        assert piece not in text
    assert parse_config_text(text, path)
