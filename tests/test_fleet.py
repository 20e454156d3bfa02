"""Many sites in one daemon: the fleet file, sites refused and skipped, and `cometwatch run` on
a fleet as a subprocess (a broken site, SIGHUP adding and removing sites, a backlog on one site
never holding up another, one HTTP face routed by workspace)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Site, post
from receiver import Answer, Receiver, unused_port
from test_daemon import SECRET, Daemon, wait_for
from test_forges import HEADERS, push_body
from test_metrics import parse, value
from testing import run_cli

from cometwatch.errors import ConfigError
from cometwatch.fleet import is_fleet_file, load_sites, read_fleet
from cometwatch.forges import Forge


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(SECRET) as running:
        yield running


@pytest.fixture
def made() -> Iterator[list[Daemon]]:
    daemons: list[Daemon] = []
    yield daemons
    for daemon in daemons:
        daemon.close()


def make_site(root: Path, name: str, url: str, extra: str = "",
              poll: str = "1h") -> Path:
    """A repository with one entry and its own config (workspace `name`), in root/name."""
    site = Site(root / name / "repo")
    site.write("posts/first.md", post(f"title: {name} first"))
    site.commit()
    config = root / name / "webhooks.toml"
    config.write_text(f'[repository]\npath = "{site.root}"\npoll_interval = "{poll}"\n'
                      f'[daemon]\nshutdown_timeout = "1s"\n'
                      f'[server]\nworkspace = "{name}"\n{extra}'
                      f'[[webhooks]]\nname = "hook"\nurl = "{url}"\nsecret = "{SECRET}"\n'
                      'retry_schedule = ["0s", "1h"]\n')
    return config


def fleet_file(root: Path, sites: list[str], listen: str | None = None,
               extra: str = "") -> Path:
    path = root / "fleet.toml"
    listed = ", ".join(f'"{s}"' for s in sites)
    path.write_text(f"[fleet]\nsites = [{listed}]\n{extra}" +
                    (f'listen = "{listen}"\n' if listen else ""))
    return path


# -- the fleet file ---------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "problem"), [
    ("[fleet]\n", "fleet.sites: must be a non-empty list"),
    ("[fleet]\nsites = []\n", "fleet.sites: must be a non-empty list"),
    ('[fleet]\nsites = "a.toml"\n', "fleet.sites: must be a non-empty list"),
    ('[fleet]\nsites = ["a.toml"]\nlisten = 8750\n', "fleet.listen: must be a string"),
    ('[fleet]\nsites = ["a.toml"]\nlisten = "0.0.0.0:8750"\n', "not a loopback address"),
    ('[fleet]\nsites = ["a.toml"]\nlisten = "nonsense"\n', "fleet.listen: "),
    ('[fleet]\nsites = ["a.toml"]\nworkers = 4\n', "fleet.workers: unknown key"),
    ('[fleet]\nsites = ["a.toml"]\ndelivery_threads = 0\n', "fleet.delivery_threads: 0 is"),
    ('[fleet]\nsites = ["a.toml"]\nmetrics_token = "x"\n', "fleet.metrics_token"),
    ('[fleet]\nsites = ["a.toml"]\n[[webhooks]]\nname = "x"\n', "webhooks: not allowed"),
    ("[fleet\n", "not valid TOML"),
])
def test_a_broken_fleet_file_is_one_error_naming_the_key(tmp_path: Path, text: str,
                                                         problem: str) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[")):
        read_fleet(path)


def test_site_globs_expand_sorted_in_the_order_written_once_each(tmp_path: Path) -> None:
    for name in ("b", "a", "c"):
        (tmp_path / "sites" / name).mkdir(parents=True)
        (tmp_path / "sites" / name / "webhooks.toml").write_text("")
    path = fleet_file(tmp_path, ["sites/c/webhooks.toml", "sites/*/webhooks.toml",
                                 str(tmp_path / "sites/a/webhooks.toml")])
    fleet = read_fleet(path)
    assert [f.parent.name for f in fleet.site_files()] == ["c", "a", "b"]
    assert is_fleet_file(path)
    assert not is_fleet_file(tmp_path / "sites" / "a" / "webhooks.toml")


def test_a_site_that_cannot_load_or_clashes_is_refused_and_the_others_kept(
        tmp_path: Path) -> None:
    good = make_site(tmp_path, "good", "http://127.0.0.1:9/x")
    broken = tmp_path / "broken" / "webhooks.toml"
    broken.parent.mkdir()
    broken.write_text("[repository\n")
    twin = tmp_path / "twin" / "webhooks.toml"  # another file, the same workspace
    twin.parent.mkdir()
    twin.write_text(good.read_text())
    missing = tmp_path / "missing.toml"
    sites, refused = load_sites(read_fleet(fleet_file(
        tmp_path, [str(good), str(broken), str(twin), str(missing)])))
    assert [file for file, _ in sites] == [good.resolve()]
    reasons = {r.file.name if r.file.name != "webhooks.toml" else r.file.parent.name: r.reason
               for r in refused}
    assert "not valid TOML" in reasons["broken"]
    assert "workspace 'good'" in reasons["twin"]
    assert "no such config file" in reasons["missing.toml"]


# -- the daemon -------------------------------------------------------------------------------

def test_one_daemon_serves_many_sites_skips_a_broken_one_and_sighup_adds_and_removes(
        tmp_path: Path, receiver: Receiver, made: list[Daemon]) -> None:
    configs = {name: make_site(tmp_path, name, receiver.url_for(f"/{name}"))
               for name in ("alpha", "beta", "gamma")}
    broken = tmp_path / "broken.toml"
    broken.write_text('[repository]\npath = "/nonexistent"\nbogus = 1\n')
    absent = make_site(tmp_path, "absent", receiver.url_for("/absent"), poll="1s")
    absent_repo = tmp_path / "absent" / "repo"
    absent_repo.rename(tmp_path / "absent" / "moved")  # its repository is missing for now
    fleet = fleet_file(tmp_path, [str(configs["alpha"]), str(configs["beta"]), str(broken),
                                  str(absent)])
    made.append(Daemon(fleet))
    daemon = made[0].start()
    assert "broken.toml skipped" in daemon.log()

    sites = {name: Site.__new__(Site) for name in configs}
    for name, site in sites.items():
        site.root, site.clock = tmp_path / name / "repo", 1_800_000_000
    for name in ("alpha", "beta"):
        sites[name].write("posts/first.md", post(f"title: {name} edited"))
        sites[name].commit()
    wait_for(lambda: {a.path for a in receiver.arrivals} >= {"/alpha", "/beta"},
             "a webhook from each running site", alive=daemon.proc)
    assert "[alpha] baseline: main at" in daemon.log()  # each line names its site

    # The missing repository appears: that site starts on its own, the others never stopped.
    (tmp_path / "absent" / "moved").rename(absent_repo)
    wait_for(lambda: "watching main in" in daemon.log() and
             daemon.log().count("watching main in") >= 3, "the absent site to start",
             alive=daemon.proc)

    fleet_file(tmp_path, [str(configs["alpha"]), str(configs["gamma"])])
    daemon.send(signal.SIGHUP)
    wait_for(lambda: "site beta removed from the fleet" in daemon.log(), "beta to stop",
             alive=daemon.proc)
    wait_for(lambda: daemon.log().count("watching main in") >= 4, "gamma to start",
             alive=daemon.proc)
    # "watching" is said when the repository is opened, before its baseline: a commit made
    # before the baseline is part of it and sends nothing.
    wait_for(lambda: "[gamma] baseline:" in daemon.log(), "gamma's baseline",
             alive=daemon.proc)
    sites["gamma"].write("posts/first.md", post("title: gamma edited"))
    sites["gamma"].commit()
    wait_for(lambda: "/gamma" in {a.path for a in receiver.arrivals}, "gamma's webhook",
             alive=daemon.proc)
    assert daemon.stop() == 0


def test_a_backlog_on_one_site_never_holds_up_another(
        tmp_path: Path, receiver: Receiver, made: list[Daemon]) -> None:
    slow = make_site(tmp_path, "slow", receiver.url_for("/slow"))
    quick = make_site(tmp_path, "quick", receiver.url_for("/quick"))
    made.append(Daemon(fleet_file(tmp_path, [str(slow), str(quick)])))
    daemon = made[0].start()
    receiver.script("/slow", *[Answer(hang=True)] * 50)  # its endpoint holds every request
    slow_site = Site.__new__(Site)
    slow_site.root, slow_site.clock = tmp_path / "slow" / "repo", 1_800_000_000
    for n in range(30):
        slow_site.write(f"posts/p{n}.md", post(f"title: P{n}"))
    slow_site.commit()  # 30 deliveries for an endpoint that answers none
    wait_for(lambda: receiver.hanging >= 1, "the slow site's requests to hang",
             alive=daemon.proc)
    quick_site = Site.__new__(Site)
    quick_site.root, quick_site.clock = tmp_path / "quick" / "repo", 1_800_000_000
    quick_site.write("posts/first.md", post("title: quick edited"))
    quick_site.commit()
    wait_for(lambda: len(receiver.requests("/quick")) >= 1, "the other site's webhook",
             alive=daemon.proc)
    receiver.script("/slow")  # the held requests answer, and so do the 29 behind them:
    receiver.release()  # the stop need not wait out its shutdown_timeout for a held one
    assert daemon.stop() == 0


def test_one_http_face_routes_each_workspace_to_its_site(
        tmp_path: Path, receiver: Receiver, made: list[Daemon]) -> None:
    push = ('admin_token = { value = "admin-token" }\n'
            '[server.push_secrets]\ngithub = { value = "push-secret" }\n')
    one = make_site(tmp_path, "one", receiver.url_for("/one"), push)
    two = make_site(tmp_path, "two", receiver.url_for("/two"), push)
    port = unused_port()
    made.append(Daemon(fleet_file(tmp_path, [str(one), str(two)], f"127.0.0.1:{port}",
                                  'metrics_token = { value = "fleet-token" }\n')))
    daemon = made[0].start()
    base = f"http://127.0.0.1:{port}"

    def site_metrics(name: str) -> int:
        return httpx.get(f"{base}/sites/{name}/metrics").status_code

    wait_for(lambda: site_metrics("one") == 200 and site_metrics("two") == 200,
             "both sites' apps", alive=daemon.proc)
    body = push_body(Forge.GITHUB)
    answer = httpx.post(f"{base}/hooks/push/two", content=body,
                        headers=HEADERS[Forge.GITHUB](body, secret="push-secret"))
    assert answer.status_code == 202, answer.text
    assert httpx.post(f"{base}/hooks/push/nobody", content=body).status_code == 404
    assert httpx.get(f"{base}/api/v1/workspaces/nobody/health").json()["error"] == \
        {"code": "not_found", "message": "Workspace not found."}
    assert httpx.get(f"{base}/api/v1/content/posts").json()["error"]["code"] == \
        "workspace_required"
    # Each site's admin is its own, under its prefix: its links and its cookie carry it.
    admin = httpx.get(f"{base}/sites/one/admin/")
    assert admin.status_code == 303
    assert admin.headers["Location"].startswith("/sites/one/admin/login")
    assert httpx.get(f"{base}/sites/one/admin/login").status_code == 200
    index = httpx.get(f"{base}/admin/")
    assert index.status_code == 200
    assert 'href="/sites/one/admin/"' in index.text and 'href="/sites/two/admin/"' in index.text
    assert httpx.get(f"{base}/metrics").status_code == 401
    assert httpx.get(f"{base}/metrics", headers={"Authorization": "Bearer nope"}).json() == \
        {"error": {"code": "unauthorized", "message": "Invalid bearer token."}}
    samples = parse(httpx.get(f"{base}/metrics",
                              headers={"Authorization": "Bearer fleet-token"}).text)
    assert value(samples, "cometwatch_push_requests_total", site="two", forge="github",
                 result="fetch") == 1
    assert value(samples, "cometwatch_push_requests_total", site="one", forge="github",
                 result="fetch") is None
    assert value(samples, "cometwatch_outbox_deliveries", site="one", webhook="hook",
                 status="pending") == 0
    assert daemon.stop() == 0


# -- the one-site commands given a fleet file --------------------------------------------------

def broken_site(root: Path) -> Path:
    config = root / "broken" / "webhooks.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[repository]\npath = "/nowhere"\n[[webhooks]]\nname = "x"\n')  # no url
    return config


def test_check_on_a_fleet_checks_every_site_and_reports_a_broken_one_in_its_place(
        tmp_path: Path) -> None:
    one = make_site(tmp_path, "one", "http://127.0.0.1:9/one")
    two = make_site(tmp_path, "two", "http://127.0.0.1:9/two")
    broken = broken_site(tmp_path)
    fleet = fleet_file(tmp_path, [str(one), str(broken), str(two)])
    code, out, err = run_cli("--config", str(fleet), "check")
    assert code == 2, err  # the worst: a site's config error
    assert "unknown key" not in out + err
    blocks = out.split("site        ")[1:]
    assert [block.splitlines()[0] for block in blocks] == [
        str(one.resolve()), str(broken.resolve()), str(two.resolve())]
    assert "entries     1 (1 published)" in blocks[0] and "entries     1" in blocks[2]
    assert "error       " in blocks[1] and "webhooks[0]" in blocks[1]
    assert "3 sites, 2 fine, 1 with problems" in out


def test_check_on_a_fleet_of_good_sites_exits_0(tmp_path: Path) -> None:
    one = make_site(tmp_path, "one", "http://127.0.0.1:9/one")
    code, out, err = run_cli("--config", str(fleet_file(tmp_path, [str(one)])), "check")
    assert code == 0, err
    assert "1 site, 1 fine, 0 with problems" in out


def test_status_on_a_fleet_is_each_sites_own_and_says_why_one_cannot_be_read(
        tmp_path: Path) -> None:
    one = make_site(tmp_path, "one", "http://127.0.0.1:9/one")
    two = make_site(tmp_path, "two", "http://127.0.0.1:9/two")
    for site in (one, two):
        assert run_cli("--config", str(site), "scan").returncode == 0  # a baseline: a state
    broken = broken_site(tmp_path)
    fleet = fleet_file(tmp_path, [str(one), str(two), str(broken)])
    code, out, err = run_cli("--config", str(fleet), "status")
    assert code == 1 and "unknown key" not in out + err
    blocks = out.split("site        ")[1:]
    assert len(blocks) == 3
    assert all("cursor      main at" in block for block in blocks[:2])
    assert str(one.parent) in blocks[0] and str(two.parent) in blocks[1]  # each its own state
    assert "error       " in blocks[2]
    code, out, _ = run_cli("--config", str(fleet), "status", "--json")
    sites = json.loads(out)["sites"]
    assert [s.get("workspace") for s in sites] == ["one", "two", None]
    assert sites[0]["status"]["cursors"][0]["branch"] == "main"
    assert "webhooks[0]" in sites[2]["error"]


@pytest.mark.parametrize("command", [("scan",), ("events",), ("deliveries",),
                                     ("webhooks", "list"), ("entries",), ("redeliver", "1"),
                                     ("send-test", "hook"), ("serve",)])
def test_a_one_site_command_given_a_fleet_file_refuses_in_one_line_naming_the_fix(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    one = make_site(tmp_path, "one", "http://127.0.0.1:9/one")
    code, out, err = run_cli("--config", str(fleet_file(tmp_path, [str(one)])), *command)
    assert code == 2 and out == ""
    [line] = err.splitlines()
    assert "a fleet file" in line and "--config with that site's own config" in line
    assert "unknown key" not in line
