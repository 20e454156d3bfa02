"""`check` and `status` given a fleet file ([fleet] sites = …): each site in turn, a broken
one reported in its place and the others still done. The other commands act on one site and
refuse a fleet file (cometwatch.config.loader names the fix)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cometwatch.config import Config


def fleet_file(explicit: str | None) -> Path | None:
    """The fleet file the command was given (--config, $COMETWATCH_CONFIG, ./webhooks.toml),
    or None for a one-site config."""
    from cometwatch.config import find_config_file
    from cometwatch.fleet import is_fleet_file

    chosen = find_config_file(explicit, os.environ)[0]
    return chosen if chosen is not None and is_fleet_file(chosen) else None


def check_fleet(file: Path, check: Callable[[Config], int]) -> int:
    """Every site checked in the order the fleet lists them: its config loads (and clashes
    with no earlier site), then `check`. Exits with the worst: 2 a config, 1 a repository."""
    from cometwatch.errors import CometwatchError
    from cometwatch.escape import escape
    from cometwatch.fleet import load_sites, read_fleet

    fleet = read_fleet(file)  # a broken fleet file: one line, exit 2
    good, refused = load_sites(fleet)
    loaded = dict(good)
    why = {r.file: r.reason for r in refused}
    worst, broken = 0, 0
    for path in fleet.site_files():
        print(escape(f"site        {path}"))
        if path in why:
            print(escape(f"error       {why[path]}"))
            code = 2
        else:
            try:
                code = check(loaded[path])
            except CometwatchError as exc:
                print(escape(f"error       {exc}"))
                code = exc.exit_code
        broken += code != 0
        worst = max(worst, code)
        print()
    total = len(fleet.site_files())
    print(escape(f"fleet       {file}: {total} site{'s' * (total != 1)}, "
                 f"{total - broken} fine, {broken} with problems"))
    return worst


def status_fleet(file: Path, as_json: bool) -> int:
    """Each site's `status`: its own state, webhooks and cursor. A site whose config or state
    cannot be read says why in its place (exit 1 then, after every site)."""
    from cometwatch.commands.status import report, show
    from cometwatch.config import load_config
    from cometwatch.errors import CometwatchError
    from cometwatch.escape import escape
    from cometwatch.fleet import read_fleet

    fleet = read_fleet(file)
    sites: list[dict[str, Any]] = []
    failed = 0
    for path in fleet.site_files():
        if not as_json:
            print(escape(f"site        {path}"))
        try:
            config = load_config(str(path), secrets=False)  # reads state, never signs
            found = report(config)
        except CometwatchError as exc:
            failed += 1
            sites.append({"config": str(path), "error": str(exc)})
            if not as_json:
                print(escape(f"error       {exc}"))
                print()
            continue
        sites.append({"config": str(path), "workspace": config.server.workspace,
                      "status": found.as_json()})
        if not as_json:
            show(found)
            print()
    if as_json:
        json.dump({"fleet": str(file), "sites": sites}, sys.stdout, indent=2)
        print()
    else:
        total = len(sites)
        print(escape(f"fleet       {file}: {total} site{'s' * (total != 1)}"
                     + (f", {failed} unreadable" if failed else "")))
    return 1 if failed else 0
