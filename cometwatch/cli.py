"""Command line: global options, one subcommand per module in cometwatch.commands.

Command modules import only the standard library at module level, so `--help` stays fast;
what a command needs is imported when it runs.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from cometwatch import __version__

# Order is the order of `cometwatch --help`.
COMMANDS = ("demo", "events", "entries", "init", "check", "scan", "run", "status", "deliveries",
            "redeliver", "recover", "webhooks", "hooks", "send-test", "verify", "serve")


def build_parser(only: str | None = None) -> tuple[argparse.ArgumentParser, dict[str, object]]:
    """The whole command line, or with `only`, the global options and that one command (the
    others' modules are then never imported: a run of one command starts faster)."""
    parser = argparse.ArgumentParser(
        prog="cometwatch",
        description="CometCMS content webhooks from a git repository of Markdown content.",
    )
    parser.add_argument("--version", action="version", version=f"cometwatch {__version__}")
    parser.add_argument("-c", "--config", metavar="PATH",
                        help="config file (default: $COMETWATCH_CONFIG, then ./webhooks.toml)")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="debug logging, and a traceback on unexpected errors")
    parser.add_argument("--log-format", choices=("text", "json"), default=None,
                        help="log line format on stderr (default: the config's, else text)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules: dict[str, object] = {}
    for name in (only,) if only else COMMANDS:
        module = importlib.import_module(f"cometwatch.commands.{name.replace('-', '_')}")
        module.add_parser(sub)
        modules[name] = module
    return parser, modules


_VALUED = ("-c", "--config", "--log-format")  # the global options that take a value


def command_named(argv: Sequence[str]) -> str | None:
    """The command a command line runs, when it surely names one: its first word that is
    not a global option or an option's value. None when in doubt (help, an abbreviated or
    unknown option, no command): then every command is built, as `--help` lists them all."""
    words = iter(argv)
    for word in words:
        if word in _VALUED:
            next(words, None)
        elif word.startswith(tuple(f"{option}=" for option in _VALUED)) or \
                word in ("-v", "--verbose"):
            continue
        else:
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser, _ = build_parser(command_named(argv))
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    setup_logging(args.verbose, args.log_format or "text")
    from cometwatch.errors import CometwatchError
    from cometwatch.redaction import redact_text

    try:
        return int(args.handler(args) or 0)
    except CometwatchError as exc:
        if args.verbose:
            logging.getLogger("cometwatch").exception("failed")
        say("error", redact_text(str(exc)))
        return exc.exit_code
    except KeyboardInterrupt:
        say("interrupted", "interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last line of defence: one line, not a traceback
        if args.verbose:
            raise
        say("unexpected error", f"{type(exc).__name__}: {redact_text(str(exc))} (run with -v "
            "for the traceback, and please report it)")
        return 1


def run() -> NoReturn:
    """The `cometwatch` command (and `python -m cometwatch`): `main`, then the process ends.
    What a run built (a history's ledger, parsed blobs) is left out of the last garbage
    collection: it would walk every one of those objects only for the process to end
    (~20 ms after a long `events`). Files and databases are closed by the commands
    themselves, never by the collector."""
    code = main()
    gc.freeze()
    sys.exit(code)


_format = ["text"]  # the log format setup_logging last set: the last line takes it too


def say(level: str, message: str) -> None:
    """The last line of a failed command, on stderr: `cometwatch: error: …`, or in the json
    log format a JSON object like every log line before it."""
    from cometwatch.escape import escape

    if _format[0] == "json":
        print(_json_line({"level": level.replace(" ", "_"), "logger": "cometwatch",
                          "message": message}), file=sys.stderr)
    elif level == "interrupted":
        print("cometwatch: interrupted", file=sys.stderr)
    else:
        print(f"cometwatch: {level}: {escape(message)}", file=sys.stderr)


def _json_line(line: dict[str, str]) -> str:
    import json

    from cometwatch.escape import json_safe

    return json_safe(json.dumps(line, ensure_ascii=False))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"level": record.levelname.lower(), "logger": record.name,
                "message": record.getMessage()}
        if record.exc_info:
            line["traceback"] = record.exc_text or self.formatException(record.exc_info)
        return _json_line(line)


class TextFormatter(logging.Formatter):
    """`cometwatch: LEVEL: message` (or `template`), the message escaped: a file name quoted
    in it can neither start a line of its own nor send a terminal escape sequence. A
    traceback (-v) keeps its lines."""

    def __init__(self, template: str = "cometwatch: {level}: {message}") -> None:
        super().__init__()
        self._template = template

    def formatMessage(self, record: logging.LogRecord) -> str:
        from cometwatch.escape import escape

        return self._template.format(level=record.levelname, message=escape(record.message))


def setup_logging(verbose: bool, fmt: str) -> None:
    from cometwatch.redaction import RedactingFilter

    _format[0] = fmt
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())  # a URL in any record: git's remote, an error
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger("cometwatch")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
