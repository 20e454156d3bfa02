"""`cometwatch hooks install|uninstall`: git hooks that wake the daemon or run a scan."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cometwatch.config import Config


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "hooks", help="install or remove git hooks that wake the daemon or run a scan",
        description="`install` writes post-commit, post-merge and post-rewrite hooks (in a "
                    "bare repository: post-receive) that wake a running `cometwatch run`, or "
                    "start `cometwatch scan --wait` in the background when none runs. A hook "
                    "that was already there is kept beside ours (NAME.pre-cometwatch) and still "
                    "runs first; `uninstall` puts it back. core.hooksPath is respected. The "
                    "config path (from --config or $COMETWATCH_CONFIG) and this Python are "
                    "recorded in the hooks.")
    parser.add_argument("action", choices=("install", "uninstall"))
    parser.add_argument("--repo", metavar="PATH",
                        help="the repository (default: the config's [repository] path)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from cometwatch import hooks
    from cometwatch.config import find_config_file, load_config
    from cometwatch.errors import ConfigError
    from cometwatch.gitrepo import Repository
    from cometwatch.process import pid_path
    from cometwatch.store import Store

    config_file, _ = find_config_file(args.config, os.environ)
    try:
        config = load_config(args.config, secrets=False)  # the hook's scan reads them later
    except ConfigError:
        if args.action == "install" or not args.repo:
            raise
        config = None  # removing hooks needs no working config
    warnings: list[str] = []
    root = Path(args.repo).resolve() if args.repo else config.repository.path if config \
        else Path.cwd()
    with Repository(root) as repo:
        hooks_dir = hooks.resolve_hooks_dir(repo.path, repo.git_dir, repo.common_dir, repo.bare,
                                            repo.config_get("core.hooksPath"))
        if args.action == "uninstall":
            report = hooks.uninstall(hooks_dir, hooks.WORKTREE_HOOKS + hooks.BARE_HOOKS)
        else:
            assert config is not None
            if config.file is not None and \
                    config.repository.path.resolve() != Path(repo.path).resolve():
                print(f"note: {config.file} watches {config.repository.path}, not {repo.path}; "
                      "the hooks will scan what that config names", file=sys.stderr)
            state = Store.default_path(config, repo)
            if state.exists():  # one the hooks' scans could not use (newer schema, unreadable)
                Store.open(state, create=False).close()  # refuses: StateError, exit 1
            plan = hooks.HookPlan(
                interpreter=sys.executable,
                config=config_file.resolve() if config_file and config_file.is_file() else None,
                pid_file=pid_path(state),
                log_file=state.parent / "hook-scan.log",
            )
            report = hooks.install(hooks_dir, hooks.hook_names(repo.bare), plan)
            inside = hooks_dir.resolve().is_relative_to(Path(repo.git_dir).resolve()) or \
                hooks_dir.resolve().is_relative_to(Path(repo.path).resolve())
            if not inside:
                print(f"note: core.hooksPath is {hooks_dir}, outside this repository: every "
                      "repository using it now runs these hooks", file=sys.stderr)
            # The hook's scan runs with the config file named in it, or in the repository.
            scanned = config.repository.path if config.file is not None else Path(repo.path)
            report.append(_baseline(config, scanned, state))
            warnings = [f"warning: webhook {hook.name!r} reads its secret from ${variable}: a "
                        "hook's scan runs with git's environment, where it is usually not set, "
                        "and then refuses to start (see `cometwatch status`); keep the secret in a "
                        "file (secret_file = \"…\", chmod 600)"
                        for hook in config.webhooks if hook.enabled
                        for variable in hook.secret_variables]
    for line in report or [f"{hooks_dir}: no cometwatch hooks"]:
        print(line)
    sys.stdout.flush()
    for warning in warnings:
        print(warning, file=sys.stderr)
    return 0


def _baseline(config: Config, path: Path, state: Path) -> str:
    """Take the baseline the first scan would take (the tip, nothing sent), unless the state
    has a cursor already: then the first commit after install is sent. Needs no secret."""
    import time
    from dataclasses import replace

    from cometwatch.errors import CometwatchError
    from cometwatch.progress import Progress, counted
    from cometwatch.scanner import Scanner
    from cometwatch.source import Source
    from cometwatch.store import Store

    config = replace(config, repository=replace(config.repository, path=path))
    try:
        with Source.open(config) as source:
            tip = source.tip()
            if tip is None:
                return (f"state: {source.missing()}: its first commit is the baseline (not "
                        "sent), the commits after it are sent")
            with Store.open(state) as store:
                cursor = store.cursor(source.branch)
                if cursor is not None:
                    return (f"state: {source.branch} scanned up to {cursor.commit[:12]}; the "
                            "next commit is sent")
                progress = Progress(lambda: source.repo.count(None, tip), "reading history")
                try:
                    result = Scanner(config, store, source).scan(time.time(), None, progress)
                finally:
                    progress.close()
    except CometwatchError as exc:
        return f"state: no baseline yet ({exc}); the first hook's scan takes it"
    return (f"baseline: {source.branch} at {(result.cursor or '')[:12]} "
            f"({counted(result.commits, 'commit')} read), nothing sent; the next commit is sent")
