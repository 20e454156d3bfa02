"""The Webhooks page in headless Chromium (Selenium), against `cometwatch run` serving it as a
subprocess, a real repository and a real receiver on 127.0.0.1 that checks signatures.

Each screen is photographed into a temporary folder; with COMETWATCH_SCREENSHOTS=DIR (the
README's docs/screenshots) the pictures are written there too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Site, post
from receiver import RECEIVER_SECRET, Answer, Receiver, unused_port
from testing import patience

pytest_plugins = ["receiver"]

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run")

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason=f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}); "
           ".ci/run installs them")

CONFIG = """\
# cometwatch for the test site. Hand-written notes that the page must keep.
[repository]
path = "{repo}"
poll_interval = "1s"

[state]
path = "{state}"

[server]
listen = "127.0.0.1:{port}"   # the Webhooks page and the API

# The build hook: publication changes only.
[[webhooks]]
name = "build"
url = "{url}"   # the receiver
secret = "{secret}"
events = ["content.published", "content.unpublished"]
retry_schedule = ["0s", "1h"]

# End of the file.
"""


def until(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    """Poll `check` until it gives something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + patience(timeout)
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)  # a poll with a deadline, not a synchronisation by sleeping


class Daemon:
    """`cometwatch run` with [server] listen, its stderr read in a thread."""

    def __init__(self, config: Path) -> None:
        env = {k: v for k, v in os.environ.items() if k != "COMETWATCH_CONFIG"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cometwatch", "--config", str(config), "run"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def line(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        def found() -> re.Match[str] | None:
            if self.process.poll() is not None and not any(re.search(pattern, x)
                                                           for x in self.lines):
                raise AssertionError("the daemon exited:\n" + "\n".join(self.lines))
            return next((m for m in (re.search(pattern, x) for x in self.lines) if m), None)

        return until(found, f"a daemon line matching {pattern!r}", timeout)  # type: ignore[no-any-return]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def shots(tmp_path: Path) -> Callable[[Any, str], None]:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    keep = os.environ.get("COMETWATCH_SCREENSHOTS")

    def take(driver: Any, name: str) -> None:
        path = folder / f"{name}.png"
        driver.save_screenshot(str(path))
        assert path.stat().st_size > 1000
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / path.name)

    return take


@pytest.fixture(params=[True], ids=["javascript"])
def browser(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    if not request.param:
        options.add_argument("--blink-settings=scriptEnabled=false")
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_argument("--window-size=1100,1000")
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=CHROMEDRIVER),
                              options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def running(site: Site, tmp_path: Path, receiver: Receiver) -> Iterator[tuple[Daemon, str, Path]]:
    site.write("posts/hello.md", post("title: Hello"))
    site.commit()
    config = tmp_path / "webhooks.toml"
    config.write_text(CONFIG.format(repo=site.root, state=tmp_path / "state" / "state.db",
                                    port=unused_port(), url=receiver.url,
                                    secret=RECEIVER_SECRET))
    daemon = Daemon(config)
    try:
        found = daemon.line(r"Webhooks page: open (http://\S+/admin/login\?token=\S+)")
        yield daemon, found.group(1), config
    finally:
        daemon.stop()


def by(kind: str) -> Any:
    from selenium.webdriver.common.by import By

    return getattr(By, kind)


def test_the_webhooks_page_in_a_browser(running: tuple[Daemon, str, Path], browser: Any,
                                        site: Site, receiver: Receiver,
                                        shots: Callable[[Any, str], None]) -> None:
    daemon, token_url, config = running
    base = token_url.split("/admin/")[0]

    # Not logged in: the login page, whatever is asked.
    browser.get(f"{base}/admin/deliveries")
    assert "Log in" in browser.title
    shots(browser, "login")

    # The printed URL logs in.
    browser.get(token_url)
    until(lambda: "Webhooks" in browser.title, "the webhooks list")
    assert "build" in browser.page_source and RECEIVER_SECRET not in browser.page_source
    assert browser.execute_script("return typeof htmx") == "object"  # loaded under the CSP
    shots(browser, "webhooks")

    # Add a webhook: webhooks.toml keeps its comments.
    browser.find_element(by("LINK_TEXT"), "Add a webhook").click()
    browser.find_element(by("ID"), "name").send_keys("indexer")
    browser.find_element(by("ID"), "url").send_keys(receiver.url_for("/indexer"))
    browser.find_element(by("ID"), "secret").send_keys("indexer-secret-value")
    for box in browser.find_elements(by("NAME"), "events"):
        if box.get_attribute("value") in ("content.published", "content.unpublished"):
            box.click()  # leave created, updated, deleted, restored
    shots(browser, "add-webhook")
    browser.find_element(by("CSS_SELECTOR"), "form.form button[type=submit]").click()
    until(lambda: "Webhook indexer added." in browser.page_source, "the saved note")
    text = config.read_text()
    assert "# cometwatch for the test site. Hand-written notes" in text
    assert "# The build hook: publication changes only." in text
    assert "# End of the file." in text and "# the receiver" in text
    assert 'name = "indexer"' in text
    daemon.line(r"config reloaded: 2 webhooks enabled")  # saved, then reloaded as on SIGHUP

    # A bad URL is said beside its field; the file stays as it is.
    before = config.read_bytes()
    browser.find_element(by("LINK_TEXT"), "Add a webhook").click()
    browser.find_element(by("ID"), "name").send_keys("chat")
    browser.find_element(by("ID"), "url").send_keys("http://chat.example.com/in")
    browser.find_element(by("ID"), "secret").send_keys("s3cret")
    browser.find_element(by("CSS_SELECTOR"), "form.form button[type=submit]").click()
    until(lambda: "plain http://" in browser.page_source, "the URL's error")
    assert browser.find_element(by("ID"), "url").get_attribute("aria-invalid") == "true"
    shots(browser, "field-error")
    assert config.read_bytes() == before

    # The file edited by hand while the form is open: the save refuses and shows the change.
    browser.get(f"{base}/admin/webhooks/indexer/edit")
    config.write_text(config.read_text().replace("# End of the file.", "# Edited by hand."))
    before = config.read_bytes()
    browser.find_element(by("ID"), "collections").send_keys("posts")
    browser.find_element(by("CSS_SELECTOR"), "form.form button[type=submit]").click()
    until(lambda: "changed since this page was loaded" in browser.page_source, "the refusal")
    assert "+# Edited by hand." in browser.page_source
    shots(browser, "file-changed")
    assert config.read_bytes() == before

    # A read-only file: said on the form, Save disabled, nothing written.
    config.chmod(0o444)
    browser.get(f"{base}/admin/webhooks/new")
    assert "read-only (mode 0444)" in browser.page_source
    assert not browser.find_element(by("CSS_SELECTOR"),
                                    "form.form button[type=submit]").is_enabled()
    config.chmod(0o644)
    assert config.read_bytes() == before

    # Run now, against the receiver that checks the signature.
    browser.get(f"{base}/admin/")
    browser.find_elements(by("XPATH"), "//button[text()='Run now']")[0].click()
    until(lambda: "HTTP 200" in browser.page_source, "Run now's answer")
    browser.execute_script("document.querySelector('.run-result').scrollIntoView()")
    manual = receiver.wait_for(1, path="/hook")[-1]
    assert manual.verified and manual.event == "webhook.manual"
    assert json.loads(manual.body)["data"]["manual"] is True
    shots(browser, "run-now")

    # A commit shows up as deliveries; this one fails (500), then is redelivered.
    receiver.script("/hook", Answer(500, body=b"build service down"))
    site.write("posts/launch.md", post("title: Launch"))
    site.commit("publish launch")
    receiver.wait_for(2, path="/hook", timeout=30)

    def failed_row() -> Any:
        browser.get(f"{base}/admin/deliveries?webhook=build&status=failed")
        return browser.find_elements(by("XPATH"), "//a[starts-with(text(), '#')]")

    links = until(failed_row, "the failed delivery in the list", timeout=30)
    shots(browser, "deliveries")
    links[0].click()
    until(lambda: "Attempt 1: HTTP 500" in browser.page_source, "its attempts")
    assert "build service down" in browser.page_source
    browser.find_element(by("TAG_NAME"), "summary").click()
    assert "X-CometCMS-Event-Id" in browser.page_source
    assert RECEIVER_SECRET not in browser.page_source
    shots(browser, "delivery")
    browser.find_element(by("XPATH"), "//button[text()='Redeliver']").click()
    until(lambda: "Queued 1 again" in browser.page_source, "the redelivery")
    redelivered = receiver.wait_for(3, path="/hook", timeout=30)[-1]
    assert redelivered.verified and redelivered.event == "content.published"

    def answered() -> bool:
        browser.refresh()
        return "Attempt 2: HTTP 200" in browser.page_source

    until(answered, "the second attempt's 200", timeout=30)

    # Disable, then enable.
    browser.get(f"{base}/admin/")
    browser.find_elements(by("XPATH"), "//button[text()='Disable']")[0].click()
    until(lambda: "Webhook build disabled" in browser.page_source, "disabled")
    shots(browser, "disabled")
    browser.find_element(by("XPATH"), "//button[text()='Enable']").click()
    until(lambda: "Webhook build enabled." in browser.page_source, "enabled")

    # A narrow screen.
    browser.set_window_size(400, 900)
    browser.get(f"{base}/admin/")
    shots(browser, "narrow")
    browser.set_window_size(1100, 1000)

    # A wrong CSRF token is refused.
    browser.get(f"{base}/admin/")
    browser.execute_script(
        "document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged')")
    browser.find_elements(by("XPATH"), "//button[text()='Run now']")[0].click()  # htmx
    until(lambda: "security token does not match" in browser.find_element(
        by("CSS_SELECTOR"), ".run-result").text, "the refusal, shown in place")
    assert browser.current_url.endswith("/admin/")
    browser.find_elements(by("XPATH"), "//button[text()='Disable']")[0].click()
    until(lambda: browser.current_url.endswith("/disable") and "Refused" in browser.title,
          "the refusal page")
    browser.get(f"{base}/admin/")
    assert "badge good" in browser.page_source  # still active

    # Without a session (cookies gone), a form is refused too.
    browser.delete_all_cookies()
    browser.find_elements(by("XPATH"), "//button[text()='Disable']")[0].click()
    until(lambda: "without a logged-in session" in browser.page_source, "the refusal")


@pytest.mark.parametrize("browser", [False], ids=["no-javascript"], indirect=True)
def test_the_page_works_with_javascript_off(running: tuple[Daemon, str, Path], browser: Any,
                                            receiver: Receiver,
                                            shots: Callable[[Any, str], None]) -> None:
    _, token_url, config = running
    base = token_url.split("/admin/")[0]
    browser.get(token_url)
    until(lambda: "Webhooks" in browser.title, "the webhooks list")
    assert browser.execute_script("return typeof htmx") == "undefined"  # htmx never ran
    # Run now is a plain form: a page of its own with the answer.
    browser.find_elements(by("XPATH"), "//button[text()='Run now']")[0].click()
    until(lambda: "Run now: build" in browser.page_source, "the Run now page")
    assert "HTTP 200" in browser.page_source
    assert receiver.wait_for(1, path="/hook")[-1].event == "webhook.manual"
    # An edit saves.
    browser.get(f"{base}/admin/webhooks/build/edit")
    field = browser.find_element(by("ID"), "collections")
    field.send_keys("posts")
    browser.find_element(by("CSS_SELECTOR"), "form.form button[type=submit]").click()
    until(lambda: "Webhook build saved." in browser.page_source, "the saved note")
    assert 'collections = ["posts"]' in config.read_text()
    # The deliveries' filters are a plain GET form.
    browser.get(f"{base}/admin/deliveries")
    browser.find_element(by("ID"), "f-entry").send_keys("nothing-like-it")
    browser.find_element(by("XPATH"), "//button[text()='Filter']").click()
    until(lambda: "entry=nothing-like-it" in browser.current_url, "the filtered list")
    assert "No deliveries match" in browser.page_source
