"""A site for the Webhooks page's tests: a real repository with commits, a commented
webhooks.toml pointing at a real receiver, a state with its baseline, the Flask app."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from conftest import Site, post
from receiver import RECEIVER_SECRET

from cometwatch.config import load_config
from cometwatch.web.admin import first_token
from cometwatch.web.app import create_app
from cometwatch.web.context import SiteContext

CONFIG = """\
# The site's cometwatch config, written by hand: keep these notes.
[repository]
path = "{repo}"   # the site

[state]
path = "{state}"

# The build hook, triggered on publication changes only.
[[webhooks]]
name = "build"
url = "{url}"   # the receiver
secret = "{secret}"
events = ["content.published", "content.unpublished"]

# Notes at the end.
"""


@dataclass
class AdminSite:
    site: Site
    config: Path
    context: SiteContext
    token: str
    app: object

    def scan(self) -> None:
        """What the daemon does on a commit: derive, store, send what is due."""
        from cometwatch.commands.redeliver import send_now
        from cometwatch.scanner import Scanner
        from cometwatch.source import Source
        from cometwatch.store import Store

        config = load_config(str(self.config))
        with Store.open(self.context.state_path) as store, Source.open(config) as source:
            Scanner(config, store, source).scan(time.time())
        import contextlib
        import io

        with contextlib.redirect_stdout(io.StringIO()):
            send_now(config, self.context.state_path, [])


def make(site: Site, tmp_path: Path, url: str, secret: str = RECEIVER_SECRET) -> AdminSite:
    from cometwatch.scanner import Scanner
    from cometwatch.source import Source
    from cometwatch.store import Store

    site.write("posts/hello.md", post("title: Hello"))
    site.commit()
    config_file = tmp_path / "webhooks.toml"
    config_file.write_text(CONFIG.format(repo=site.root, state=tmp_path / "state" / "state.db",
                                         url=url, secret=secret))
    config = load_config(str(config_file), secrets=False, serving=True)
    context = SiteContext.open(config)
    with Store.open(context.state_path) as store, Source.open(config) as source:
        Scanner(config, store, source).scan(time.time())  # the baseline
    token = first_token(context)
    assert token is not None
    return AdminSite(site, config_file, context, token, create_app(context))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def digest_of(html: str) -> str:
    found = re.search(r'name="digest" value="([0-9a-f]{64})"', html)
    assert found, "no digest in the form"
    return found.group(1)
