"""`cometwatch run` as a subprocess, against real repositories and a real HTTP receiver."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import GIT_ENV, Site, post
from receiver import Receiver
from testing import patience, run_cli
from testing import wait_for as _wait_for

from cometwatch.store import DeliveryStatus, Store

pytestmark = pytest.mark.process  # the daemon as a process of its own, in every test here

PYTHON = sys.executable
SECRET = "daemon-test-secret"


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0,
             alive: subprocess.Popen[bytes] | None = None) -> None:
    """testing.wait_for, failing at once when the daemon `alive` has exited."""
    _wait_for(check, what, timeout, None if alive is None else lambda: alive.poll() is None)


def write_config(root: Path, url: str, repository: str = "", more: str = "",
                 webhook: str = "") -> Path:
    path = root.parent / "webhooks.toml"
    path.write_text(
        "[repository]\n"
        f'path = "{root}"\n'
        f"{repository}\n"
        "[daemon]\n"
        'shutdown_timeout = "1s"\n'
        f"{more}\n"
        "[[webhooks]]\n"
        'name = "site"\n'
        f'url = "{url}"\n'
        f'secret = "{SECRET}"\n'
        'retry_schedule = ["0s", "100ms", "200ms", "400ms"]\n'
        f"{webhook}\n")
    return path


class Daemon:
    """`python -m cometwatch --config X run` with a notify socket of its own."""

    def __init__(self, config: Path, *run_args: str, env: dict[str, str] | None = None,
                 global_args: tuple[str, ...] = ("-v",)) -> None:
        self.config, self.run_args = config, run_args
        self.extra_env, self.global_args = env or {}, global_args
        # AF_UNIX paths are short (108 bytes): not under pytest's long tmp_path.
        self._folder = Path(tempfile.mkdtemp(prefix="cw-"))
        self.log_path = config.parent / "daemon.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.notes: list[str] = []
        self._socket: socket.socket | None = None
        self._starts = 0

    def start(self, wait: bool = True) -> Daemon:
        self._starts += 1
        address = str(self._folder / f"notify{self._starts}.sock")
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(address)
        env = {k: v for k, v in os.environ.items() if k != "COMETWATCH_CONFIG"}
        env.update(GIT_ENV, NOTIFY_SOCKET=address, **self.extra_env)
        with self.log_path.open("ab") as log:
            if "JOURNAL_STREAM" in self.extra_env:  # as systemd sets it: stderr's device:inode
                info = os.fstat(log.fileno())
                env["JOURNAL_STREAM"] = f"{info.st_dev}:{info.st_ino}"
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "cometwatch", *self.global_args, "--config", str(self.config),
                 "run", *self.run_args], env=env, stdout=log, stderr=log)
        if wait:
            self.wait_for_note("READY=1")
        return self

    def wait_for_note(self, wanted: str, timeout: float = 30.0) -> str:
        """The first notify message (since the last start) with a line starting `wanted`."""
        assert self._socket is not None and self.proc is not None
        deadline = time.monotonic() + patience(timeout)
        while True:
            for note in self.notes:
                if any(line.startswith(wanted) for line in note.split("\n")):
                    self.notes.remove(note)
                    return note
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise AssertionError(f"no {wanted} from the daemon (exit {self.proc.poll()}); "
                                     f"log:\n{self.log()}")
            self._socket.settimeout(min(left, 0.2))
            try:
                self.notes.append(self._socket.recv(4096).decode())
            except TimeoutError:
                continue

    def send(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 20.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._close_socket()
        return code

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self._close_socket()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self.notes.clear()

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        self._close_socket()
        shutil.rmtree(self._folder, ignore_errors=True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(SECRET) as server:
        yield server


@pytest.fixture
def daemons() -> Iterator[Callable[..., Daemon]]:
    made: list[Daemon] = []

    def make(config: Path, *run_args: str, env: dict[str, str] | None = None,
             global_args: tuple[str, ...] = ("-v",)) -> Daemon:
        made.append(Daemon(config, *run_args, env=env, global_args=global_args))
        return made[-1]

    yield make
    for daemon in made:
        daemon.close()


def expected_events(site: Site, config: Path, base: str, tip: str) -> list[tuple[str, str]]:
    """(event id, payload) of every event base..tip gives, in order, from `cometwatch
    events` (which writes no state)."""
    result = run_cli("--config", str(config), "events", f"{base}..{tip}", "--with-ids")
    assert result.returncode == 0, result.stderr
    out = []
    for line in result.stdout.splitlines():
        event_id, _commit, payload = line.split(" ", 2)
        out.append((event_id, payload))
    return out


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout.strip()


def stored_deliveries(site: Site) -> list[tuple[str, DeliveryStatus]]:
    with Store.open(site.root / ".git" / "cometwatch" / "state.db") as store:
        return [(d.event.event_id, d.status) for d in store.deliveries("site", limit=100_000)]


def first_arrivals(receiver: Receiver) -> list[str]:
    return list(dict.fromkeys(arrival.event_id for arrival in receiver.arrivals))


def per_entry(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Event ids grouped by the entry (data.id) their payload names, in order."""
    out: dict[str, list[str]] = {}
    for event_id, payload in pairs:
        out.setdefault(json.loads(payload)["data"]["id"], []).append(event_id)
    return out


# -- the basic promise ------------------------------------------------------------------------

def test_a_commit_gives_a_signed_webhook_and_ready_arrives_on_the_notify_socket(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.write("posts/first.md", post("title: First"))
    base = site.commit("first")
    config = write_config(site.root, receiver.url)
    daemon = daemons(config).start(wait=False)
    ready = daemon.wait_for_note("READY=1")
    assert "STATUS=cursor main@" in ready
    assert receiver.arrivals == []  # the first scan is a silent baseline

    site.write("posts/second.md", post("title: Second"))
    tip = site.commit("second")
    wanted = expected_events(site, config, base, tip)
    wait_for(lambda: len(receiver.arrivals) >= 2, "two deliveries", alive=daemon.proc)
    assert [(a.event_id, a.body.decode()) for a in receiver.arrivals] == wanted
    assert all(arrival.verified for arrival in receiver.arrivals)
    assert [a.event for a in receiver.arrivals] == ["content.created", "content.published"]
    assert daemon.stop() == 0


def test_a_burst_of_100_commits_gives_every_event_once_in_order_per_entry(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.write("posts/seed.md", post("title: Seed"))
    base = site.commit("seed")
    config = write_config(site.root, receiver.url)
    daemon = daemons(config).start()
    for n in range(100):
        name = f"posts/p{n % 10}.md"
        site.write(name, post(f"title: Post {n % 10}\nstatus: {'draft' if n % 3 else 'published'}",
                              f"Revision {n}.\n"))
        site.commit(f"edit {n}")
    wanted = expected_events(site, config, base, site.head())
    wanted_ids = [event_id for event_id, _ in wanted]
    wait_for(lambda: len(receiver.arrivals) >= len(wanted), f"{len(wanted)} deliveries",
             timeout=60, alive=daemon.proc)
    assert daemon.stop() == 0
    got = [(a.event_id, a.body.decode()) for a in receiver.arrivals]
    assert len(got) == len(wanted)  # nothing twice
    assert sorted(got) == sorted(wanted)  # nothing lost, bytes as derived
    assert per_entry(got) == per_entry(wanted)  # each entry's events in order
    assert sorted(event_id for event_id, _ in stored_deliveries(site)) == sorted(wanted_ids)


def test_kill_9_during_a_burst_loses_nothing_and_derives_nothing_twice(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    seed = int(os.environ.get("COMETWATCH_TEST_SEED", random.randrange(1 << 30)))
    rand = random.Random(seed)
    site.write("posts/seed.md", post("title: Seed"))
    base = site.commit("seed")
    config = write_config(site.root, receiver.url)
    daemon = daemons(config).start()
    done = threading.Event()

    def burst() -> None:
        for n in range(60):
            name = f"posts/p{n % 6}.md"
            if n % 13 == 12 and (site.root / name).exists():
                site.remove(name)  # and the next write there restores it
            else:
                site.write(name, post(f"title: P{n % 6}\nstatus: published", f"Rev {n}.\n"))
            site.commit(f"edit {n}")
        done.set()

    writer = threading.Thread(target=burst)
    writer.start()
    kills = 0
    while not done.is_set() and kills < 4:
        done.wait(rand.uniform(0.05, 0.5))
        daemon.kill()
        kills += 1
        daemon.start()
    writer.join()
    wanted = expected_events(site, config, base, site.head())
    wanted_ids = {event_id for event_id, _ in wanted}
    wait_for(lambda: set(first_arrivals(receiver)) >= wanted_ids,
             f"all {len(wanted_ids)} events (seed {seed})", timeout=60, alive=daemon.proc)
    assert daemon.stop() == 0
    context = f"seed {seed}, {kills} kills"
    assert set(first_arrivals(receiver)) == wanted_ids, context  # nothing lost, nothing extra
    stored = stored_deliveries(site)
    assert sorted(event_id for event_id, _ in stored) == sorted(wanted_ids), context  # once
    assert {status for _, status in stored} == {DeliveryStatus.OK}, context
    # A request may be repeated after a kill (at least once), but never out of order.
    by_id = dict(wanted)
    arrived = [(event_id, by_id[event_id]) for event_id in first_arrivals(receiver)]
    assert per_entry(arrived) == per_entry(wanted), context


# -- lifecycle --------------------------------------------------------------------------------

def test_sigterm_exits_0_within_the_shutdown_timeout_even_with_a_request_hanging(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    config = write_config(site.root, receiver.url)
    daemon = daemons(config).start()
    receiver.hang.set()  # the endpoint accepts and never answers
    site.write("posts/b.md", post("title: B"))
    site.commit("b")
    wait_for(lambda: receiver.hanging > 0, "a request in flight", alive=daemon.proc)
    daemon.send(signal.SIGTERM)
    note = daemon.wait_for_note("STOPPING=1")
    assert "STOPPING=1" in note
    assert daemon.stop(timeout=10) == 0  # shutdown_timeout is 1s in the test config
    assert not (site.root / ".git" / "cometwatch" / "cometwatch.pid").exists()
    # Every thread was joined: a normal exit, not the os._exit fallback.
    assert "threads left at exit" not in daemon.log()
    # What was in flight stays open and goes out at the next start.
    receiver.hang.clear()
    daemon.start()
    wait_for(lambda: {a.event for a in receiver.arrivals if a.status == 200} >=
             {"content.created", "content.published"}, "the abandoned delivery",
             alive=daemon.proc)
    assert daemon.stop() == 0


def test_a_second_sigterm_cuts_the_request_and_blames_no_attempt_on_the_endpoint(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    config = write_config(site.root, receiver.url, webhook='timeout = "60s"')
    config.write_text(config.read_text().replace('shutdown_timeout = "1s"',
                                                 'shutdown_timeout = "60s"'))
    daemon = daemons(config).start()
    receiver.hang.set()
    site.write("posts/b.md", post("title: B"))
    site.commit("b")
    wait_for(lambda: receiver.hanging > 0, "a request in flight", alive=daemon.proc)
    daemon.send(signal.SIGTERM)
    daemon.wait_for_note("STOPPING=1")
    daemon.send(signal.SIGTERM)  # do not wait the 60 s for the answer
    assert daemon.stop(timeout=20) == 0
    receiver.hang.clear()
    with Store.open(site.root / ".git" / "cometwatch" / "state.db") as store:
        deliveries = store.deliveries("site")  # b's created and published, in order
        assert [(d.status, d.attempts) for d in deliveries] == [(DeliveryStatus.PENDING, 0)] * 2
        assert all(store.attempts(d.id) == [] for d in deliveries)
        assert store.webhook_states().get("site") is None or \
            store.webhook_states()["site"].failing_since is None


def test_a_storm_of_signals_never_wedges_the_daemon(site: Site, receiver: Receiver,
                                                    daemons: Callable[..., Daemon]) -> None:
    site.commit("a")
    config = write_config(site.root, receiver.url)
    daemon = daemons(config).start()
    assert daemon.proc is not None
    # A handler interrupted by the next signal must not wait on a lock its own frame holds.
    for n in range(300):
        os.kill(daemon.proc.pid, signal.SIGHUP if n % 50 == 49 else signal.SIGUSR1)
    site.write("posts/b.md", post("title: B"))
    site.commit("b")
    wait_for(lambda: len(receiver.arrivals) >= 2, "b's events", alive=daemon.proc)
    for _ in range(100):
        os.kill(daemon.proc.pid, signal.SIGUSR1)
    assert daemon.stop(timeout=15) == 0


def test_sighup_with_a_broken_config_keeps_the_running_one(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    config = write_config(site.root, receiver.url)
    good = config.read_text()
    daemon = daemons(config).start()
    config.write_text(good + "[[webhooks]]\nname = 'broken'\n")  # no url, no secret
    daemon.send(signal.SIGHUP)
    daemon.wait_for_note("READY=1")  # the reload is over (refused)
    assert "reload refused" in daemon.log()
    site.write("posts/b.md", post("title: B"))
    site.commit("b")
    wait_for(lambda: len(receiver.arrivals) >= 2, "deliveries with the old config",
             alive=daemon.proc)
    assert daemon.stop() == 0


def test_sighup_applies_a_valid_new_config(site: Site, receiver: Receiver,
                                           daemons: Callable[..., Daemon]) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    config = write_config(site.root, receiver.url)
    daemon = daemons(config).start()
    config.write_text(config.read_text() + 'events = ["content.published"]\n')
    daemon.send(signal.SIGHUP)
    daemon.wait_for_note("READY=1")
    site.write("posts/b.md", post("title: B"))
    site.commit("b")
    wait_for(lambda: len(receiver.arrivals) >= 1, "a delivery", alive=daemon.proc)
    site.write("posts/c.md", post("title: C"))
    site.commit("c")
    wait_for(lambda: len(receiver.arrivals) >= 2, "a second delivery", alive=daemon.proc)
    assert daemon.stop() == 0
    assert [a.event for a in receiver.arrivals] == ["content.published"] * 2


def test_a_broken_config_at_start_is_one_line_and_exit_2(site: Site, tmp_path: Path) -> None:
    site.commit("a")
    config = tmp_path / "webhooks.toml"
    config.write_text("[repository]\npoll_interval = 'soon'\n")
    result = subprocess.run([PYTHON, "-m", "cometwatch", "--config", str(config), "run"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "repository.poll_interval" in result.stderr


def test_run_without_any_config_file_refuses_at_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COMETWATCH_CONFIG"}
    result = subprocess.run([PYTHON, "-m", "cometwatch", "run"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"no webhooks.toml here ({tmp_path})" in result.stderr
    assert "`cometwatch init` writes one, or pass --config" in result.stderr


def test_a_second_daemon_on_the_same_state_is_refused(site: Site, receiver: Receiver,
                                                      daemons: Callable[..., Daemon]) -> None:
    site.commit("a")
    config = write_config(site.root, receiver.url)
    first = daemons(config).start()
    second = subprocess.run([PYTHON, "-m", "cometwatch", "--config", str(config), "run"],
                            capture_output=True, text=True, timeout=30)
    assert second.returncode == 1
    assert f"(pid {first.proc.pid if first.proc else '?'})" in second.stderr
    assert first.proc is not None and first.proc.poll() is None
    assert first.stop() == 0


def test_the_systemd_watchdog_is_fed_at_half_its_interval(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.commit("a")
    config = write_config(site.root, receiver.url)
    daemon = daemons(config, env={"WATCHDOG_USEC": "200000"}).start()
    for _ in range(3):  # pings keep coming while the daemon idles
        daemon.wait_for_note("WATCHDOG=1", timeout=5)
    assert daemon.stop() == 0


def test_under_journald_log_lines_carry_their_priority_and_no_prefix(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.commit("a")
    config = write_config(site.root, receiver.url)
    daemon = daemons(config, env={"JOURNAL_STREAM": "set"}, global_args=()).start()
    assert daemon.stop() == 0
    lines = daemon.log().splitlines()
    assert any(line.startswith("<6>baseline: main at ") for line in lines), lines
    assert all(line.startswith("<") for line in lines), lines


def test_log_format_json_gives_one_object_a_line(site: Site, receiver: Receiver,
                                                 daemons: Callable[..., Daemon]) -> None:
    site.commit("a")
    config = write_config(site.root, receiver.url)
    daemon = daemons(config, global_args=("--log-format", "json")).start()
    assert daemon.stop() == 0
    records = [json.loads(line) for line in daemon.log().splitlines()]
    assert {"level": "info", "logger": "cometwatch.daemon", "message": "stopping"} in records


def test_a_branch_missing_at_start_is_waited_for_and_ready_is_still_sent(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    config = write_config(site.root, receiver.url, repository='branch = "content"')
    daemon = daemons(config).start(wait=False)
    assert "scan failing" in daemon.wait_for_note("READY=1")
    site.git("branch", "content")  # the first scan that works is the silent baseline
    wait_for(lambda: "baseline: content" in daemon.log(), "the baseline", alive=daemon.proc)
    site.git("checkout", "-q", "content")
    site.write("posts/b.md", post("title: B"))
    site.commit("b")
    wait_for(lambda: len(receiver.arrivals) >= 2, "b's events", alive=daemon.proc)
    assert {json.loads(a.body)["data"]["slug"] for a in receiver.arrivals} == {"b"}
    assert daemon.stop() == 0


def test_an_empty_repository_says_so_and_its_first_commit_is_waited_for(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    config = write_config(site.root, receiver.url, repository='poll_interval = "200ms"')
    daemon = daemons(config).start(wait=False)  # `git init`, nothing committed yet
    assert "scan failing" in daemon.wait_for_note("READY=1")
    assert "branch 'main' has no commits yet (trying again" in daemon.log()
    assert "does not exist" not in daemon.log()
    site.write("posts/a.md", post("title: A"))
    site.commit("a")  # the first commit is the baseline
    wait_for(lambda: "baseline: main" in daemon.log(), "the baseline", alive=daemon.proc)
    site.write("posts/b.md", post("title: B"))
    site.commit("b")
    wait_for(lambda: len(receiver.arrivals) >= 2, "b's events", alive=daemon.proc)
    assert {json.loads(a.body)["data"]["slug"] for a in receiver.arrivals} == {"b"}
    assert daemon.stop() == 0
    log = daemon.log()  # counts read as words: one commit, not "1 commits" or "commit(s)"
    assert "; 1 webhook; state " in log and "(1 commit read)" in log
    assert ": 1 commit, 2 events, 2 deliveries" in log and "(s)" not in log


def test_a_repository_that_appears_later_is_waited_for(
        tmp_path: Path, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    root = tmp_path / "site"  # not there yet
    config = write_config(root, receiver.url, repository='poll_interval = "200ms"')
    daemon = daemons(config).start(wait=False)
    assert "waiting:" in daemon.wait_for_note("READY=1")
    site = Site(root)  # git init, as a mount or a clone finishing would bring it
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    wait_for(lambda: "baseline: main" in daemon.log(), "the baseline", alive=daemon.proc)
    site.write("posts/b.md", post("title: B"))
    site.commit("b")
    wait_for(lambda: len(receiver.arrivals) >= 2, "b's events", alive=daemon.proc)
    assert daemon.stop() == 0


# -- the branch moving in unusual ways --------------------------------------------------------

def test_a_branch_deleted_and_recreated_is_waited_for_not_fatal(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    site.git("branch", "content")
    config = write_config(site.root, receiver.url, repository='branch = "content"\n'
                                                         'poll_interval = "200ms"')
    daemon = daemons(config).start()
    site.git("branch", "-D", "content")
    wait_for(lambda: "does not exist" in daemon.log(), "the missing branch to be noticed",
             alive=daemon.proc)
    site.write("posts/b.md", post("title: B"))
    site.commit("b")
    site.git("branch", "content")
    wait_for(lambda: len(receiver.arrivals) >= 2, "the recreated branch's events",
             alive=daemon.proc)
    assert [a.event for a in receiver.arrivals] == ["content.created", "content.published"]
    assert json.loads(receiver.arrivals[0].body)["data"]["slug"] == "b"
    assert daemon.stop() == 0


def test_a_force_push_diffs_the_old_and_new_trees_as_one_save(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.write("posts/a.md", post("title: A\nstatus: published"))
    base = site.commit("a")
    config = write_config(site.root, receiver.url)
    daemon = daemons(config).start()
    site.write("posts/b.md", post("title: B\nstatus: published"))
    site.commit("b")
    wait_for(lambda: len(receiver.arrivals) >= 2, "b's events", alive=daemon.proc)
    site.git("reset", "-q", "--hard", base)  # b never happened …
    # c shares nothing with b: whether the daemon scans between the reset and this commit or
    # diffs b's tree against c's at once, git must not take c for b renamed
    site.write("posts/c.md", post("title: C\nstatus: published",
                                  "".join(f"Line {n} of c, nothing like b.\n" for n in range(8))))
    site.commit("c")  # … and c did
    wait_for(lambda: len(receiver.arrivals) >= 6, "the rewrite's events", alive=daemon.proc)
    assert daemon.stop() == 0
    after = [(a.event, json.loads(a.body)["data"]["slug"]) for a in receiver.arrivals[2:]]
    assert sorted(after) == sorted([("content.unpublished", "b"), ("content.deleted", "b"),
                                    ("content.created", "c"), ("content.published", "c")])
    assert "not an ancestor" in daemon.log()


# -- scheduled transitions --------------------------------------------------------------------

def test_a_scheduled_publish_fires_at_its_moment_and_one_missed_while_stopped_on_start(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    config = write_config(site.root, receiver.url)
    daemon = daemons(config).start()
    soon = int(time.time()) + 2  # whole seconds (the dates' precision), after the derivation
    later = soon + 1  # after the stop that follows soon's publish (tens of ms after soon)

    def iso(moment: int) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))

    site.write("posts/soon.md", post(f"title: Soon\npublishDate: {iso(soon)}"))
    site.write("posts/later.md", post(f"title: Later\npublishDate: {iso(later)}"))
    site.commit("two scheduled posts", time=int(time.time()))
    wait_for(lambda: len(receiver.arrivals) >= 3, "created ×2 and the first publish",
             alive=daemon.proc)
    published = [json.loads(a.body) for a in receiver.arrivals if a.event == "content.published"]
    assert [(p["data"]["slug"], p["occurred_at"]) for p in published] == [("soon", iso(soon))]
    assert daemon.stop() == 0
    assert len(receiver.arrivals) == 3  # `later` is still ahead
    wait_for(lambda: time.time() > later, "the second moment to pass while stopped")
    daemon.start()
    wait_for(lambda: len(receiver.arrivals) >= 4, "the publish missed while stopped",
             alive=daemon.proc)
    last = json.loads(receiver.arrivals[3].body)
    assert (last["event"], last["data"]["slug"], last["occurred_at"]) == \
        ("content.published", "later", iso(later))
    assert daemon.stop() == 0


# -- delivery beside scanning -----------------------------------------------------------------

def test_a_hanging_endpoint_never_delays_derivation(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    config = write_config(site.root, receiver.url, webhook='timeout = "30s"')
    daemon = daemons(config).start()
    receiver.hang.set()
    site.write("posts/b.md", post("title: B"))
    site.commit("b")
    wait_for(lambda: receiver.hanging > 0, "a hanging request", alive=daemon.proc)
    for n in range(3):
        site.write(f"posts/c{n}.md", post(f"title: C{n}"))
        site.commit(f"c{n}")
    tip = site.head()

    def cursor() -> str | None:
        with Store.open(site.root / ".git" / "cometwatch" / "state.db") as store:
            state = store.cursor("main")
            return state.commit if state else None

    wait_for(lambda: cursor() == tip, "the cursor to reach the tip", alive=daemon.proc)
    assert len(stored_deliveries(site)) == 8
    receiver.hang.clear()
    daemon.stop()


# -- waking: hooks, remote mode ---------------------------------------------------------------

def test_a_git_hook_wakes_a_daemon_that_does_not_watch(
        site: Site, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    site.write("posts/a.md", post("title: A"))
    site.commit("a")
    config = write_config(site.root, receiver.url, repository='poll_interval = "1h"')
    result = run_cli("--config", str(config), "hooks", "install")
    assert result.returncode == 0, result.stderr
    daemon = daemons(config, "--no-watch").start()
    site.write("posts/b.md", post("title: B"))
    site.commit("b")  # post-commit sends SIGUSR1: the only way this daemon learns of it
    wait_for(lambda: len(receiver.arrivals) >= 2, "the poked scan's deliveries",
             alive=daemon.proc)
    assert daemon.stop() == 0
    assert not (site.root / ".git" / "cometwatch" / "hook-scan.log").exists()


def test_remote_mode_fetches_a_shallow_clone_deepened_and_follows_origin(
        tmp_path: Path, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    upstream = Site(tmp_path / "upstream")
    for n in range(3):
        upstream.write(f"posts/p{n}.md", post(f"title: P{n}"))
        upstream.commit(f"p{n}")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(upstream.root), str(origin)], check=True)
    upstream.git("remote", "add", "origin", str(origin))
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{origin}", str(clone)],
                   check=True)
    config = write_config(clone, receiver.url,
                          repository='remote = "origin"\nfetch_interval = "200ms"')
    daemon = daemons(config).start()
    assert git(clone, "rev-parse", "--is-shallow-repository") == "false"
    upstream.git("mv", "posts/p0.md", "posts/renamed.md")
    upstream.commit("rename p0")
    upstream.git("push", "-q", "origin", "main")
    wait_for(lambda: len(receiver.arrivals) >= 1, "the pushed commit's event",
             alive=daemon.proc)
    assert daemon.stop() == 0
    [arrival] = receiver.arrivals
    data = json.loads(arrival.body)["data"]
    assert (arrival.event, data["slug"]) == ("content.updated", "renamed")
    # The id is the one the full history gives (derived from the path p0 was first added at).
    full = subprocess.run([PYTHON, "-m", "cometwatch", "--config", str(config), "events",
                           "--all"], capture_output=True, text=True, check=True).stdout
    first = json.loads(full.splitlines()[0])
    assert first["data"]["slug"] == "p0" and first["data"]["id"] == data["id"]
    # The local branch is left alone: remote mode follows origin/main.
    assert git(clone, "rev-parse", "main") != git(clone, "rev-parse", "origin/main")



def test_a_failing_fetch_says_gits_fatal_lines_once_and_status_shows_it(
        tmp_path: Path, receiver: Receiver, daemons: Callable[..., Daemon]) -> None:
    upstream = Site(tmp_path / "upstream")
    upstream.write("posts/a.md", post("title: A"))
    upstream.commit("a")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(upstream.root), str(clone)], check=True)
    gone = tmp_path / "site.git"  # the remote moved away
    git(clone, "remote", "set-url", "origin", str(gone))
    config = write_config(clone, receiver.url,
                          repository='remote = "origin"\nfetch_interval = "200ms"')
    daemon = daemons(config).start()
    wait_for(lambda: "WARNING" in daemon.log(), "the fetch's warning", alive=daemon.proc)
    [warning] = [line for line in daemon.log().splitlines() if "WARNING" in line]
    assert warning.count("fetching main from origin") == 1, warning
    assert f"fatal: '{gone}' does not appear to be a git repository" in warning
    assert "and the repository exists" not in warning

    def status() -> str:
        ran = run_cli("--config", str(config), "status")
        assert ran.returncode == 0, ran.stderr
        return ran.stdout

    [line] = [line for line in status().splitlines() if line.startswith("fetch ")]
    assert "FAILING since" in line and "does not appear to be a git repository" in line
    git(clone, "remote", "set-url", "origin", str(upstream.root))  # back: fetches work again
    wait_for(lambda: "works again" in daemon.log(), "a fetch that works", alive=daemon.proc)
    wait_for(lambda: "fetch " not in status(), "status to stop saying so", alive=daemon.proc)
    assert daemon.stop() == 0
