"""`cometwatch recover --webhook NAME --since TIME|REV`: send what died, was skipped or never
had a delivery."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from cometwatch.commands import arguments
from cometwatch.escape import say

if TYPE_CHECKING:
    from cometwatch.config import Config


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "recover", help="send what died, was skipped or was never sent since a moment",
        description="Open again every delivery of one webhook that died or was skipped since "
                    "a moment (after an outage, or once a disabled webhook is enabled again), "
                    "each with a fresh retry schedule; create the deliveries it never had for "
                    "the events since then that it wants (stored while it had enabled = false "
                    "or was not in the config); and send them in order.")
    parser.add_argument("--webhook", metavar="NAME", required=True)
    parser.add_argument("--since", metavar="TIME|REV", required=True, type=arguments.since,
                        help="a UTC time (2026-05-01 or 2026-05-01T10:00), a duration ago "
                             "(2h, 3d), or a commit (its committer time)")
    parser.add_argument("--no-send", action="store_true",
                        help="only queue them (for the running daemon or the next scan)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.config import load_config

    config = load_config(args.config, secrets=not args.no_send)
    return recover(config, args.webhook, args.since, send=not args.no_send)


def recover(config: Config, webhook: str, since: arguments.Since, send: bool = True) -> int:
    """Reopen what `webhook` missed since a moment, create what it never had, and (with
    `send`) send them in order."""
    import time

    from cometwatch.commands.deliveries import moment
    from cometwatch.commands.redeliver import send_now
    from cometwatch.errors import CometwatchError
    from cometwatch.progress import counted
    from cometwatch.source import open_state

    now = time.time()
    hook = config.webhook(webhook)
    if hook is None:
        names = ", ".join(h.name for h in config.webhooks) or "none configured"
        raise CometwatchError(f"no webhook named {webhook!r} in the config ({names})")
    if not hook.enabled:
        raise CometwatchError(f"webhook {hook.name} has enabled = false in the config: set "
                              "enabled = true first")
    start = parse_since(since, config)
    with open_state(config, create=False) as store:
        state = store.webhook_states().get(hook.name)
        if state is not None and state.disabled_at is not None:
            raise CometwatchError(f"webhook {hook.name} is disabled ({state.disabled_reason}): "
                                  f"`cometwatch webhooks enable {hook.name}` first")
        recovered = store.recover(hook.name, start, now, hook.wants)
        path = store.path
    say(f"{hook.name}: {counted(len(recovered.reopened), 'delivery', 'deliveries')} dead or "
          f"skipped since {moment(start)} reopened; {len(recovered.created)} created for the "
          "events since then that were stored without one")
    if recovered.forgotten:
        say(f"{counted(recovered.forgotten, 'event')} it wants, stored before the last purge of "
              "settled deliveries, left out: a delivery of each may have been sent and purged")
    ids = recovered.reopened + recovered.created
    if not ids or not send:
        return 0
    return send_now(config, path, ids)


def parse_since(since: arguments.Since, config: Any) -> float:
    """The moment `--since` names: parsed already, or a commit's committer time."""
    if since.moment is not None:
        return since.moment
    from cometwatch.errors import UsageError
    from cometwatch.gitrepo import Repository

    text = since.revision or ""
    with Repository(config.repository.path) as repo:
        sha = repo.resolve(text)
        if sha is None:
            raise UsageError(f"--since {text!r}: not a UTC time (2026-05-01, 2026-05-01T10:00, "
                             "2026-05-01T10:00+02:00), a duration ago (30m, 2h, 3d) or a commit "
                             f"of {repo.path} (HEAD~3, a sha, a tag)")
        return float(repo.commit_time(sha))
