"""`cometwatch entries`: every entry of a tree, as cometwatch reads it (like `hugo list all`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from cometwatch.config import Config


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "entries", help="list every entry at the tip (or REV) as cometwatch sees it",
        description="List every entry of the branch tip (or of REV): its path, type, id, "
                    "slug, locale, whether it is published now and why (status: draft, "
                    "published, scheduled, expired, unrendered: built without a page of "
                    "its own, or unlisted: written but left out of lists), and its title. "
                    "Locale variants of one entry are one line each, with the same id. "
                    "Sends nothing, writes nothing.")
    parser.add_argument("rev", nargs="?", metavar="REV", help="a commit (default: the tip)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per line (path, type, id, slug, locale, "
                             "published, status, title, section, version)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from cometwatch.config import load_config

    return entries(load_config(args.config, secrets=False), args.rev, as_json=args.json)


def entries(config: Config, rev: str | None = None, as_json: bool = False,
            out: TextIO | None = None) -> int:
    """List every entry at `rev` (default: the tip) to `out` (stdout): a table, or with
    `as_json` one JSON object per line; warnings go to stderr."""
    import json
    import sys
    import time

    from cometwatch.engine import Engine
    from cometwatch.flow import read_tree
    from cometwatch.source import Source

    warnings: list[str] = []
    now = int(time.time())
    with Source.open(config) as source:
        commit = source.repo.resolve_or_fail(rev) if rev else source.tip_or_fail()
        engine = Engine.for_repository(config.repository, warn=warnings.append)
        read_tree(source.repo, engine, commit, now)
        rows = _rows(engine, source.repo, now)
    from cometwatch.entry import readable
    from cometwatch.escape import escape

    for warning in warnings:
        print(f"cometwatch: warning: {escape(warning)}", file=sys.stderr)
    out = out or sys.stdout
    if as_json:  # UTF-8 lines: a path's bytes that are not UTF-8 read as U+FFFD
        for row in rows:
            out.write(json.dumps({**row, "path": readable(row["path"])}, ensure_ascii=False)
                      + "\n")
        return 0
    widths = {key: max([len(key), *(len(_cell(row[key])) for row in rows)])
              for key in ("path", "type", "locale", "status", "id", "slug")}
    columns = [key for key in widths if key != "locale" or any(row["locale"] for row in rows)]
    out.write("  ".join(key.upper().ljust(widths[key]) for key in columns) + "  TITLE\n")
    for row in rows:
        out.write("  ".join(_cell(row[key]).ljust(widths[key]) for key in columns)
                  + "  " + _cell(row["title"]) + "\n")
    published = sum(row["published"] for row in rows)
    out.write(f"{len(rows)} entries, {published} published\n")
    return 0


def _rows(engine: Any, repo: Any, now: int) -> list[dict[str, Any]]:
    from cometwatch.entry import frontmatter_block, status_at
    from cometwatch.flow import HEAD_BYTES

    records = {path: record for path, record in engine.ledger.entries.items()
               if not record.trashed}
    blobs = repo.read_blobs([record.sha for record in records.values()], HEAD_BYTES)
    rows = []
    for path in sorted(records):
        record = records[path]
        where = engine.locate(path, "100644")
        if where is None:
            continue
        if record.front.broken:
            status = "published" if record.published else "draft"
        else:
            status = status_at(record.front, where, now, engine.rules)
        rows.append({
            "path": path, "type": record.collection, "id": record.entry_id,
            "slug": record.slug, "locale": where.locale, "published": record.published,
            "status": status, "title": _title(blobs.get(record.sha, b""), frontmatter_block),
            "section": where.section, "version": where.version,
        })
    return rows


def _title(data: bytes, block: Any) -> str | None:
    try:
        meta = block(data)
    except Exception:  # a broken block has no title to show; the warning said why
        return None
    title = meta.get("title") if isinstance(meta, dict) else None
    return str(title) if title is not None and not isinstance(title, (dict, list)) else None


def _cell(value: Any) -> str:
    """One cell of the table: control characters (an ESC sequence, a newline in a file name
    or a title) escaped as `\\x1b`, `\\n`, never sent to the terminal, never dropped."""
    from cometwatch.escape import escape

    if value is None:
        return "-"
    return escape(str(value))
