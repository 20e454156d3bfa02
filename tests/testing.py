"""What the tests share: cometwatch's command line run in this process, and waiting for a
condition with a deadline (never a bare sleep).

    ran = run_cli("--config", str(config), "deliveries", "show", "1")
    assert ran.returncode == 0 and "attempts" in ran.stdout

`run_cli` is `cometwatch.cli.main` with stdout and stderr captured (stdout has a `.buffer`, as
`events` writes bytes) and the logging it sets up undone afterwards, so a later test's caplog
still sees cometwatch's records. A command whose process is the point (the daemon, kill -9,
a git hook) is run with subprocess instead, and its test is marked `process`.

Every wait in the tests ends on an event or on a poll's condition; its deadline only bounds a
test that fails. Deadlines are stretched by `patience()` (×4, or $COMETWATCH_TEST_PATIENCE): on a
loaded machine (CI, many runs sharing two cores) a daemon takes far longer than alone, and a
deadline a passing test never reaches costs nothing.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path


def patience(seconds: float) -> float:
    """`seconds` stretched for a loaded machine: what every wait's deadline goes through."""
    return seconds * float(os.environ.get("COMETWATCH_TEST_PATIENCE", "4"))


def examples(thorough: int) -> int:
    """How many examples a property test tries: `thorough` under the thorough profile
    (`pytest --hypothesis-profile=thorough`), a quarter of it under the default `ci` profile,
    never fewer than 20 (or `thorough`, if less). The profiles are in conftest.py; what any
    run found failing is tried first the next time (Hypothesis's example database)."""
    from hypothesis import settings

    scaled = round(thorough * settings.default.max_examples / 100)
    return max(scaled, min(thorough, 20))


@dataclass(frozen=True)
class Ran:
    """What a command did, named as subprocess.CompletedProcess names it."""

    returncode: int
    stdout: str
    stderr: str
    output: bytes = b""  # stdout's bytes, exactly as written (`events` writes payload bytes)

    def __iter__(self) -> Iterator[object]:  # code, out, err = run_cli(...)
        return iter((self.returncode, self.stdout, self.stderr))


def run_cli(*args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None,
            stdin: bytes = b"") -> Ran:
    """`cometwatch ARGS…` in this process (in folder `cwd`, with the variables `env` set,
    reading `stdin`): exit code, stdout, stderr. A usage error (argparse's SystemExit) is its
    exit code, as from a shell. $COMETWATCH_CONFIG is unset meanwhile."""
    from cometwatch import cli

    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.StringIO()
    given = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    with logging_kept(), _environment({"COMETWATCH_CONFIG": None, **(env or {})}), \
            _folder(cwd), redirect_stdout(out), redirect_stderr(err), _stdin(given):
        try:
            code = cli.main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 2
    out.flush()
    buffer = out.buffer
    assert isinstance(buffer, io.BytesIO)
    raw = buffer.getvalue()
    return Ran(code, raw.decode("utf-8", "replace"), err.getvalue(), raw)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0,
             alive: Callable[[], bool] | None = None) -> None:
    """Poll `check` until it holds; fail naming `what` after `timeout` seconds, or as soon as
    `alive` (a process being waited on) says it is gone. The deadline is `patience(timeout)`."""
    deadline = time.monotonic() + patience(timeout)
    while not check():
        if alive is not None and not alive():
            raise AssertionError(f"the process exited while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextmanager
def logging_kept() -> Iterator[None]:
    """cometwatch's logging as it was before, once the block ends."""
    from cometwatch import cli

    logger = logging.getLogger("cometwatch")
    saved = logger.handlers[:], logger.level, logger.propagate, cli._format[0]
    try:
        yield
    finally:
        logger.handlers[:], logger.level, logger.propagate, cli._format[0] = (
            saved[0], saved[1], saved[2], saved[3])


@contextmanager
def _environment(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) these variables for the block."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        for name, value in changes.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _stdin(stream: io.TextIOWrapper) -> Iterator[None]:
    before, sys.stdin = sys.stdin, stream
    try:
        yield
    finally:
        sys.stdin = before


@contextmanager
def _folder(path: Path | None) -> Iterator[None]:
    if path is None:
        yield
        return
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)
