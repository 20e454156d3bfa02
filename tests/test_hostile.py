"""Hostile input: frontmatter and repositories built to break a parser or exhaust memory."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Site, post
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testing import examples

from cometwatch.config import ContentRules
from cometwatch.entry import Frontmatter, read_frontmatter

RULES = ContentRules()

# a: &a [x, …], b: &b [*a, …], … i: &i [*h, …]: 9**9 leaves if anything expanded it
LAUGHS = "a: &a [" + ", ".join(["x"] * 9) + "]\n" + "\n".join(
    f"{chr(97 + i)}: &{chr(97 + i)} [" + ", ".join([f"*{chr(96 + i)}"] * 9) + "]"
    for i in range(1, 9))

HOSTILE = {
    "deeply nested flow list": b"---\nx: " + b"[" * 50_000 + b"]" * 50_000 + b"\n---\n",
    "frontmatter of 4 MB": b"---\n" + b"key: value\n" * 400_000 + b"---\n",
    "billion laughs aliases": f"---\n{LAUGHS}\nslug: *i\nuid: *i\n---\n".encode(),
    "a NUL byte": b"---\ntitle: a\x00b\n---\n",
    "Latin-1, not UTF-8": b"---\ntitle: caf\xe9\n---\n",
    "an unclosed block": b"---\ntitle: x\nbody without end\n",
    "a python object tag": b"---\n!!python/object/apply:os.system [echo hacked]\n---\n",
    "broken TOML": b"+++\ntitle = \n+++\n",
    "broken JSON": b'{\n"title": \n}\n',
    "a date that is not one": b"---\npublishDate: 2024-13-45\n---\n",
}


@pytest.mark.parametrize("data", HOSTILE.values(), ids=list(HOSTILE))
def test_hostile_frontmatter_is_reported_broken_or_read_never_raised(data: bytes) -> None:
    front = read_frontmatter(data, RULES)
    assert isinstance(front, Frontmatter)
    if front.broken is not None:
        assert "\n" not in front.broken and len(front.broken) <= 300


def test_aliases_never_expand_into_an_id_or_slug() -> None:
    front = read_frontmatter(HOSTILE["billion laughs aliases"], RULES)
    assert front.broken is None  # valid YAML: read, but the lists are never walked
    assert front.explicit_id is None and front.slug is None


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096), st.sampled_from([b"", b"---\n", b"+++\n", b"{\n"]))
def test_random_bytes_never_crash_the_entry_reader(noise: bytes, opening: bytes) -> None:
    front = read_frontmatter(opening + noise, RULES)
    assert front.broken is None or isinstance(front.broken, str)


@settings(max_examples=examples(200), deadline=None)
@given(st.dictionaries(st.sampled_from(["uid", "slug", "status", "draft", "published",
                                        "publishDate", "expiryDate"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=30),
                                 st.lists(st.integers(), max_size=3),
                                 st.dictionaries(st.text(max_size=3), st.integers(),
                                                 max_size=2))))
def test_any_json_frontmatter_values_give_facts_or_a_broken_block(meta: dict[str, object]
                                                                 ) -> None:
    front = read_frontmatter(json.dumps(meta).encode() + b"\nbody\n", RULES)
    if front.broken is None and isinstance(meta.get("uid"), (str, int)) and \
            not isinstance(meta["uid"], bool) and str(meta["uid"]) != "":
        assert front.explicit_id == str(meta["uid"])


def _peak_rss_mb_of(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[bytes],
                                                         float]:
    # The child's own peak, read after it exits (ru_maxrss is in KiB on Linux).
    code = ("import resource, subprocess, sys; "
            "r = subprocess.run(sys.argv[1:], capture_output=True); "
            "sys.stdout.buffer.write(r.stdout); sys.stderr.buffer.write(r.stderr); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
            "sys.exit(r.returncode)")
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, capture_output=True,
                            timeout=600)
    peak_kib = int(result.stderr.decode().strip().splitlines()[-1])
    return result, peak_kib / 1024


@pytest.mark.process
def test_symlinks_submodules_huge_files_and_10000_changes_in_one_commit(site: Site) -> None:
    content = site.root / "content"
    site.write("content/posts/real.md", post("uid: real-1\nstatus: published"))
    site.commit()
    # 10,000 new entries in one commit
    for i in range(10_000):
        folder = content / "bulk" / f"{i // 500:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"entry-{i:05d}.md").write_text(f"---\ntitle: Entry {i}\n---\nText {i}.\n")
    # a 50 MB entry: frontmatter first, then a very long body
    with (content / "posts" / "huge.md").open("w") as huge:
        huge.write("---\nuid: huge-1\nslug: the-huge-one\n---\n")
        line = "All work and no play makes a very long post. " * 20 + "\n"
        for _ in range(50 * 1024 * 1024 // len(line)):
            huge.write(line)
    # a symlink that looks like an entry, and a submodule (a gitlink) under content/
    os.symlink("real.md", content / "posts" / "link.md")
    site.git("update-index", "--add", "--cacheinfo",
             f"160000,{site.head()},content/posts/submodule.md")
    site.commit("bulk")
    result, peak_mb = _peak_rss_mb_of([sys.executable, "-m", "cometwatch", "events", "--all"],
                                      site.root)
    assert result.returncode == 0, result.stderr.decode()[-500:]
    lines = result.stdout.decode().splitlines()
    payloads = [json.loads(line) for line in lines]
    slugs = {p["data"]["slug"] for p in payloads}
    assert "the-huge-one" in slugs
    assert "link" not in slugs and "submodule" not in slugs
    created = [p for p in payloads if p["event"] == "content.created"]
    assert len(created) == 1 + 10_000 + 1
    assert peak_mb < 300, f"peak memory {peak_mb:.0f} MB"


@pytest.mark.process
def test_memory_bound_helper_reads_a_real_figure(tmp_path: Path) -> None:
    result, peak_mb = _peak_rss_mb_of([sys.executable, "-c", "x = bytearray(64 << 20)"],
                                      tmp_path)
    assert result.returncode == 0
    assert peak_mb > 64
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss > 0
