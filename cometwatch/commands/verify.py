"""`cometwatch verify`: check an X-CometCMS-Signature against a body, as a receiver would."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "verify", help="check a signature against a body read from stdin (exit 0 valid, 1 not)",
        description="Check that SIG (an X-CometCMS-Signature value, sha256=<hex>) is the "
                    "HMAC-SHA256 of the body read from stdin (or --body FILE), byte for byte, "
                    "with the secret. The secret comes from an environment variable or a "
                    "file, never the command line. Prints one line; exit 0 when valid, 1 when "
                    "not, 2 on a usage error.")
    secret = parser.add_mutually_exclusive_group(required=True)
    secret.add_argument("--secret-env", metavar="VAR", help="the secret is in this variable")
    secret.add_argument("--secret-file", metavar="PATH",
                        help="the secret is this file's content (surrounding whitespace "
                             "ignored, as in the config)")
    parser.add_argument("--signature", required=True, metavar="SIG",
                        help="the X-CometCMS-Signature header value")
    parser.add_argument("--body", metavar="FILE", help="read the body from FILE, not stdin")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os
    from pathlib import Path

    from cometwatch.errors import UsageError
    from cometwatch.signature import verify

    if args.secret_env:
        secret = os.environ.get(args.secret_env, "")
        if not secret:
            raise UsageError(f"environment variable {args.secret_env} is not set or empty")
    else:
        from cometwatch.config.sources import UnreadableSecret, read_secret_file

        try:
            secret = read_secret_file(Path(args.secret_file)).text
        except UnreadableSecret as exc:
            raise UsageError(f"--secret-file: {exc}") from None
        if not secret:
            raise UsageError(f"the secret file {args.secret_file} is empty")
    if args.body:
        try:
            body = Path(args.body).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {args.body}: {exc.strerror}") from None
    else:
        body = sys.stdin.buffer.read()
    if verify(body, secret, args.signature):
        print(f"valid: the signature matches the {len(body)}-byte body")
        return 0
    print(f"invalid: the signature does not match the {len(body)}-byte body with this secret"
          + _hint(body, secret, args.signature))
    return 1


def _hint(body: bytes, secret: str, signature: str) -> str:
    """Why a signature a receiver believes in may fail here: the two usual slips."""
    from cometwatch.signature import verify

    if not signature.strip().startswith("sha256="):
        return " (the header's value starts with sha256=; pass it whole)"
    trimmed = body.rstrip(b"\r\n")
    if trimmed != body and verify(trimmed, secret, signature):
        return (" (it matches without the trailing newline: pass the exact bytes received, "
                "e.g. printf '%s' or --body FILE)")
    return ""
