"""`cometwatch init`: detect the site's tool and write a commented webhooks.toml."""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import Any

DECAP_CONFIGS = ("admin/config.yml", "static/admin/config.yml", "public/admin/config.yml",
                 "src/admin/config.yml", "admin/config.yaml", "static/admin/config.yaml",
                 "public/admin/config.yaml")
SITE_FOLDERS = ("docs", "website", "site", "exampleSite")  # where a repository keeps its site
# Checked in this order: a Hugo or Zola site may also hold other tools' files.
DETECT_ORDER = ("hugo", "zola", "astro", "docusaurus", "eleventy", "jekyll", "decap")


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "init", help="detect the site's tool and write a commented webhooks.toml",
        description="Look at a site (Hugo, Jekyll, Eleventy, Astro, Docusaurus, Zola, a Decap "
                    "CMS admin/config.yml) and write a webhooks.toml with the right preset and "
                    "a placeholder webhook. Never overwrites an existing file without --force.")
    parser.add_argument("path", nargs="?", default=".",
                        help="the repository, or the site's folder in it (default: .); at the "
                             "top, a site in docs/, website/, site/ or exampleSite/ is found")
    parser.add_argument("--force", action="store_true", help="overwrite an existing file")
    parser.add_argument("--preset", help="use this preset instead of detecting one")
    parser.set_defaults(handler=run)


def detect_preset(root: Path) -> str:
    from cometwatch.presets import PRESETS

    for name in DETECT_ORDER:
        for marker in PRESETS[name]["markers"]:
            candidate = root / marker
            if not candidate.exists():
                continue
            if marker == "config.toml":  # both Hugo and Zola use it; their keys differ
                text = candidate.read_text(encoding="utf-8", errors="replace")
                if ("base_url" in text) != (name == "zola"):
                    continue
            return name
    return "plain"


def read_decap(root: Path) -> tuple[Path | None, dict[str, str], str | None]:
    """Decap CMS folder collections as globs, and its branch, from admin/config.yml."""
    import yaml

    for relative in DECAP_CONFIGS:
        path = root / relative
        if not path.is_file():
            continue
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError, OSError):
            return path, {}, None
        if not isinstance(data, dict):
            return path, {}, None
        globs: dict[str, str] = {}
        for collection in data.get("collections") or []:
            if isinstance(collection, dict) and collection.get("folder") and \
                    collection.get("name"):
                folder = str(collection["folder"]).strip("/")
                globs[f"{folder}/**"] = str(collection["name"])
        backend = data.get("backend") if isinstance(data.get("backend"), dict) else {}
        branch = backend.get("branch") if isinstance(backend, dict) else None
        return path, globs, str(branch) if branch else None
    return None, {}, None


def find_sites(top: Path) -> list[tuple[str, str]]:
    """(folder, preset) of the sites a repository's top holds: the top itself, else (or for a
    Hugo theme's own repository: a theme.toml and no content) its docs/, website/, site/ or
    exampleSite/ folders."""
    here = detect_preset(top)
    # a Hugo config with no content beside it is a theme's or a module's own (theme.toml, or
    # google/docsy's hugo.yaml of mounts, its site in docsy.dev/)
    theme = here == "hugo" and not (top / "content").is_dir()
    if here != "plain" and not theme:
        return [("", here)]
    found = [(name, preset) for name in SITE_FOLDERS if (top / name).is_dir()
             and (preset := detect_preset(top / name)) != "plain"]
    if not found and theme:  # the theme's site under a name of its own: one with content
        found = [(folder.name, "hugo") for folder in sorted(top.iterdir())
                 if folder.is_dir() and not folder.name.startswith(".")
                 and (folder / "content").is_dir() and detect_preset(folder) == "hugo"]
    return found or [("", here)]


def render(preset: str, decap_globs: dict[str, str], branch: str | None,
           content_dir: str, branch_missing: bool = False, site_dir: str = "") -> str:
    lines = [
        "# cometwatch: CometCMS webhooks from this repository's commits.",
        "# Every key, with its default: webhooks.example.toml in the cometwatch sources.",
        "",
        "[repository]",
        f'preset = "{preset}"            # content folders, drafts and dates as {preset} reads '
        "them",
        "# path = \".\"                 # the repository (default: this file's folder)",
    ]
    if site_dir:
        lines.append(f'site_dir = "{site_dir}"          # the site\'s folder in the repository')
    if branch and branch_missing:
        lines.append(f'# branch = "{branch}"         # Decap CMS\'s branch; not in this clone yet')
    else:
        lines.append(f'branch = "{branch}"' if branch else
                     "# branch = \"main\"            # default: the repository's current branch")
    if decap_globs:
        from cometwatch.sites import TOOLS

        pairs = ", ".join(f'"{_relative(glob, content_dir)}" = "{name}"'
                          for glob, name in decap_globs.items())
        if preset in TOOLS:
            # read from the Decap CMS config at each commit (filters, nesting and files too);
            # written here, they would override it
            lines.append("# Collections come from the Decap CMS config, read at each commit; "
                         "to override:")
            lines.append(f"# collections = {{ {pairs} }}")
        else:
            lines.append("# Folder collections read from the Decap CMS config:")
            lines.append(f"collections = {{ {pairs} }}")
    lines += [
        "# remote = \"origin\"           # follow origin/<branch>, fetched every fetch_interval",
        "",
        "[[webhooks]]",
        'name = "site-build"',
        "# Paste your build hook (Netlify: Site settings → Build hooks), then set enabled = true.",
        'url = "https://api.netlify.com/build_hooks/REPLACE-ME"',
        "enabled = false",
        "# A generated secret; better: secret_env = \"COMETWATCH_SECRET\" or secret_file.",
        f'secret = "{secrets.token_urlsafe(32)}"',
        'events = ["content.published", "content.unpublished"]',
        'coalesce = "30s"              # one build per burst of commits',
        "",
    ]
    return "\n".join(lines)


def _relative(glob: str, content_dir: str) -> str:
    return glob[len(content_dir) + 1:] if content_dir and glob.startswith(content_dir + "/") \
        else glob


def run(args: argparse.Namespace) -> int:
    return init(Path(args.path), preset=args.preset, force=args.force)


def init(path: Path, preset: str | None = None, force: bool = False) -> int:
    """Write webhooks.toml at the top of the repository holding folder `path`, for its site
    (detected, or `preset`); an existing one is replaced only with `force`."""
    from cometwatch.config import parse_config_text
    from cometwatch.errors import UsageError
    from cometwatch.presets import PRESETS

    chosen = preset
    if not path.is_dir():
        raise UsageError(f"{path}: no such folder")
    if chosen and chosen not in PRESETS:
        raise UsageError(f"unknown preset {chosen!r}; use one of "
                         + ", ".join(sorted(PRESETS)))
    top_text = _git(path, "rev-parse", "--show-toplevel")
    in_git = top_text is not None
    # the config lives at the repository's top; a site in a folder of it is a key
    top = Path(top_text) if top_text else path
    site_dir = path.resolve().relative_to(top.resolve()).as_posix() if in_git else ""
    site_dir = "" if site_dir == "." else site_dir
    if site_dir or chosen:
        preset = chosen or detect_preset(path)
    else:
        sites = find_sites(top)
        if len(sites) > 1:
            listed = ", ".join(f"{folder}/ ({tool})" for folder, tool in sites)
            raise UsageError(f"{top} holds several sites: {listed}; run `cometwatch init "
                             "FOLDER` with the one to watch")
        site_dir, preset = sites[0]
    root = top / site_dir if site_dir else top
    target = top / "webhooks.toml"
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; edit it, or run `cometwatch init --force` "
                         "to replace it")
    decap_path, globs, branch = read_decap(root)
    missing = bool(branch) and in_git and not _has_branch(root, str(branch))
    content_dir = str(PRESETS[preset].get("content_dir", ""))
    text = render(preset, globs, branch, content_dir, missing, site_dir)
    parse_config_text(text, target)  # what we write must load
    target.write_text(text, encoding="utf-8")
    target.chmod(0o600)  # it holds a secret
    found = f"Preset: {preset} (--preset)" if chosen else f"Detected: {preset}"
    where = f" in {site_dir}/" if site_dir else ""
    print(found + where + (f" with Decap CMS ({decap_path})" if decap_path else ""))
    print(f"Wrote {target}")
    if missing:
        print(f"Note: Decap CMS publishes to branch {branch!r}, which this clone does not have; "
              f"the branch line is commented out (fetch it, or set remote = \"origin\")")
    if not in_git:
        print(f"Note: {top} is not a git repository yet; cometwatch reads commits, so "
              "`git init` it (or point [repository] path at the repository)")
    elif _keep_out_of_git(top):
        print("Added webhooks.toml to .git/info/exclude: it holds a secret and, once set, your "
              "build hook URL; keep it out of a public repository")
    print("Next: set the webhook's url and enabled = true, then run `cometwatch check`, "
          "`cometwatch events --all | tail` and `cometwatch run`.")
    return 0


def _git(root: Path, *args: str) -> str | None:
    """A git query's output in `root`, or None when it fails (not a repository, no such ref)."""
    import subprocess

    try:
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _has_branch(root: Path, branch: str) -> bool:
    return any(_git(root, "rev-parse", "--verify", "-q", ref) is not None
               for ref in (f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"))


def _keep_out_of_git(root: Path) -> bool:
    """List webhooks.toml in the repository's own exclude file, unless git already ignores or
    tracks it (a team that commits its config, secrets in the environment, keeps doing so)."""
    if _git(root, "check-ignore", "-q", "webhooks.toml") is not None or \
            _git(root, "ls-files", "--error-unmatch", "webhooks.toml") is not None:
        return False
    exclude = _git(root, "rev-parse", "--git-path", "info/exclude")
    top = _git(root, "rev-parse", "--show-prefix")
    if exclude is None or top is None:
        return False
    path = Path(exclude) if Path(exclude).is_absolute() else root / exclude
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        old = path.read_text(encoding="utf-8") if path.exists() else ""
        line = "/" + top + "webhooks.toml"
        path.write_text(old + ("" if old.endswith("\n") or not old else "\n") + line + "\n",
                        encoding="utf-8")
    except OSError:
        return False
    return True
