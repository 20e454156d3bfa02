"""Property: over random histories, no anonymous answer (list, entry, search, filter, content
type) contains or counts an entry that is not published at the moment it is asked."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from conftest import Site, post
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testing import examples

from cometwatch.config import Secret, ServerConfig, load_config
from cometwatch.scanner import Scanner
from cometwatch.source import Source
from cometwatch.store import Store
from cometwatch.web.app import create_app
from cometwatch.web.context import SiteContext

T = 1_900_000_000  # the moments asked about lie around it
SLUGS = ("a", "b", "c", "d")
iso = "%Y-%m-%dT%H:%M:%SZ"

# a file's state: None (absent), or (where: "live" | "trash", draft, publish offset, expiry)
States = st.one_of(st.none(), st.tuples(
    st.sampled_from(["live", "live", "trash"]), st.booleans(),
    st.one_of(st.none(), st.integers(-300, 300)), st.one_of(st.none(), st.integers(-300, 300))))
Histories = st.lists(st.fixed_dictionaries({slug: States for slug in SLUGS}), min_size=1,
                     max_size=4)
Moments = st.lists(st.integers(-400, 400), min_size=1, max_size=4)


def stamp(offset: int) -> str:
    import time

    return time.strftime(iso, time.gmtime(T + offset))


def text(slug: str, draft: bool, publish: int | None, expiry: int | None) -> str:
    lines = [f"title: Entry {slug}", f"only_{slug}: x", "marker: everywhere"]
    if draft:
        lines.append("draft: true")
    if publish is not None:
        lines.append(f"publishDate: {stamp(publish)}")
    if expiry is not None:
        lines.append(f"expiryDate: {stamp(expiry)}")
    return post("\n".join(lines), "needle in every body\n")


def published(state: Any, moment: int) -> bool:
    if state is None:
        return False
    where, draft, publish, expiry = state
    return where == "live" and not draft and (publish is None or publish <= moment) and \
        (expiry is None or expiry > moment)


def apply(site: Site, states: dict[str, Any]) -> None:
    for slug in SLUGS:
        for folder in ("posts", ".trash/posts"):
            target = site.root / folder / f"{slug}.md"
            if target.exists():
                target.unlink()
        state = states[slug]
        if state is not None:
            where, draft, publish, expiry = state
            folder = "posts" if where == "live" else ".trash/posts"
            site.write(f"{folder}/{slug}.md", text(slug, draft, publish, expiry))


@given(history=Histories, moments=Moments)
@settings(max_examples=examples(25), deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_anonymous_answer_contains_or_counts_an_unpublished_entry(
        history: list[dict[str, Any]], moments: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        site = Site(root / "site")
        site.write("pages/home.md", post("title: Home"))  # a collection that stays published
        site.commit(time=T - 5000)
        config_file = root / "webhooks.toml"
        config_file.write_text(f'[repository]\npath = "{site.root}"\n'
                               f'[state]\npath = "{root / "state.db"}"\n')
        config = load_config(str(config_file), secrets=False)
        for states in history:
            apply(site, states)
            site.commit(time=T - 4000 + len(site.git("log", "--oneline").splitlines()))
            with Store.open(root / "state.db") as store, Source.open(config) as source:
                Scanner(config, store, source).scan(T - 3000)
        now = [0.0]
        context = SiteContext.open(config, clock=lambda: now[0], server=ServerConfig(
            workspace="site", api_tokens=(Secret("token"),)))
        try:
            client = create_app(context).test_client()
            final = history[-1]
            for offset in moments:
                now[0] = T + offset
                check_moment(client, final, offset)
        finally:
            context.close()


def check_moment(client: Any, states: dict[str, Any], moment: int) -> None:
    shown = {slug for slug in SLUGS if published(states[slug], moment)}
    base = "/api/v1/workspaces/site"
    for query in ("", "?q=needle", "?filter[marker]=everywhere", "?sort=-title&limit=2",
                  "?filter[title][contains]=entry", "?limit=1&offset=1"):
        answer = client.get(f"{base}/content/posts{query}")
        if not shown:
            assert answer.status_code == 404, (query, answer.get_json())  # nothing to know of
            continue
        body = answer.get_json()
        slugs = {entry["slug"] for entry in body["data"]}
        assert slugs <= shown, (moment, query, slugs, shown)
        assert body["meta"]["total"] == len(shown), (moment, query, body["meta"], shown)
    for slug in SLUGS:
        status = client.get(f"{base}/content/posts/{slug}").status_code
        assert status == (200 if slug in shown else 404), (moment, slug, status)
    types = client.get(f"{base}/content-types").get_json()["data"]
    posts = [t for t in types if t["name"] == "posts"]
    assert bool(posts) == bool(shown)
    if posts:
        fields = {name for name in posts[0]["fields"] if name.startswith("only_")}
        assert fields == {f"only_{slug}" for slug in shown}, (moment, fields, shown)
    one = client.get(f"{base}/content-types/posts")
    assert one.status_code == (200 if shown else 404)
