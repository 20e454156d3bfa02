"""`cometwatch webhooks list|enable NAME|disable NAME`: the webhooks' state."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from cometwatch.escape import say

if TYPE_CHECKING:
    from cometwatch.config import Config


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "webhooks", help="list webhooks and their state; enable or disable one",
        description="A webhook answered 410 Gone (or kept failing for [delivery] "
                    "disable_after) is disabled in the state: its new deliveries are recorded "
                    "as skipped until `cometwatch webhooks enable NAME`. `disable NAME` does "
                    "the same by hand. `enabled = false` in the config is another matter: that "
                    "webhook gets no deliveries at all.")
    actions = parser.add_subparsers(dest="action", metavar="list|enable NAME|disable NAME")
    actions.add_parser("list", help="every webhook, its config and its state")
    enable = actions.add_parser("enable", help="enable a disabled webhook again")
    enable.add_argument("name", metavar="NAME")
    disable = actions.add_parser("disable", help="disable a webhook: its deliveries are skipped")
    disable.add_argument("name", metavar="NAME")
    disable.add_argument("--reason", default="disabled by hand", help="recorded and shown")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.config import load_config

    config = load_config(args.config, secrets=False)  # reads state, never signs
    if args.action in (None, "list"):
        return listing(config)
    if args.action == "enable":
        return enable(config, args.name)
    return disable(config, args.name, args.reason)


def listing(config: Config) -> int:
    """`webhooks list`: every webhook, its config and its state."""
    from cometwatch.errors import NoState
    from cometwatch.source import open_state

    try:
        store = open_state(config, create=False)
    except NoState:  # nothing scanned yet: every webhook is as its config says
        return _list(config, {}, {})
    with store:
        return _list(config, store.webhook_states(), store.counts())


def enable(config: Config, name: str) -> int:
    """`webhooks enable NAME`: a disabled webhook gets its deliveries again."""
    return _change(config, name, None)


def disable(config: Config, name: str, reason: str = "disabled by hand") -> int:
    """`webhooks disable NAME`: its open and new deliveries are skipped."""
    return _change(config, name, reason)


def _change(config: Config, name: str, reason: str | None) -> int:
    from cometwatch.source import open_state

    known = {hook.name for hook in config.webhooks}
    with open_state(config, create=reason is not None) as store:
        states = store.webhook_states()
        # A webhook gone from the config may still have deliveries: disabling it sets them
        # aside as skipped.
        if name not in known and name not in states and name not in store.open_counts():
            from cometwatch.errors import CometwatchError

            raise CometwatchError(f"no webhook named {name!r} (known: "
                                  f"{', '.join(sorted(known)) or 'none'})")
        if reason is None:
            return _enable(store, name, states.get(name))
        import time

        skipped = store.disable_webhook(name, reason, time.time())
    say(f"webhook {name} disabled; {skipped} open deliveries skipped "
          f"(`cometwatch webhooks enable {name}` turns it back on)")
    return 0


def _enable(store: Any, name: str, state: Any) -> int:
    from cometwatch.commands.deliveries import moment

    if not store.enable_webhook(name):
        say(f"webhook {name} was not disabled")
        return 0
    say(f"webhook {name} enabled")
    # From the start of the failure streak that led to the disabling (deliveries died during
    # it too), else from the disabling itself. `state` was read before enabling cleared it.
    began = min(t for t in (state.failing_since, state.disabled_at) if t is not None)
    skipped = store.counts().get(name, {})
    waiting = sum(count for status, count in skipped.items() if status.value in ("skipped",
                                                                                 "dead"))
    if waiting:
        say(f"{waiting} deliveries were skipped or died; to send those since it began "
              f"failing: cometwatch recover --webhook {name} --since {moment(began)}")
    return 0


def _list(config: Any, states: dict[str, Any], counts: dict[str, Any]) -> int:
    from cometwatch.commands.deliveries import moment
    from cometwatch.redaction import redact_url

    if not config.webhooks and not states and not counts:
        say("no webhooks configured")
        return 0
    for hook in config.webhooks:
        state = states.get(hook.name)
        if not hook.enabled:
            status = "off (enabled = false in the config)"
        elif state is not None and state.disabled_at is not None:
            status = f"DISABLED since {moment(state.disabled_at)}: {state.disabled_reason}"
        else:
            status = "active"
        extra = []
        if state is not None and state.last_success is not None:
            extra.append(f"last success {moment(state.last_success)}")
        if state is not None and state.failing_since is not None:
            extra.append(f"failing since {moment(state.failing_since)}")
        tally = counts.get(hook.name, {})
        if tally:
            extra.append(", ".join(f"{n} {s.value}" for s, n in sorted(tally.items())))
        say(f"{hook.name}  {redact_url(hook.url)}  {status}"
              + (f"  ({'; '.join(extra)})" if extra else ""))
    for name in sorted((set(states) | set(counts)) - {hook.name for hook in config.webhooks}):
        tally = counts.get(name, {})
        waiting = sum(n for s, n in tally.items() if s.value in ("pending", "failed"))
        say(f"{name}  (no longer in the config"
              + (f"; {waiting} open deliveries kept, not sent, until it is back" if waiting
                 else "") + ")")
    return 0
