"""The git edge: the only module that imports GitPython.

History is read with one `git log --first-parent --raw -M -z` stream and blobs through one
long-lived `git cat-file --batch` process, asked in batches: never a subprocess per commit or
per file. Every git failure leaves this module as a RepositoryError.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import git
from git.exc import GitCommandError, GitError, InvalidGitRepositoryError, NoSuchPathError

from cometwatch.errors import RepositoryError

NULL_SHA = "0" * 40
REGULAR_MODES = frozenset({"100644", "100755"})
_BATCH = 512  # cat-file requests in flight: 512 × 41 bytes stays inside a pipe buffer
# git log over a long history otherwise keeps up to 96 MB of delta bases and maps whole packs
# (200 MB resident for 10,000 commits); these caps cost it no measurable time. cat-file keeps
# git's defaults: its reads jump around the pack and a small cache slows them down.
_LEAN_HISTORY = ("-c", "core.deltaBaseCacheLimit=32m", "-c", "core.packedGitWindowSize=4m",
                 "-c", "core.packedGitLimit=32m")


class CommitMissing(RepositoryError):
    """A commit named by its sha is not in the repository (any more)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One raw change between two trees; old_* or new_* is None when absent."""

    status: str  # A, D, M, R, T
    old_path: str | None
    new_path: str | None
    old_sha: str | None
    new_sha: str | None
    old_mode: str | None
    new_mode: str | None


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    time: int  # committer time, seconds since the epoch
    changes: tuple[Change, ...]


class Repository:
    def __init__(self, path: Path) -> None:
        try:
            self._repo = git.Repo(path, search_parent_directories=False)
        except (InvalidGitRepositoryError, NoSuchPathError) as exc:
            raise RepositoryError(f"{path}: not a git repository") from exc
        self.path = path
        self._git = self._repo.git
        self._cat: Any = None

    @property
    def git_dir(self) -> Path:
        return Path(self._repo.git_dir).resolve()

    @property
    def common_dir(self) -> Path:
        return Path(self._repo.common_dir).resolve()

    @property
    def bare(self) -> bool:
        return bool(self._repo.bare)

    def close(self) -> None:
        if self._cat is not None:
            try:
                self._cat.proc.stdin.close()
                self._cat.proc.wait()
            except (OSError, ValueError, GitError):
                pass
            self._cat = None
        self._repo.close()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- refs -------------------------------------------------------------------------------

    def current_branch(self) -> str:
        try:
            ref = self._git.symbolic_ref("-q", "--short", "HEAD")
        except GitCommandError as exc:
            raise RepositoryError(f"{self.path}: HEAD is detached; set [repository] branch "
                                  "in the config") from exc
        return str(ref).strip()

    def resolve(self, rev: str) -> str | None:
        """The commit `rev` names, or None when it names nothing (a missing branch)."""
        try:
            return str(self._git.rev_parse("-q", "--verify", f"{rev}^{{commit}}")).strip()
        except GitCommandError:
            return None

    def has_no_commits(self) -> bool:
        """True for a repository with no commit at all yet (`git init`, nothing committed or
        pushed), where every branch is missing."""
        try:
            return not str(self._git.for_each_ref("--count=1", "--format=%(refname)")).strip()
        except GitCommandError:
            return False

    def resolve_or_fail(self, rev: str) -> str:
        sha = self.resolve(rev)
        if sha is None:
            raise RepositoryError(f"{self.path}: no commit named {rev!r}")
        return sha

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        try:
            self._git.merge_base("--is-ancestor", ancestor, descendant)
            return True
        except GitCommandError as exc:
            if exc.status == 1:
                return False
            if self.resolve(ancestor) is None:
                raise CommitMissing(f"{self.path}: commit {ancestor[:12]} is not in the "
                                    "repository") from exc
            raise RepositoryError(f"{self.path}: cannot compare {ancestor[:12]} and "
                                  f"{descendant[:12]}: {_stderr(exc)}") from exc

    def commit_time(self, sha: str) -> int:
        try:
            return int(self._git.show("-s", "--format=%ct", sha).strip())
        except (GitCommandError, ValueError) as exc:
            raise RepositoryError(f"{self.path}: cannot read commit {sha[:12]}") from exc

    def commit_subject(self, sha: str) -> str:
        """The first line of a commit's message (the Webhooks page shows the cursor's)."""
        try:
            return str(self._git.show("-s", "--format=%s", sha)).strip()
        except GitCommandError as exc:
            raise RepositoryError(f"{self.path}: cannot read commit {sha[:12]}") from exc

    def fetch(self, remote: str, branch: str) -> None:
        try:
            if self._git.rev_parse("--is-shallow-repository").strip() == "true":
                self._git.fetch("--unshallow", "--quiet", remote, branch)
            self._git.fetch("--quiet", "--prune", remote,
                            f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}")
        except GitCommandError as exc:
            raise RepositoryError(f"fetching {branch} from {remote} failed: "
                                  f"{_stderr(exc)}") from exc

    # -- history ----------------------------------------------------------------------------

    def walk(self, base: str | None, tip: str) -> Iterator[Commit]:
        """Commits after `base` (exclusive; None = from the root) up to `tip`, oldest first,
        along first parents, each with its raw changes against its first parent."""
        revs = f"{base}..{tip}" if base else tip
        args = ["log", "--first-parent", "--reverse", "--raw", "-M", "--no-abbrev", "-z",
                "--diff-merges=first-parent", "--no-color", "--no-ext-diff",
                "--format=%x01%H %ct", revs, "--"]
        yield from self._stream_commits(args)

    def diff(self, old: str, new: str) -> tuple[Change, ...]:
        """The raw changes from tree `old` to tree `new`, as one save."""
        try:
            out = self._git.diff("--raw", "-M", "-l20000", "--no-abbrev", "-z", "--no-color",
                                 "--no-ext-diff", old, new, "--", stdout_as_string=False)
        except GitCommandError as exc:
            raise RepositoryError(f"cannot diff {old[:12]} and {new[:12]}: "
                                  f"{_stderr(exc)}") from exc
        return tuple(_parse_changes(out.split(b"\0")))

    def tree(self, rev: str) -> dict[str, tuple[str, str]]:
        """Every file in the tree of `rev`: path → (mode, blob sha), in one call."""
        try:
            out = self._git.ls_tree("-r", "-z", "--full-tree", rev, stdout_as_string=False)
        except GitCommandError as exc:
            raise RepositoryError(f"cannot list the tree of {rev[:12]}: {_stderr(exc)}") from exc
        files: dict[str, tuple[str, str]] = {}
        for line in out.split(b"\0"):
            meta, _, path = line.partition(b"\t")
            fields = meta.split()  # mode, type, sha; submodules are commits, not blobs
            if len(fields) == 3 and fields[1] == b"blob":
                files[_path(path)] = (fields[0].decode(), fields[2].decode())
        return files

    def _stream_commits(self, args: list[str]) -> Iterator[Commit]:
        try:
            proc = self._git.execute(["git", *_LEAN_HISTORY, "-c", "diff.renameLimit=20000",
                                      "-c", "core.quotepath=off", *args],
                                     as_process=True, stdout_as_string=False)
        except GitError as exc:
            raise RepositoryError(f"cannot read history: {exc}") from exc
        popen = proc.proc
        assert popen is not None and popen.stdout is not None
        stdout: IO[bytes] = popen.stdout
        header: bytes | None = None
        tokens: list[bytes] = []
        rest = b""
        try:
            while True:
                chunk = stdout.read(1 << 16)
                if not chunk:
                    break
                parts = (rest + chunk).split(b"\0")
                rest = parts.pop()
                for token in parts:
                    if token.startswith((b"\x01", b"\n\x01")):
                        if header is not None:
                            yield _commit(header, tokens)
                        header, tokens = token.lstrip(b"\n")[1:], []
                    else:
                        tokens.append(token)
            if rest.strip():
                tokens.append(rest)
            if header is not None:
                yield _commit(header, tokens)
        finally:
            stdout.close()
            stderr = popen.stderr.read() if popen.stderr else b""
            code = popen.wait()
        if code != 0:
            raise RepositoryError("git log failed: " + stderr.decode("utf-8", "replace").strip())

    # -- blobs ------------------------------------------------------------------------------

    def read_blobs(self, shas: Iterable[str], limit: int) -> dict[str, bytes]:
        """Blob contents by sha, through the one cat-file process. Of a blob larger than
        `limit` only the first `limit` bytes come back; it is never held in memory whole."""
        wanted = list(dict.fromkeys(shas))
        found: dict[str, bytes] = {}
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start:start + _BATCH]
            cat = self._cat_file()
            try:
                cat.stdin.write("".join(f"{sha}\n" for sha in batch).encode())
                cat.stdin.flush()
                out = cat.stdout
                for sha in batch:
                    line = out.readline().split()
                    if len(line) < 3 or line[1] == b"missing":
                        if line and line[-1] == b"missing":
                            raise RepositoryError(f"{self.path}: object {sha} is missing")
                        raise RepositoryError(f"{self.path}: unexpected cat-file answer")
                    size = int(line[2])
                    if size > limit:
                        found[sha] = out.read(limit)
                        _skip(out, size - limit + 1)
                    else:
                        found[sha] = out.read(size + 1)[:-1]
            except (OSError, ValueError) as exc:
                self._cat = None
                raise RepositoryError(f"{self.path}: reading objects failed: {exc}") from exc
        return found

    def _cat_file(self) -> Any:
        if self._cat is None:
            try:
                handle = self._git.execute(["git", "cat-file", "--batch"], as_process=True,
                                           istream=subprocess.PIPE, stdout_as_string=False)
            except GitError as exc:
                raise RepositoryError(f"cannot start git cat-file: {exc}") from exc
            self._cat = handle  # GitPython's handle: dropping it would kill the process
        return self._cat.proc

    # -- working with the repository for hooks and the watcher ------------------------------

    def config_get(self, key: str) -> str | None:
        try:
            return str(self._git.config("--get", key)).strip() or None
        except GitCommandError:
            return None

    def branch_ref(self, branch: str | None, remote: str | None) -> tuple[str, str]:
        """(branch name, the ref to follow): the local branch, or in remote mode its
        remote-tracking ref."""
        name = branch or self.current_branch()
        return name, (f"refs/remotes/{remote}/{name}" if remote else f"refs/heads/{name}")

    def count(self, base: str | None, tip: str) -> int:
        """How many first-parent commits lead from after `base` (or the root) to `tip`: the
        length of a progress bar, in one call that reads no trees."""
        span = f"{base}..{tip}" if base else tip
        try:
            return int(str(self._git.rev_list("--first-parent", "--count", span)).strip())
        except (GitCommandError, ValueError):
            return 0


def _skip(stream: IO[bytes], size: int) -> None:
    while size > 0:
        got = stream.read(min(size, 1 << 20))
        if not got:
            raise OSError("cat-file output ended early")
        size -= len(got)


def _stderr(exc: GitCommandError) -> str:
    """git's complaint on one line: its `fatal:` and `error:` lines (the last line is often
    advice such as "and the repository exists."), else its last line."""
    text = exc.stderr if isinstance(exc.stderr, str) else str(exc.stderr or "")
    text = text.strip().removeprefix("stderr:").strip().strip("'").strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return "; ".join(errors or lines[-1:]) or f"exit {exc.status}"


def _commit(header: bytes, tokens: list[bytes]) -> Commit:
    sha, _, when = header.decode().strip().partition(" ")
    return Commit(sha=sha, time=int(when), changes=tuple(_parse_changes(tokens)))


def _parse_changes(tokens: list[bytes]) -> Iterator[Change]:
    i, n = 0, len(tokens)
    while i < n:
        meta = tokens[i].lstrip(b"\n")
        i += 1
        if not meta.startswith(b":"):
            continue
        old_mode, new_mode, old_sha, new_sha, status = meta[1:].decode().split(" ")
        kind = status[0]
        old_path: str | None
        if kind in ("R", "C"):
            old_path, new_path = _path(tokens[i]), _path(tokens[i + 1])
            i += 2
        else:
            old_path = new_path = _path(tokens[i])
            i += 1
        if kind == "C":  # copies are never asked for; treat as an add
            kind, old_path = "A", None
        yield Change(
            status=kind,
            old_path=None if kind == "A" else old_path,
            new_path=None if kind == "D" else new_path,
            old_sha=None if kind == "A" else old_sha,
            new_sha=None if kind == "D" else new_sha,
            old_mode=None if kind == "A" else old_mode,
            new_mode=None if kind == "D" else new_mode,
        )


def _path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")
