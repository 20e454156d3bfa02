"""The Public API on a real server: routes, errors, tokens, list semantics, ETags."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from apisite import TOKEN, ApiRig
from conftest import GIT_ENV, Site, post
from openapi_check import check_response

if TYPE_CHECKING:
    from flask import Flask

FIXED = 1_700_000_000


@pytest.fixture
def fresh(site: Site, tmp_path: Path) -> Iterator[ApiRig]:
    """An empty site of the test's own, for a test that commits or moves the clock."""
    running = ApiRig(site, tmp_path, check=check_response)
    yield running
    running.close()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiRig]:
    """`blog` committed, scanned and served once for the tests that only read it (a GET
    changes nothing the next test sees); each test asks its own questions of it."""
    root = tmp_path_factory.mktemp("blog")
    with pytest.MonkeyPatch.context() as env:  # the tests' git identity and no user config
        for key, value in GIT_ENV.items():
            env.setenv(key, value)
        running = ApiRig(Site(root / "site"), root, check=check_response)
        blog(running)
        running.url  # noqa: B018 (starts the server, and the git readers it opens, here)
    yield running
    running.close()


def blog(rig: ApiRig) -> None:
    """Three published posts with fields to filter on, a draft, a scheduled one, a page."""
    s = rig.site
    s.write("posts/alpha.md", post("title: Alpha\ncategory: launch\nfeatured: true\n"
                                   "rank: 10\ntags: [red, blue]\nsummary: First words",
                                   "The alpha body mentions zebras.\n"))
    s.commit(time=FIXED)
    s.write("posts/beta.md", post("title: Beta\ncategory: news\nfeatured: false\nrank: 2\n"
                                  "tags: [green]"))
    s.write("posts/gamma.md", post("title: gamma\ncategory: launch\nrank: 33\ntags: []"))
    s.commit(time=FIXED + 60)
    s.write("posts/secret.md", post("title: Secret\ndraft: true\ncategory: launch"))
    s.write("posts/soon.md", post("title: Soon\npublishDate: 2033-05-18T03:33:20Z"))
    s.write("pages/about.md", post("title: About"))
    s.commit(time=FIXED + 120)
    rig.scan()


def slugs(answer: object) -> list[str]:
    return [entry["slug"] for entry in answer.json()["data"]]  # type: ignore[attr-defined]


# -- routes and shapes ----------------------------------------------------------------------

def test_health_answers_in_cometcms_shape(rig: ApiRig) -> None:
    answer = rig.get("/health")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    data = answer.json()["data"]
    assert data["ok"] is True and data["extensions"] == {"gd": False, "zip": False}
    assert data["commit"] == rig.site.head()


def test_an_entry_is_found_by_slug_and_by_id_with_its_fields(rig: ApiRig) -> None:
    entry = rig.get("/content/posts/alpha").json()["data"]
    assert rig.get(f"/content/posts/{entry['id']}").json()["data"] == entry
    assert entry["type"] == "posts" and entry["status"] == "published"
    assert entry["title"] == "Alpha"
    assert entry["created_at"] == entry["updated_at"] == "2023-11-14T22:13:20Z"
    assert entry["published_at"] == "2023-11-14T22:13:20Z"
    assert entry["data"] == {"category": "launch", "featured": True, "rank": 10,
                             "tags": ["red", "blue"], "summary": "First words",
                             "body": "The alpha body mentions zebras.\n"}
    assert "author_id" not in entry and "updated_by" not in entry  # null: left out


def test_a_list_is_data_and_meta_newest_first_by_default(rig: ApiRig) -> None:
    answer = rig.get("/content/posts").json()
    assert answer["meta"] == {"total": 3, "limit": 3, "offset": 0, "sort": "created_at",
                              "order": "desc"}
    # beta and gamma share a commit: the id breaks the tie, the same way every time
    assert slugs_of(answer)[2] == "alpha"
    assert sorted(slugs_of(answer)[:2]) == ["beta", "gamma"]


def slugs_of(body: dict[str, list[dict[str, str]]]) -> list[str]:
    return [entry["slug"] for entry in body["data"]]


def test_content_types_are_synthesised_per_collection(rig: ApiRig) -> None:
    types = {t["name"]: t for t in rig.get("/content-types").json()["data"]}
    assert set(types) == {"pages", "posts"}
    posts = rig.get("/content-types/posts").json()["data"]
    assert posts == types["posts"]
    assert posts["fields"]["rank"]["type"] == "number"
    assert posts["fields"]["featured"]["type"] == "boolean"
    assert posts["fields"]["body"]["type"] == "markdown"
    assert posts["singleton"] is False and posts["locales"] == []


@pytest.mark.parametrize(("path", "workspace", "status", "code", "message"), [
    ("/content/posts/nobody", "site", 404, "not_found", "Content entry not found."),
    ("/content/nothing", "site", 404, "not_found", "Content collection not found."),
    ("/content/nothing/x", "site", 404, "not_found", "Content collection not found."),
    ("/content-types/nothing", "site", 404, "not_found", "Content type not found."),
    ("/content/posts", "elsewhere", 404, "not_found", "Workspace not found."),
    ("/health", "elsewhere", 404, "not_found", "Workspace not found."),
])
def test_errors_have_cometcms_codes_and_messages(rig: ApiRig, path: str, workspace: str,
                                                status: int, code: str, message: str) -> None:
    answer = rig.get(path, workspace=workspace)
    assert answer.status_code == status
    assert answer.json() == {"error": {"code": code, "message": message}}
    assert answer.headers["content-type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("path", ["/content/posts", "/content-types", "/media",
                                  "/content/posts/alpha"])
def test_unscoped_routes_need_a_workspace(rig: ApiRig, path: str) -> None:
    answer = rig.get(path, workspace="")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "workspace_required"


def test_writes_are_not_allowed_on_a_read_only_api(rig: ApiRig) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        answer = rig.client.request(method, f"{rig.url}/workspaces/site/content/posts/alpha")
        assert answer.status_code == 405, method
        assert answer.json()["error"]["code"] == "method_not_allowed"
        assert "GET" in answer.headers["allow"]


def test_percent_encoded_unicode_slugs_and_explicit_ids_are_found(fresh: ApiRig) -> None:
    fresh.site.write("posts/café-crème.md", post("title: Café"))
    fresh.site.write("posts/odd.md", post("title: Odd\nid: 'urn:x/y z?#%'"))
    fresh.site.commit()
    fresh.scan()
    assert fresh.get(f"/content/posts/{quote('café-crème')}").json()["data"]["title"] == "Café"
    odd = fresh.get(f"/content/posts/{quote('urn:x/y z?#%', safe='')}").json()["data"]
    assert odd["title"] == "Odd" and odd["id"] == "urn:x/y z?#%"


# -- tokens ---------------------------------------------------------------------------------

def test_anonymous_readers_see_only_what_is_published_now(rig: ApiRig) -> None:
    assert sorted(slugs(rig.get("/content/posts"))) == ["alpha", "beta", "gamma"]
    for hidden in ("secret", "soon"):
        assert rig.get(f"/content/posts/{hidden}").status_code == 404


def test_a_token_also_sees_drafts_and_scheduled_entries(rig: ApiRig) -> None:
    listed = rig.get("/content/posts", token=TOKEN).json()
    assert listed["meta"]["total"] == 5
    soon = rig.get("/content/posts/soon", token=TOKEN).json()["data"]
    assert soon["status"] == "published" and soon["published_at"] == "2033-05-18T03:33:20Z"
    assert rig.get("/content/posts/secret", token=TOKEN).json()["data"]["status"] == "draft"
    assert rig.get("/content/posts/alpha", token=TOKEN).headers["cache-control"] == \
        "private, no-cache"


@pytest.mark.parametrize("header", ["Bearer nope", "bearer nope", "Bearer \t nope"])
def test_an_invalid_token_is_401_even_on_a_public_read(rig: ApiRig, header: str) -> None:
    answer = rig.get("/content/posts/alpha", headers={"Authorization": header})
    assert answer.status_code == 401
    assert answer.json() == {"error": {"code": "unauthorized",
                                       "message": "Invalid bearer token."}}


@pytest.mark.parametrize("header", ["Bearer", "Basic dXNlcjpwYXNz", "Token x", "",
                                    "Bearertoken"])
def test_an_empty_token_or_another_scheme_is_anonymous(rig: ApiRig, header: str) -> None:
    answer = rig.get("/content/posts", headers={"Authorization": header})
    assert answer.status_code == 200
    assert answer.json()["meta"]["total"] == 3


def test_trashed_entries_need_a_token_and_trash_1(fresh: ApiRig) -> None:
    blog(fresh)
    fresh.site.move("posts/beta.md", ".trash/posts/beta.md")
    fresh.site.commit(time=FIXED + 600)
    fresh.scan()
    assert fresh.get("/content/posts/beta").status_code == 404
    trashed = fresh.get("/content/posts/beta", token=TOKEN).json()["data"]
    assert trashed["deleted_at"] == "2023-11-14T22:23:20Z"
    assert "beta" not in slugs(fresh.get("/content/posts", token=TOKEN))
    assert "beta" in slugs(fresh.get("/content/posts?trash=1", token=TOKEN))
    assert "beta" not in slugs(fresh.get("/content/posts?trash=1"))


def test_a_scheduled_entry_appears_at_its_moment_exactly(fresh: ApiRig) -> None:
    blog(fresh)
    moment = 2_000_000_000.0  # 2033-05-18T03:33:20Z, soon.md's publishDate
    fresh.clock.now = moment - 0.001
    before = fresh.get("/content/posts")
    assert "soon" not in slugs(before)
    fresh.clock.now = moment
    after = fresh.get("/content/posts", headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200  # the moment passed: another ETag
    assert "soon" in slugs(after)
    assert fresh.get("/content/posts/soon").json()["data"]["status"] == "published"


def test_an_expired_entry_is_hidden_and_archived(fresh: ApiRig) -> None:
    fresh.site.write("posts/old.md", post("title: Old\nexpiryDate: 2030-01-01"))
    fresh.site.commit()
    fresh.scan()
    assert fresh.get("/content/posts/old", token=TOKEN).json()["data"]["status"] == "archived"
    assert fresh.get("/content/posts/old").status_code == 404
    fresh.clock.now = 1_800_000_000.0
    assert fresh.get("/content/posts/old").json()["data"]["status"] == "published"


# -- list semantics -------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ("filter[category]=launch", ["alpha", "gamma"]),
    ("filter[category][ne]=launch", ["beta"]),
    ("filter[category][in]=news,launch", ["alpha", "beta", "gamma"]),
    ("filter[category][in][]=news", ["beta"]),
    ("filter[rank][gt]=9", ["alpha", "gamma"]),
    ("filter[rank][gte]=10", ["alpha", "gamma"]),
    ("filter[rank][lt]=10", ["beta"]),
    ("filter[rank][lte]=10", ["alpha", "beta"]),
    ("filter[rank][gt]=2&filter[rank][lt]=33", ["alpha"]),
    ("filter[title][contains]=AMM", ["gamma"]),
    ("filter[featured]=true", ["alpha"]),
    ("filter[featured]=1", ["alpha"]),
    ("filter[featured]=false", ["beta"]),
    ("filter[featured]=0", ["beta"]),
    ("filter[tags]=blue", ["alpha"]),
    ("filter[tags][in]=green,red", ["alpha", "beta"]),
    ("filter[tags][contains]=RE", ["alpha", "beta"]),
    ("filter[slug]=beta", ["beta"]),
    ("filter[nonsense]=x", ["alpha", "beta", "gamma"]),  # unknown fields are ignored
    ("filter[0]=x", ["alpha", "beta", "gamma"]),
    ("filter=plain", ["alpha", "beta", "gamma"]),
    ("q=ZEBRA", ["alpha"]),  # the body
    ("q=first", ["alpha"]),  # a text field
    ("q=  gam  ", ["gamma"]),  # the title, trimmed
    ("q=nothing-matches", []),
    ("filter[category]=news&filter[category]=launch", ["alpha", "gamma"]),  # the last wins
    ("filter[status]=published", ["alpha", "beta", "gamma"]),
])
def test_filters_and_search(rig: ApiRig, query: str, expected: list[str]) -> None:
    answer = rig.get(f"/content/posts?{query}")
    assert answer.status_code == 200
    assert sorted(slugs(answer)) == expected
    assert answer.json()["meta"]["total"] == len(expected)


def test_filter_by_id(rig: ApiRig) -> None:
    alpha = rig.get("/content/posts/alpha").json()["data"]["id"]
    assert slugs(rig.get(f"/content/posts?filter[id]={alpha}")) == ["alpha"]


@pytest.mark.parametrize(("query", "order", "meta"), [
    ("sort=title", ["alpha", "beta", "gamma"], ("title", "asc")),  # case-insensitive
    ("sort=-title", ["gamma", "beta", "alpha"], ("title", "desc")),
    ("sort=title&order=desc", ["gamma", "beta", "alpha"], ("title", "desc")),
    ("sort=title&order=whatever", ["gamma", "beta", "alpha"], ("title", "desc")),
    ("sort=rank", ["beta", "alpha", "gamma"], ("rank", "asc")),  # numbers as numbers
    ("sort=-rank&order=asc", ["gamma", "alpha", "beta"], ("rank", "desc")),
    ("sort=created_at&order=asc", ["alpha"], ("created_at", "asc")),
    ("sort=ti<t>le!", ["alpha", "beta", "gamma"], ("title", "asc")),
    ("sort=", ["alpha"], ("created_at", "desc")),
])
def test_sorting(rig: ApiRig, query: str, order: list[str], meta: tuple[str, str]) -> None:
    answer = rig.get(f"/content/posts?{query}").json()
    got = slugs_of(answer)
    if len(order) == 1:  # only where the first is certain (beta and gamma tie on dates)
        assert order[0] in (got[0], got[-1])
    else:
        assert got == order
    assert (answer["meta"]["sort"], answer["meta"]["order"]) == meta


@pytest.mark.parametrize(("query", "limit", "offset", "count"), [
    ("limit=2", 2, 0, 2),
    ("limit=0", 1, 0, 1),
    ("limit=-5", 1, 0, 1),
    ("limit=abc", 3, 0, 3),  # no number: as if absent
    ("limit=2abc", 2, 0, 2),  # PHP's (int): the leading number
    ("limit=" + "9" * 31, 2**63 - 1, 0, 3),
    ("offset=2", 1, 2, 1),
    ("offset=-3", 3, 0, 3),
    ("offset=99", 0, 99, 0),
    ("limit=1&offset=1", 1, 1, 1),
    ("limit[]=2", 3, 0, 3),
    ("limit=1&limit=2", 2, 0, 2),  # the last duplicate wins
])
def test_limit_and_offset_are_clamped_as_cometcms_clamps_them(
        rig: ApiRig, query: str, limit: int, offset: int, count: int) -> None:
    answer = rig.get(f"/content/posts?{query}").json()
    assert (answer["meta"]["limit"], answer["meta"]["offset"]) == (limit, offset)
    assert len(answer["data"]) == count


def test_offset_pagination_never_skips_or_repeats_entries_of_one_commit(fresh: ApiRig) -> None:
    for n in range(23):
        fresh.site.write(f"posts/p{n:02}.md", post(f"title: Same {n % 3}"))
    fresh.site.commit()
    fresh.scan()
    for sort in ("-created_at", "title", "-title", "updated_at"):
        seen: list[str] = []
        for offset in range(0, 23, 4):
            page = fresh.get(f"/content/posts?sort={sort}&limit=4&offset={offset}").json()
            seen += [entry["id"] for entry in page["data"]]
        assert len(seen) == 23 and len(set(seen)) == 23, sort


# -- ETag -----------------------------------------------------------------------------------

def test_etag_gives_304_until_a_commit_changes_the_cursor(fresh: ApiRig) -> None:
    blog(fresh)
    first = fresh.get("/content/posts/alpha")
    tag = first.headers["etag"]
    again = fresh.get("/content/posts/alpha", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.headers["etag"] == tag and not again.content
    assert fresh.get("/content/posts/alpha", headers={"If-None-Match": f'"x", W/{tag}'}
                   ).status_code == 304
    assert fresh.get("/content/posts/alpha", token=TOKEN).headers["etag"] != tag
    assert fresh.get("/content/posts/alpha?x=1").headers["etag"] != tag
    fresh.site.write("posts/alpha.md", post("title: Alpha 2"))
    fresh.site.commit(time=FIXED + 900)
    fresh.scan()
    changed = fresh.get("/content/posts/alpha", headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.json()["data"]["title"] == "Alpha 2"
    assert changed.json()["data"]["updated_at"] == "2023-11-14T22:28:20Z"
    assert changed.json()["data"]["created_at"] == "2023-11-14T22:13:20Z"


def test_a_large_catalog_is_frozen_out_of_the_collector_and_thawed_for_a_small_one(
        fresh: ApiRig, monkeypatch: pytest.MonkeyPatch) -> None:
    from cometwatch.web import entries

    gc.unfreeze()  # whatever an earlier test left frozen
    fresh.site.write("posts/a.md", post("title: A"))
    fresh.site.commit()
    fresh.scan()
    monkeypatch.setattr(entries, "FREEZE_FROM", 1)  # one file is large
    assert fresh.get("/content/posts/a").status_code == 200
    assert gc.get_freeze_count() > 0
    monkeypatch.setattr(entries, "FREEZE_FROM", 3)  # two files are small
    fresh.site.write("posts/b.md", post("title: B"))
    fresh.site.commit()
    fresh.scan()
    assert fresh.get("/content/posts/b").status_code == 200
    assert gc.get_freeze_count() == 0  # the large one thawed (collectable), the small one not
    fresh.site.write("posts/c.md", post("title: C"))
    fresh.site.commit()
    fresh.scan()
    gc.freeze()  # frozen by someone else: a small catalog's load leaves it so (not thawed)
    try:
        assert fresh.get("/content/posts/c").status_code == 200
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


# -- hostile input --------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "status"), [
    ("/content/posts?%ff=1", 400),
    ("/content/posts?q=%C3%28", 400),
    ("/content/posts/%ff%fe", 400),
    ("/content/posts?q=%zz%", 200),  # not an escape: kept as text, as PHP keeps it
    ("/content/posts?" + "filter" + "[a]" * 200 + "=1", 200),  # too deep: dropped
    ("/content/posts?" + "&".join(f"v{i}=1" for i in range(3000)), 200),
    ("/content/posts?limit=1e999&offset=" + "9" * 400, 200),
    ("/content/posts/" + "a" * 20_000, 404),
    ("/content/posts?sort=" + "-" * 500, 200),
    ("/content/posts?filter[rank][gt][x][y]=1&filter[tags][in][][]=a", 200),
])
def test_hostile_requests_get_an_expected_answer_never_a_500(rig: ApiRig, raw: str,
                                                             status: int) -> None:
    base = f"{rig.url}/workspaces/site"
    answer = rig.client.get(base + raw)
    assert answer.status_code == status, answer.text[:300]
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    assert "error" in answer.json() or "data" in answer.json()


def test_the_openapi_check_catches_an_answer_off_the_document() -> None:
    import httpx

    request = httpx.Request("GET", "http://127.0.0.1:1/api/v1/workspaces/site/content/posts")
    bad = httpx.Response(200, json={"data": [{"id": 1}]}, request=request)
    with pytest.raises(Exception, match=r"(?i)invalid|valid"):
        check_response(bad)
    good = httpx.Response(404, json={"error": {"code": "not_found", "message": "x"}},
                          request=request)
    check_response(good)


def test_the_document_is_served(rig: ApiRig) -> None:
    answer = rig.client.get(f"{rig.url}/openapi.yaml")
    assert answer.status_code == 200
    assert answer.text.startswith("openapi: 3.1.0")


@pytest.fixture(scope="module")
def fast_and_slow(rig: ApiRig) -> tuple[Flask, Flask]:
    """Two apps on the blog's site, each with its own catalog and rendering cache: one
    answering through the fast path, one through the Flask views alone."""
    from cometwatch.web.api import FastPath
    from cometwatch.web.app import create_app

    assert rig._context is not None
    fast_app, slow_app = create_app(rig._context), create_app(rig._context)
    assert isinstance(fast_app.wsgi_app, FastPath)
    slow_app.wsgi_app = slow_app.wsgi_app.inner  # type: ignore[method-assign]
    return fast_app, slow_app


@pytest.mark.parametrize("path", [
    "/content/posts/alpha", "/content/posts", "/content/posts?sort=-rank&limit=2",
    "/content/posts/nobody", "/content/none", "/content/posts/secret", "/content/posts/%C3%A9",
    "/content/posts?%ff", "/content/posts/a%2Fb",
])
@pytest.mark.parametrize("token", [None, TOKEN, "wrong"])
def test_the_fast_path_answers_exactly_as_the_flask_views(
        fast_and_slow: tuple[Flask, Flask], path: str, token: str | None) -> None:
    fast_app, slow_app = fast_and_slow
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = "/api/v1/workspaces/site" + path
    fast = fast_app.test_client().get(url, headers=headers)
    slow = slow_app.test_client().get(url, headers=headers)
    assert (fast.status_code, fast.data) == (slow.status_code, slow.data)
    for name in ("Content-Type", "ETag", "Cache-Control", "Vary", "Content-Length"):
        assert fast.headers.get(name) == slow.headers.get(name), name


@pytest.mark.parametrize(("mode", "author"), [("none", None), ("name", "Test"),
                                              ("email", "Test <test@example.org>")])
def test_authors_are_served_only_as_configured(site: Site, tmp_path: Path, mode: str,
                                               author: str | None) -> None:
    running = ApiRig(site, tmp_path, extra=f'[server]\nauthors = "{mode}"', check=check_response)
    try:
        site.write("posts/a.md", post("title: A"))
        site.commit()
        running.scan()
        site.write("posts/a.md", post("title: A2"))
        site.git("add", "-A")
        site.git("commit", "-qm", "edit", "--author=Other <other@example.org>",
                 time=site.clock + 60)
        running.scan()
        entry = running.get("/content/posts/a").json()["data"]
        assert entry.get("author_id") == author
        edited = None if author is None else author.replace("Test", "Other").replace(
            "test@", "other@")
        assert entry.get("updated_by") == edited
        if mode != "email":
            assert "@" not in json.dumps(entry)
    finally:
        running.close()


def test_a_docusaurus_translation_is_served_with_locale(site: Site, tmp_path: Path) -> None:
    from test_jssites import DOCUSAURUS_TOML, docusaurus_site

    docusaurus_site(site)
    site.commit()
    extra = DOCUSAURUS_TOML.removeprefix("[repository]\n")
    running = ApiRig(site, tmp_path, extra=extra, check=check_response)
    try:
        running.scan()
        # "intro" is the slug of the current docs and of version 1.0's: the one translated
        french = running.get("/content/docs/intro?locale=fr").json()["data"]
        assert french["title"] == "Intro (fr)" and french["locale"] == "fr"
        english = running.get(f"/content/docs/{french['id']}").json()["data"]
        assert english["title"] == "Intro" and english["locale"] == "en"
        assert french["id"] == english["id"]
        assert running.get(f"/content/docs/{english['id']}?locale=fr").json()["data"] == \
            french
        listed = running.get("/content/docs?locale=fr").json()
        assert [e["title"] for e in listed["data"] if e["id"] == english["id"]] == \
            ["Intro (fr)"]
        assert running.get("/content/docs?locale=xx").json()["meta"]["total"] == \
            running.get("/content/docs").json()["meta"]["total"]  # unknown codes: ignored
        kinds = running.get("/content-types/docs").json()["data"]
        assert kinds["locales"] == ["en", "fr"]
    finally:
        running.close()
