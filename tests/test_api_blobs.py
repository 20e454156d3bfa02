"""Blobs, the API's cache of bodies by sha: reading a catalog's bodies ahead in batches."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from conftest import Site

from cometwatch.gitrepo import Repository
from cometwatch.web.context import Blobs


class CountingRepository(Repository):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls: list[list[str]] = []

    def read_blobs(self, shas: Iterable[str], limit: int) -> dict[str, bytes]:
        self.calls.append(list(shas))
        return super().read_blobs(self.calls[-1], limit)


def blobs_of(site: Site, texts: dict[str, str]) -> dict[str, str]:
    for path, text in texts.items():
        site.write(path, text)
    site.git("add", "-A")
    site.git("commit", "-qm", "c")
    return {site.git("rev-parse", f"HEAD:{path}"): text for path, text in texts.items()}


def test_warmed_blobs_are_answered_from_memory_with_their_whole_content(site: Site) -> None:
    shas = blobs_of(site, {f"posts/p{n}.md": f"body {n}\n" * (n + 1) for n in range(20)})
    repo = CountingRepository(site.root)
    blobs = Blobs(repo)
    blobs.warm(list(shas))
    assert len(repo.calls) == 1  # one batch, not a round trip per blob
    repo.calls.clear()
    found = blobs.read(list(shas))
    assert repo.calls == []
    assert {sha: data.decode() for sha, data in found.items()} == shas
    blobs.close()


def test_warming_stops_at_the_cache_budget_and_keeps_no_cut_blob(site: Site) -> None:
    small = blobs_of(site, {f"posts/p{n}.md": f"{n:03}" * 30 for n in range(40)})
    big = blobs_of(site, {"posts/big.md": "x" * 500})
    repo = CountingRepository(site.root)
    blobs = Blobs(repo, cache_bytes=2000)  # 1,500 read ahead; never a blob over 250
    blobs.warm([*big, *small])
    repo.calls.clear()
    [big_sha] = big
    assert blobs.read([big_sha])[big_sha].decode() == "x" * 500  # read whole, not cut
    assert repo.calls == [[big_sha]]
    kept = [sha for sha in small if sha in blobs._cache]
    assert 0 < len(kept) < len(small)
    assert big_sha not in blobs._cache
    blobs.close()
