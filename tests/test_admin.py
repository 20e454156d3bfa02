"""The Webhooks page in-process, through Flask's test client (the fast tier): every page, the
login, CSRF, the headers, and each bad input a clear message with webhooks.toml intact."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from admin_site import AdminSite, csrf_of, digest_of, make
from conftest import Site, post
from receiver import RECEIVER_SECRET, Answer, Receiver

from cometwatch.web.admin.access import SESSION_COOKIE

pytest_plugins = ["receiver"]


@pytest.fixture
def admin(site: Site, tmp_path: Path, receiver: Receiver) -> Iterator[AdminSite]:
    made = make(site, tmp_path, receiver.url)
    yield made
    made.context.close()


@pytest.fixture
def client(admin: AdminSite) -> Any:
    client = admin.app.test_client()  # type: ignore[attr-defined]
    answer = client.get(f"/admin/login?token={admin.token}")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/admin/")
    return client


def form_page(client: Any, path: str) -> tuple[str, str, str]:
    html = client.get(path).get_data(as_text=True)
    return html, csrf_of(html), digest_of(html)


def test_every_page_needs_a_login_even_on_loopback(admin: AdminSite) -> None:
    client = admin.app.test_client()  # type: ignore[attr-defined]
    for path in ("/admin/", "/admin/deliveries", "/admin/webhooks/new",
                 "/admin/webhooks/build/edit", "/admin/deliveries/1"):
        answer = client.get(path)
        assert answer.status_code == 303, path
        assert "/admin/login?next=" in answer.headers["Location"]
    answer = client.post("/admin/webhooks/build/disable", data={"csrf": "x"})
    assert answer.status_code == 401
    assert "without a logged-in session" in answer.get_data(as_text=True)


@pytest.mark.parametrize("prefix", ["", "/sites/my-site"])
def test_a_deep_link_opened_logged_out_comes_back_after_login_under_any_prefix(
        admin: AdminSite, prefix: str) -> None:
    client = admin.app.test_client()  # type: ignore[attr-defined]
    base = f"http://localhost{prefix}"  # SCRIPT_NAME = prefix, as a fleet's router sets it
    answer = client.get("/admin/deliveries?status=dead", base_url=base)
    assert answer.status_code == 303
    login = answer.headers["Location"]
    assert login.startswith(f"{prefix}/admin/login?next=")
    target = parse_qs(urlsplit(login).query)["next"][0]
    assert target == f"{prefix}/admin/deliveries?status=dead"
    page = client.get(login[len(prefix):], base_url=base).get_data(as_text=True)
    answer = client.post("/admin/login", base_url=base,
                         data={"csrf": csrf_of(page), "token": admin.token, "next": target})
    assert answer.status_code == 303 and answer.headers["Location"] == target


def test_the_printed_token_logs_in_and_a_wrong_one_does_not(admin: AdminSite) -> None:
    client = admin.app.test_client()  # type: ignore[attr-defined]
    page = client.get("/admin/login").get_data(as_text=True)
    answer = client.post("/admin/login", data={"csrf": csrf_of(page), "token": "wrong"})
    assert answer.status_code == 401 and "not the admin token" in answer.get_data(as_text=True)
    page = answer.get_data(as_text=True)
    answer = client.post("/admin/login", data={"csrf": csrf_of(page), "token": admin.token,
                                               "next": "https://evil.example/"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/admin/"  # never another site
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/admin" in cookie
    assert client.get("/admin/").status_code == 200


def test_the_session_cookie_is_secure_over_https(admin: AdminSite) -> None:
    client = admin.app.test_client()  # type: ignore[attr-defined]
    answer = client.get(f"/admin/login?token={admin.token}", base_url="https://localhost")
    assert "Secure" in answer.headers["Set-Cookie"]


def test_login_attempts_are_rate_limited(admin: AdminSite) -> None:
    client = admin.app.test_client()  # type: ignore[attr-defined]
    codes = [client.get("/admin/login?token=guess").status_code for _ in range(6)]
    assert codes == [401] * 5 + [429]
    answer = client.get(f"/admin/login?token={admin.token}")  # even the right one, for now
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0


def test_a_configured_admin_token_is_the_only_one_accepted(site: Site, tmp_path: Path,
                                                           receiver: Receiver) -> None:
    import dataclasses

    from cometwatch.config import Secret
    from cometwatch.web.app import create_app

    made = make(site, tmp_path, receiver.url)
    server = dataclasses.replace(made.context.server, admin_token=Secret("chosen-token"))
    context = dataclasses.replace(made.context, server=server)
    client = create_app(context).test_client()
    assert client.get(f"/admin/login?token={made.token}").status_code == 401
    assert client.get("/admin/login?token=chosen-token").status_code == 303
    made.context.close()


def test_logout_ends_the_session(client: Any) -> None:
    html = client.get("/admin/").get_data(as_text=True)
    assert client.post("/admin/logout", data={"csrf": csrf_of(html)}).status_code == 303
    assert client.get("/admin/").status_code == 303


def test_a_wrong_csrf_token_or_another_origin_is_refused(client: Any, admin: AdminSite) -> None:
    before = admin.config.read_bytes()
    answer = client.post("/admin/webhooks/build/disable", data={"csrf": "forged"})
    assert answer.status_code == 403 and "security token" in answer.get_data(as_text=True)
    html = client.get("/admin/").get_data(as_text=True)
    answer = client.post("/admin/webhooks/build/disable", data={"csrf": csrf_of(html)},
                         headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert "disabled" not in client.get("/admin/").get_data(as_text=True).split("<h2")[2][:200]
    assert admin.config.read_bytes() == before


def test_every_page_has_the_security_headers(client: Any) -> None:
    for path in ("/admin/", "/admin/deliveries", "/admin/webhooks/new", "/admin/login"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert headers["Cache-Control"] == "no-store"


def test_no_page_has_an_inline_script_or_style(client: Any, admin: AdminSite) -> None:
    for path in ("/admin/", "/admin/deliveries", "/admin/webhooks/new",
                 "/admin/webhooks/build/edit", "/admin/webhooks/build/remove"):
        html = client.get(path).get_data(as_text=True)
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], path
        assert " style=" not in html and "<style" not in html, path
        handlers = [tag for tag in re.findall(r"<[a-z][^>]*>", html)
                    if re.search(r"\son[a-z]+=", tag)]
        assert handlers == [], path


def test_the_list_shows_each_webhook_its_secret_source_and_never_the_secret(
        client: Any) -> None:
    html = client.get("/admin/").get_data(as_text=True)
    assert "build" in html and "written in the file" in html
    assert RECEIVER_SECRET not in html
    assert "content.published, content.unpublished" in html
    assert "<svg" in html and "Last 24 hours" in html
    assert "Cursor" in html and "main" in html


def test_adding_a_webhook_keeps_the_files_comments(client: Any, admin: AdminSite,
                                                   receiver: Receiver) -> None:
    _, csrf, digest = form_page(client, "/admin/webhooks/new")
    answer = client.post("/admin/webhooks/new", data={
        "csrf": csrf, "digest": digest, "name": "indexer", "url": receiver.url_for("/idx"),
        "secret": "another-secret", "events": ["content.created", "content.updated"],
        "collections": "posts, pages", "enabled": "on"})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    text = admin.config.read_text()
    assert "# The site's cometwatch config, written by hand" in text
    assert "# The build hook, triggered on publication changes only." in text
    assert "# Notes at the end." in text and "# the receiver" in text
    assert 'name = "indexer"' in text and 'collections = ["posts", "pages"]' in text
    html = client.get("/admin/").get_data(as_text=True)
    assert "Webhook indexer added." in html and "another-secret" not in html


def test_editing_with_the_secret_left_empty_keeps_it(client: Any, admin: AdminSite) -> None:
    html, csrf, digest = form_page(client, "/admin/webhooks/build/edit")
    assert RECEIVER_SECRET not in html and "Leave empty to keep" in html
    answer = client.post("/admin/webhooks/build/edit", data={
        "csrf": csrf, "digest": digest, "name": "build", "url": "https://build.example/hook",
        "secret": "", "events": ["content.published"]})
    assert answer.status_code == 303
    text = admin.config.read_text()
    assert f'secret = "{RECEIVER_SECRET}"' in text and "enabled = false" in text
    assert 'url = "https://build.example/hook"   # the receiver' in text


def test_generate_makes_a_secret_shown_once(client: Any, admin: AdminSite) -> None:
    _, csrf, digest = form_page(client, "/admin/webhooks/build/edit")
    answer = client.post("/admin/webhooks/build/edit", data={
        "csrf": csrf, "digest": digest, "name": "build", "url": "https://build.example/hook",
        "generate": "on", "events": ["content.published"], "enabled": "on"})
    assert answer.status_code == 200
    shown = re.search(r'id="new-secret" class="secret" readonly value="([^"]+)"',
                      answer.get_data(as_text=True))
    assert shown and f'secret = "{shown.group(1)}"' in admin.config.read_text()
    assert answer.headers["Cache-Control"] == "no-store"
    assert shown.group(1) not in client.get("/admin/webhooks/build/edit").get_data(as_text=True)


@pytest.mark.parametrize(("data", "says"), [
    ({"url": "ftp://x.example/"}, "not an http(s) URL"),
    ({"url": "http://x.example/"}, "plain http://"),
    ({"name": "build"}, "already exists"),
    ({"events": ["content.updated", "content.exploded"]}, "unknown event"),
    ({"secret": ""}, "needs a secret"),
    ({"secret": " padded "}, "spaces at its start or end"),
])
def test_bad_input_is_said_beside_its_field_and_the_file_is_intact(
        client: Any, admin: AdminSite, data: dict[str, Any], says: str) -> None:
    before = admin.config.read_bytes()
    _, csrf, digest = form_page(client, "/admin/webhooks/new")
    form = {"csrf": csrf, "digest": digest, "name": "chat", "url": "https://chat.example/in",
            "secret": "s3cret", "events": ["content.created"], "enabled": "on", **data}
    answer = client.post("/admin/webhooks/new", data=form)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert says in html and 'class="field-error"' in html and 'aria-invalid="true"' in html
    assert admin.config.read_bytes() == before


def test_a_huge_form_is_refused_with_a_message(client: Any, admin: AdminSite) -> None:
    before = admin.config.read_bytes()
    _, csrf, digest = form_page(client, "/admin/webhooks/new")
    answer = client.post("/admin/webhooks/new", data={
        "csrf": csrf, "digest": digest, "name": "x", "url": "https://x.example/",
        "secret": "s" * 200_000})
    assert answer.status_code == 413
    assert "larger than 64 KiB" in answer.get_data(as_text=True)
    assert admin.config.read_bytes() == before


def test_a_file_edited_by_hand_meanwhile_is_refused_showing_what_changed(
        client: Any, admin: AdminSite) -> None:
    _, csrf, digest = form_page(client, "/admin/webhooks/build/edit")
    admin.config.write_text(admin.config.read_text().replace("# Notes at the end.",
                                                             "# Notes, edited by hand."))
    before = admin.config.read_bytes()
    answer = client.post("/admin/webhooks/build/edit", data={
        "csrf": csrf, "digest": digest, "name": "build", "url": "https://b.example/",
        "events": ["content.published"], "enabled": "on"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "changed since this page was loaded" in html
    assert "-# Notes at the end." in html and "+# Notes, edited by hand." in html
    assert admin.config.read_bytes() == before


def test_a_read_only_file_is_said_and_left_intact(client: Any, admin: AdminSite) -> None:
    admin.config.chmod(0o444)
    before = admin.config.read_bytes()
    html, csrf, digest = form_page(client, "/admin/webhooks/new")
    assert "read-only (mode 0444)" in html
    answer = client.post("/admin/webhooks/new", data={
        "csrf": csrf, "digest": digest, "name": "chat", "url": "https://chat.example/in",
        "secret": "s3cret", "events": ["content.created"], "enabled": "on"})
    assert answer.status_code == 409 and "read-only" in answer.get_data(as_text=True)
    assert admin.config.read_bytes() == before


def test_removing_a_webhook_asks_then_removes_its_table(client: Any, admin: AdminSite) -> None:
    html, csrf, digest = form_page(client, "/admin/webhooks/build/remove")
    assert "Remove build?" in html
    answer = client.post("/admin/webhooks/build/remove", data={"csrf": csrf, "digest": digest})
    assert answer.status_code == 303
    text = admin.config.read_text()
    assert "[[webhooks]]" not in text and "# Notes at the end." in text
    assert "# The build hook" not in text


def test_run_now_sends_webhook_manual_signed_and_shows_the_answer(
        client: Any, receiver: Receiver) -> None:
    receiver.script("/hook", Answer(202, body=b'{"queued":true}'))
    html = client.get("/admin/").get_data(as_text=True)
    answer = client.post("/admin/webhooks/build/run", data={"csrf": csrf_of(html)})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "HTTP 202" in page
    assert "{&#34;queued&#34;:true}" in page or '{"queued":true}' in page
    [arrival] = receiver.arrivals
    assert arrival.verified and arrival.event == "webhook.manual"
    body = json.loads(arrival.body)
    assert body["data"] == {"manual": True,
                            "triggered_by": {"id": None, "username": "admin", "role": "admin"}}


def test_run_now_through_htmx_answers_a_fragment(client: Any, receiver: Receiver) -> None:
    html = client.get("/admin/").get_data(as_text=True)
    answer = client.post("/admin/webhooks/build/run", data={"csrf": csrf_of(html)},
                         headers={"HX-Request": "true"})
    fragment = answer.get_data(as_text=True)
    assert "HTTP 200" in fragment and "<html" not in fragment


def test_a_commit_gives_deliveries_listed_filtered_and_shown_with_attempts(
        client: Any, admin: AdminSite, receiver: Receiver) -> None:
    receiver.script("/hook", Answer(500, body=b"receiver broke"))
    admin.site.write("posts/new.md", post("title: New"))
    admin.site.commit()
    admin.scan()
    html = client.get("/admin/deliveries").get_data(as_text=True)
    assert "content.published" in html and "posts/new" in html
    assert "No deliveries match" in client.get("/admin/deliveries?status=ok").get_data(
        as_text=True)  # it failed: none is ok
    assert "posts/new" in client.get("/admin/deliveries?status=failed").get_data(as_text=True)
    assert "posts/new" in client.get("/admin/deliveries?entry=new&event=content.published"
                                     "&webhook=build").get_data(as_text=True)
    assert "No deliveries" in client.get("/admin/deliveries?entry=nothing").get_data(
        as_text=True)
    found = re.search(r'href="/admin/deliveries/(\d+)"', html)
    assert found
    page = client.get(f"/admin/deliveries/{found.group(1)}")
    detail = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "HTTP 500" in detail and "receiver broke" in detail
    assert "X-CometCMS-Event-Id" in detail and "User-Agent" in detail
    assert "X-CometCMS-Signature" in detail and "sha256=" in detail  # as sent: an HMAC
    assert RECEIVER_SECRET not in detail
    answer = client.post("/admin/deliveries/redeliver",
                         data={"csrf": csrf_of(detail), "id": found.group(1),
                               "from": "delivery"})
    assert answer.status_code == 303
    after = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Queued 1 again" in after and "pending" in after
    index = client.get("/admin/")  # its picture now has deliveries and attempts to draw
    assert index.status_code == 200
    assert 'class="bar dead"' in index.get_data(as_text=True) or \
        'class="bar open"' in index.get_data(as_text=True)


def test_disable_and_enable_switch_the_webhook_in_the_state(client: Any) -> None:
    html = client.get("/admin/").get_data(as_text=True)
    client.post("/admin/webhooks/build/disable", data={"csrf": csrf_of(html),
                                                       "reason": "maintenance"})
    html = client.get("/admin/").get_data(as_text=True)
    assert "disabled" in html and "maintenance" in html
    client.post("/admin/webhooks/build/enable", data={"csrf": csrf_of(html)})
    html = client.get("/admin/").get_data(as_text=True)
    assert "Webhook build enabled." in html and "badge good" in html


def test_recover_refuses_a_moment_it_cannot_read(client: Any) -> None:
    html = client.get("/admin/").get_data(as_text=True)
    answer = client.post("/admin/webhooks/build/recover",
                         data={"csrf": csrf_of(html), "since": "yesterday-ish"})
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Recover:" in page and "not a UTC time" in page


def test_a_delivery_page_shows_the_headers_as_sent_or_says_they_were_not_recorded(
        client: Any, admin: AdminSite, receiver: Receiver) -> None:
    admin.site.write("posts/new.md", post("title: New"))
    admin.site.commit()
    admin.scan()
    [arrival] = receiver.arrivals
    detail = client.get("/admin/deliveries/1").get_data(as_text=True)
    assert arrival.headers["x-cometcms-signature"] in detail  # the very value sent
    assert "Not recorded" not in detail
    with sqlite3.connect(admin.context.state_path) as raw:  # an attempt from before migration 10
        raw.execute("UPDATE attempts SET headers = NULL")
    detail = client.get("/admin/deliveries/1").get_data(as_text=True)
    assert "Not recorded: this attempt was made before" in detail
    assert arrival.headers["x-cometcms-signature"] not in detail


def test_an_unknown_webhook_or_delivery_is_a_404_page(client: Any) -> None:
    for path in ("/admin/webhooks/nope/edit", "/admin/deliveries/999999"):
        answer = client.get(path)
        assert answer.status_code == 404 and "<html" in answer.get_data(as_text=True)


def test_the_session_cookie_name_is_the_documented_one(client: Any) -> None:
    assert client.get_cookie(SESSION_COOKIE, path="/admin") is not None


def test_recover_after_enable_reopens_what_was_skipped_while_disabled(
        client: Any, admin: AdminSite, receiver: Receiver) -> None:
    html = client.get("/admin/").get_data(as_text=True)
    client.post("/admin/webhooks/build/disable", data={"csrf": csrf_of(html)})
    admin.site.write("posts/while-off.md", post("title: While off"))
    admin.site.commit()
    admin.scan()
    assert "skipped" in client.get("/admin/deliveries?webhook=build").get_data(as_text=True)
    client.post("/admin/webhooks/build/enable", data={"csrf": csrf_of(html)})
    hint = client.get("/admin/").get_data(as_text=True)
    assert "Recover since" in hint
    said = []
    for since in ("1h", admin.site.git("rev-parse", "HEAD~1")):  # a duration, then a commit
        answer = client.post("/admin/webhooks/build/recover",
                             data={"csrf": csrf_of(html), "since": since})
        said.append(client.get(answer.headers["Location"]).get_data(as_text=True))
    assert "build: 1 dead or skipped since" in said[0]  # the skipped one, reopened
    assert "build: 0 dead or skipped since" in said[1]  # already open again: not twice
    assert "no daemon runs" in said[0]


def test_every_field_has_a_label(client: Any) -> None:
    for path in ("/admin/", "/admin/deliveries", "/admin/webhooks/new",
                 "/admin/webhooks/build/edit"):
        html = client.get(path).get_data(as_text=True)
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        for tag in re.findall(r"<(?:input|select)\b[^>]*>", html):
            if 'type="hidden"' in tag or "aria-label=" in tag:
                continue
            found = re.search(r'\bid="([^"]+)"', tag)
            assert found and found.group(1) in labelled, (path, tag)


def test_the_generated_token_is_shown_once_and_kept_only_hashed(admin: AdminSite) -> None:
    import hashlib
    import sqlite3

    from cometwatch.web.admin import announce

    said: list[str] = []
    announce(admin.context, "http://127.0.0.1:8750", said.append)  # a second start
    assert said == ["Webhooks page: http://127.0.0.1:8750/admin/ (log in with the token "
                    "shown at its first start)"]
    with sqlite3.connect(admin.context.state_path) as db:
        [(kept,)] = db.execute("SELECT sha256 FROM admin_token").fetchall()
    assert kept == hashlib.sha256(admin.token.encode()).hexdigest()
    assert admin.token.encode() not in admin.context.state_path.read_bytes()


def test_what_a_receiver_answers_is_shown_escaped(client: Any, receiver: Receiver) -> None:
    receiver.script("/hook", Answer(200, body=b"<script>alert(1)</script><img src=x>"))
    html = client.get("/admin/").get_data(as_text=True)
    page = client.post("/admin/webhooks/build/run",
                       data={"csrf": csrf_of(html)}).get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<img src=x>" not in page


def test_a_refusal_answered_to_htmx_is_a_fragment_it_shows_in_place(client: Any) -> None:
    answer = client.post("/admin/webhooks/build/run", data={"csrf": "stale"},
                         headers={"HX-Request": "true"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 403 and "security token" in text and "<html" not in text
    html = client.get("/admin/").get_data(as_text=True)
    assert '"responseHandling"' in html  # htmx is told to swap error answers too
