"""signature.verify, the receiver-side check, and `cometwatch verify` on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from testing import Ran, examples, run_cli

from cometwatch.payload import cometcms_signature
from cometwatch.signature import verify

VECTORS: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "cometcms-payloads.json").read_text(encoding="utf-8"))
BODY = VECTORS[0]["body"].encode()
SECRET = VECTORS[0]["secret"]
GOOD = VECTORS[0]["signature"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["event"] for v in VECTORS])
def test_every_signature_cometcms_made_verifies(vector: dict[str, Any]) -> None:
    assert verify(vector["body"].encode(), vector["secret"], vector["signature"])


@pytest.mark.parametrize(("header", "valid"), [
    (GOOD, True),
    (GOOD.upper().replace("SHA256=", "sha256="), True),  # upper-case hex
    ("SHA256=" + GOOD[7:], True),
    (f"  {GOOD}\r\n", True),  # as a header value may come, surrounding space
    (GOOD[7:], False),  # the hex without its prefix
    ("sha1=" + GOOD[7:], False),
    (GOOD[:-1], False),  # one digit short
    (GOOD[:-1] + ("0" if GOOD[-1] != "0" else "1"), False),  # last digit changed
    (GOOD + "0", False),
    ("", False),
    ("sha256=", False),
    ("sha256=" + "é" * 64, False),  # non-ASCII: no exception, no match
    ("sha256=\udcff", False),  # a lone surrogate, as a lenient decoder may give
    (f"{GOOD},{GOOD}", False),
])
def test_only_the_exact_hmac_of_the_raw_body_verifies(header: str, valid: bool) -> None:
    assert verify(BODY, SECRET, header) is valid


def test_a_different_secret_or_body_does_not_verify() -> None:
    assert not verify(BODY, SECRET + "x", GOOD)
    assert not verify(BODY + b" ", SECRET, GOOD)
    # Re-encoding the JSON (spaces, key order) is a different body: receivers must verify raw.
    reencoded = json.dumps(json.loads(BODY)).encode()
    assert not verify(reencoded, SECRET, GOOD)


def test_a_whsec_secret_is_used_as_text_as_cometcms_does() -> None:
    whsec = next(v for v in VECTORS if v["secret"].startswith("whsec_"))
    assert verify(whsec["body"].encode(), whsec["secret"], whsec["signature"])


@pytest.mark.parametrize("wrong", [None, 42, ["sha256=00"]])
def test_wrong_types_are_false_not_an_exception(wrong: Any) -> None:
    assert verify(BODY, SECRET, wrong) is False
    assert verify(wrong, SECRET, GOOD) is False
    assert verify(BODY, wrong, GOOD) is False


def test_bytearray_and_memoryview_bodies_are_accepted() -> None:
    assert verify(bytearray(BODY), SECRET, GOOD)
    assert verify(memoryview(BODY), SECRET, GOOD)


# -- hostile input (6.5) ----------------------------------------------------------------------

@settings(max_examples=examples(500), deadline=None)
@given(body=st.binary(max_size=4096), secret=st.text(max_size=64),
       header=st.text(max_size=200))
def test_any_input_gives_a_bool_quickly_and_never_an_exception(
        body: bytes, secret: str, header: str) -> None:
    assert verify(body, secret, header) in (True, False)


@settings(max_examples=examples(300), deadline=None)
@given(body=st.binary(max_size=4096), secret=st.text(min_size=1, max_size=64))
def test_what_we_sign_always_verifies_and_a_flipped_byte_never_does(
        body: bytes, secret: str) -> None:
    signature = cometcms_signature(body, secret)
    assert verify(body, secret, signature)
    flipped = body + b"\x00" if not body else bytes([body[0] ^ 1]) + body[1:]
    assert not verify(flipped, secret, signature)


@settings(max_examples=examples(200), deadline=None)
@given(header=st.from_regex(r"\A(sha256=)?[0-9a-fA-F]{0,70}\Z"))
def test_near_miss_headers_never_verify(header: str) -> None:
    assert not verify(BODY, SECRET, header) or header.lower() == GOOD


# -- cometwatch verify -------------------------------------------------------------------------

def cometwatch(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> Ran:
    """`cometwatch ARGS…` in this process, reading `stdin`."""
    return run_cli(*args, stdin=stdin, env=env)


def test_verify_exits_0_on_a_valid_signature_from_stdin() -> None:
    result = cometwatch("verify", "--secret-env", "HOOK_SECRET", "--signature", GOOD,
                        stdin=BODY, env={"HOOK_SECRET": SECRET})
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("valid") and result.stdout.count("\n") == 1


def test_verify_exits_1_on_an_invalid_signature_with_one_line() -> None:
    result = cometwatch("verify", "--secret-env", "HOOK_SECRET", "--signature", GOOD,
                        stdin=BODY + b"\n", env={"HOOK_SECRET": SECRET})
    assert result.returncode == 1
    assert result.stdout.startswith("invalid") and result.stdout.count("\n") == 1
    assert SECRET not in result.stdout + result.stderr
    assert "without the trailing newline" in result.stdout
    bare = cometwatch("verify", "--secret-env", "HOOK_SECRET", "--signature",
                      GOOD.removeprefix("sha256="), stdin=BODY, env={"HOOK_SECRET": SECRET})
    assert bare.returncode == 1 and "starts with sha256=" in bare.stdout
    other = cometwatch("verify", "--secret-env", "HOOK_SECRET", "--signature", GOOD,
                       stdin=BODY, env={"HOOK_SECRET": SECRET + "x"})
    assert other.returncode == 1 and "(" not in other.stdout  # no hint that does not apply


def test_verify_reads_the_secret_from_a_file_trimmed_and_the_body_from_a_file(
        tmp_path: Path) -> None:
    vector = VECTORS[1]  # a non-ASCII secret
    (tmp_path / "secret").write_text(vector["secret"] + "\n", encoding="utf-8")
    (tmp_path / "body").write_bytes(vector["body"].encode())
    result = cometwatch("verify", "--secret-file", str(tmp_path / "secret"), "--signature",
                        vector["signature"], "--body", str(tmp_path / "body"))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--secret-env", "NOT_SET_ANYWHERE", "--signature", GOOD], {}, "NOT_SET_ANYWHERE"),
    (["--secret-file", "/nonexistent/secret", "--signature", GOOD], {}, "/nonexistent/secret"),
    (["--signature", GOOD], {}, "--secret-env"),
    (["--secret-env", "S"], {"S": "x"}, "--signature"),
])
def test_verify_usage_errors_exit_2_with_one_line(args: list[str], env: dict[str, str],
                                                  message: str) -> None:
    result = cometwatch("verify", *args, stdin=BODY, env=env)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["device", "fifo", "huge", "directory"])
def test_verify_refuses_a_secret_file_that_is_no_secret_without_hanging(
        kind: str, tmp_path: Path) -> None:
    # The config loader's own reader (non-blocking open, regular files only, at most 64 KiB):
    # /dev/zero or a FIFO with no writer once made `verify` read forever. A subprocess with a
    # deadline, so that a regression fails instead of hanging the suite.
    path = {"device": Path("/dev/zero"), "fifo": tmp_path / "fifo",
            "huge": tmp_path / "huge", "directory": tmp_path}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    if kind == "huge":
        path.write_bytes(b"x" * (1 << 20))
    ran = subprocess.run([sys.executable, "-m", "cometwatch", "verify", "--secret-file",
                          str(path), "--signature", GOOD], input=BODY, capture_output=True,
                         timeout=60, check=False)
    stderr = ran.stderr.decode()
    assert ran.returncode == 2, stderr
    assert stderr.count("\n") == 1 and str(path) in stderr and "Traceback" not in stderr
    expected = {"huge": "larger than 64 KiB", "directory": "Is a directory"}
    assert expected.get(kind, "not a regular file") in stderr
