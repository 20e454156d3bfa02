"""The systemd units: valid for systemd, sandboxed, and consistent with the CLI."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from cometwatch.cli import build_parser

UNITS = Path(__file__).resolve().parent.parent / "systemd"
UNIT_NAMES = ("cometwatch.service", "cometwatch@.service")
FLEET = "cometwatch-fleet.service"  # many sites in one daemon: /srv/sites writable
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def settings(name: str) -> dict[str, list[str]]:
    """Key → values of the unit's active lines (keys may repeat)."""
    out: dict[str, list[str]] = {}
    for line in (UNITS / name).read_text().splitlines():
        if line.startswith(("#", ";", "[")) or "=" not in line:
            continue
        key, _, value = line.partition("=")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run([ANALYZE, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@needs_analyze
@pytest.mark.parametrize("name", [*UNIT_NAMES, "cometwatch@blog.service", FLEET])
def test_systemd_analyze_verify_accepts_the_unit(name: str, tmp_path: Path) -> None:
    source = "cometwatch@.service" if name.startswith("cometwatch@") else name
    shutil.copy(UNITS / source, tmp_path / name)
    result = analyze("verify", f"./{name}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Unknown" not in result.stderr and "Ignoring" not in result.stderr, result.stderr


@needs_analyze
@pytest.mark.parametrize("name", [*UNIT_NAMES, FLEET])
def test_the_unit_is_rated_ok_by_systemd_analyze_security(name: str, tmp_path: Path) -> None:
    shutil.copy(UNITS / name, tmp_path / name)
    result = analyze("security", "--offline=true", "--no-pager", f"./{name}", cwd=tmp_path)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout
    assert match.group(2) == "OK"


@pytest.mark.parametrize("name", [*UNIT_NAMES, FLEET])
def test_the_unit_runs_the_daemon_as_a_notify_service_that_restarts_on_failure(
        name: str) -> None:
    unit = settings(name)
    assert unit["Type"] == ["notify"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["RestartPreventExitStatus"] == ["2"]  # a config error: starting again won't help
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["StateDirectory"][0].startswith("cometwatch")
    argv = shlex.split(unit["ExecStart"][0])
    assert argv[:2] == ["/usr/bin/env", "cometwatch"]
    parser, _ = build_parser()
    args = parser.parse_args(argv[2:])
    assert args.command == "run" and args.config.startswith("/etc/cometwatch/")


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_the_unit_is_sandboxed_with_only_the_repository_git_dir_writable(name: str) -> None:
    unit = settings(name)
    for key, value in (("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                       ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes"),
                       ("MemoryDenyWriteExecute", "yes"), ("CapabilityBoundingSet", "")):
        assert unit[key] == [value], key
    writable = unit["ReadWritePaths"]
    assert len(writable) == 1 and writable[0].startswith("-/srv/") and \
        writable[0].endswith("/.git")
    assert any(line.startswith("-/etc/cometwatch/") for line in unit["EnvironmentFile"])


@pytest.mark.parametrize("name", UNIT_NAMES)
def test_the_unit_may_bind_only_the_default_listen_port(name: str) -> None:
    from cometwatch.config import ServerConfig

    unit = settings(name)
    assert unit["SocketBindAllow"] == [f"tcp:{ServerConfig().port}"]
    assert unit["SocketBindDeny"] == ["any"]
