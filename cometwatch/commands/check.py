"""`cometwatch check`: validate the config, read the repository, show what would be watched."""

from __future__ import annotations

import argparse
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cometwatch.config import Config


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "check", help="validate the config, open the repository, count entries",
        description="Validate the config, open the repository, resolve the branch, count "
                    "entries per collection and their published state, and list webhooks with "
                    "secrets redacted. Given a fleet file ([fleet] sites), each site in turn: "
                    "a broken one is reported and the others still checked. Exit 2 on a "
                    "config error, 1 when the repository or branch cannot be read.")
    parser.add_argument("--probe", action="store_true",
                        help="also send a signed test request to each enabled webhook")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.commands.fleetwide import check_fleet, fleet_file
    from cometwatch.config import load_config

    fleet = fleet_file(args.config)
    if fleet is not None:
        return check_fleet(fleet, lambda config: check(config, probe=args.probe))
    config = load_config(args.config)
    if config.server.listen is not None:  # what `run` refuses to serve with, check refuses
        config = load_config(args.config, serving=True)
    return check(config, probe=args.probe)


def check(config: Config, probe: bool = False) -> int:
    """Say what `config` watches: the repository, branch, entries, webhooks, server; with
    `probe`, send each enabled webhook a signed test request (exit 1 if one fails). Raises
    CometwatchError when its repository or branch cannot be read."""
    import time

    from cometwatch.engine import Engine
    from cometwatch.flow import read_tree, shallow_warning
    from cometwatch.redaction import redact_url
    from cometwatch.source import Source

    print(f"config      {config.file or '(none: defaults)'}")
    for warning in config.warnings:
        print(f"warning     {warning}")
    problems: list[str] = []
    with Source.open(config) as source:
        tip = source.tip_or_fail()
        print(f"repository  {config.repository.path}" + (" (bare)" if source.repo.bare else ""))
        print(f"branch      {source.branch} ({source.ref} at {tip[:12]})")
        shallow = shallow_warning(source.repo)
        if shallow:
            problems.append(shallow)
        engine = Engine.for_repository(config.repository, warn=problems.append)
        read_tree(source.repo, engine, tip, int(time.time()))
        folders = _content_folders(engine)
        print(f"preset      {config.repository.preset}; content in "
              + ", ".join(_shown(folder, engine.rules.extensions) for folder in folders))
        if not any(not record.trashed for record in engine.ledger.entries.values()):
            problems.append(_no_entries(config.repository.preset, folders, engine.rules,
                                        source.repo.tree(tip), tip))
    total: Counter[str] = Counter()
    published: Counter[str] = Counter()
    trashed = 0
    for record in engine.ledger.entries.values():
        if record.trashed:
            trashed += 1
            continue
        total[record.collection] += 1
        published[record.collection] += record.published
    print(f"entries     {sum(total.values())} ({sum(published.values())} published)"
          + (f", {trashed} in trash" if trashed else ""))
    for collection in sorted(total):
        print(f"  {collection:<20} {total[collection]:>6} entries, "
              f"{published[collection]:>6} published")
    for problem in problems:
        print(f"warning     {problem}")
    if not config.webhooks:
        print("webhooks    none configured: events are stored but not sent")
    for hook in config.webhooks:
        state = "enabled" if hook.enabled else "disabled"
        scope = "all collections" if hook.collections is None else ", ".join(hook.collections)
        print(f"webhook     {hook.name}: {redact_url(hook.url)} ({state}; "
              f"{len(hook.events)} events; {scope}; signing {'+'.join(hook.signing)}; "
              f"secret ********)")
    print(_server_line(config.server))
    if probe:
        return _probe(config)
    return 0


def _content_folders(engine: Any) -> list[str]:
    """Where the site keeps its entries, as its model reads it (trash left out)."""
    trash = engine.rules.trash_dir
    return [folder for folder in engine.sites.site.scope() if folder != trash] or [""]


def _no_entries(preset: str, folders: list[str], rules: Any, tree: dict[str, Any],
                tip: str) -> str:
    """Why a tree holds no entries: the folder looked in is missing, or holds no files of
    the extensions looked for."""
    looked = ", ".join(f"*.{ext}" for ext in rules.extensions)
    missing = [f for f in folders if f and not any(p.startswith(f + "/") for p in tree)]
    hint = "set [repository] site_dir (the site's folder) or content_dir"
    if missing and len(missing) == len(folders):
        names = ", ".join(f"{f}/" for f in missing)
        return (f"no entries: {names} does not exist at {tip[:12]} (the {preset} preset looks "
                f"for {looked} there); {hint}")
    names = ", ".join(f"{f or '(the root)'}/" for f in folders)
    return (f"no entries: nothing in {names} at {tip[:12]} is an entry as the {preset} preset "
            f"reads it (it looks for {looked}); {hint}, or `cometwatch entries` to list them")


def _server_line(server: Any) -> str:
    """The [server] settings, every token shown as ******** (how many, never what)."""
    where = server.listen or "not listening (`cometwatch serve` uses 127.0.0.1:8750)"
    from cometwatch.progress import counted

    tokens = [counted(len(server.api_tokens), "API token") + " ********" * bool(server.api_tokens),
              "admin token ********" if server.admin_token else "no admin token",
              "metrics token ********" if server.metrics_token else "no metrics token"]
    pushes = ", ".join(forge for forge, _ in server.push_secrets) or "none"
    return (f"server      {where}{' (public)' if server.public else ''}; workspace "
            f"{server.workspace}; {'; '.join(tokens)}; push secrets: {pushes}")


def _probe(config: Any) -> int:
    from cometwatch.commands.send_test import send_test

    failed = 0
    for hook in config.webhooks:
        if hook.enabled:
            failed += send_test(hook) != 0
    return 1 if failed else 0


def _shown(folder: str, extensions: tuple[str, ...]) -> str:
    """A content folder as `check` names it: `content/`; a file mounted on its own (Hugo's
    `source: ../README.md`) without the slash."""
    name = folder.rpartition("/")[2]
    if "." in name and name.rpartition(".")[2].lower() in extensions:
        return folder
    return f"{folder or '(the root)'}/"
