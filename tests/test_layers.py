"""The layering holds: the core imports nothing of the outside, and the edges not each other.

Each core module is imported in a fresh interpreter (a module already loaded by another test
would hide an import), and the modules it pulls in are checked. The edges are read as source:
an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import cometwatch

PACKAGE = Path(cometwatch.__file__).parent
OUTSIDE = ("git", "sqlite3", "_sqlite3", "httpx", "httpcore", "watchdog")
FRONT_MATTER = ("yaml", "frontmatter")  # what reading a blob needs, and nothing after it
# edge module → the outside libraries it owns (delivery and network are the HTTP edge together:
# httpx's client over network's checked httpcore transport)
EDGES = {"gitrepo": ("git",), "store": ("sqlite3",), "delivery": ("httpx", "httpcore"),
         "network": ("httpx", "httpcore"), "watcher": ("watchdog",)}
HTTP = {"delivery", "network"}

# The pure core: values, rules and the engine. It reads no repository, no state, no network.
CORE = ["commits", "utc", "metadata", "entry", "derive", "identity", "engine", "presets",
        "sites", "sites.loader", "progress"]
# After the engine: what an event becomes, is signed with and is retried by. Not even the
# front matter parsers.
DOWNSTREAM = ["payload", "signature", "retry", "outbox"]


def loaded_by(module: str) -> set[str]:
    code = ("import json, sys; import cometwatch." + module +
            "; print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(json.loads(out))


def top(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("module", CORE + DOWNSTREAM)
def test_a_core_module_loads_no_outside_library_and_no_edge(module: str) -> None:
    loaded = loaded_by(module)
    forbidden = OUTSIDE + (FRONT_MATTER if module in DOWNSTREAM else ())
    assert not top(loaded) & set(forbidden), sorted(top(loaded) & set(forbidden))
    edges = {f"cometwatch.{edge}" for edge in EDGES}
    assert not loaded & edges, sorted(loaded & edges)


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("edge", sorted(EDGES))
def test_an_edge_imports_no_other_edge_nor_its_library(edge: str) -> None:
    found = imports_of(PACKAGE / f"{edge}.py")
    for other, libraries in EDGES.items():
        if other == edge or {edge, other} <= HTTP:
            continue
        assert f"cometwatch.{other}" not in found, f"{edge} imports the {other} edge"
        for library in set(libraries) - set(EDGES[edge]):
            assert library not in top(found), f"{edge} imports {library}"


def test_the_engine_is_driven_only_through_the_flow_module() -> None:
    """events, check, the scanner (and so the daemon and the hooks' baseline) walk history
    through cometwatch.flow; nothing else imports the walk's pieces."""
    for path in PACKAGE.rglob("*.py"):
        if path.name == "flow.py":
            continue
        found = imports_of(path)
        assert not {"cometwatch.engine.history", "cometwatch.engine.read_tree"} & found, path
        if {"cometwatch.gitrepo", "cometwatch.engine"} <= top_modules(found):
            assert "cometwatch.flow" in top_modules(found) or path.name == "demo.py", path


def top_modules(names: set[str]) -> set[str]:
    return {".".join(name.split(".")[:2]) for name in names}
