"""The git edge: reads refs, history and blobs by running git itself.

git is run directly (no GitPython: importing it and its two `git version` probes cost
each `events` run about 40 ms). History is read with one `git log --first-parent --raw -M
-z` stream and blobs through one long-lived `git cat-file --batch` process, asked in
batches: never a subprocess per commit or per file. Every git failure leaves this module as
a RepositoryError.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import re
import subprocess
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from cometwatch.commits import Change, Commit
from cometwatch.errors import RepositoryError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # what a root commit is diffed against
_BATCH = 512  # cat-file requests in flight: 512 × 41 bytes stays inside a pipe buffer
_READY_BYTES = 64 << 20  # answers read ahead and held, at most
_PIPE_BYTES = 1 << 20  # git's output pipes: Linux's default ceiling for an unprivileged process
# git log over a long history otherwise keeps up to 96 MB of delta bases and maps whole packs
# (200 MB resident for 10,000 commits); these caps cost it no measurable time. cat-file keeps
# git's defaults: its reads jump around the pack and a small cache slows them down.
_LEAN_HISTORY = ("-c", "core.deltaBaseCacheLimit=32m", "-c", "core.packedGitWindowSize=4m",
                 "-c", "core.packedGitLimit=32m")


class CommitMissing(RepositoryError):
    """A commit named by its sha is not in the repository (any more)."""


class GitCommandError(Exception):
    """A git command that exited non-zero (never leaves this module)."""

    def __init__(self, status: int, stderr: str) -> None:
        super().__init__(f"git exited {status}: {stderr}")
        self.status, self.stderr = status, stderr


class _Git:
    """git subcommands as methods (`ls_tree` runs `git ls-tree`), in the repository, with
    git's messages in English (the C locale) and no stdin: stdout as text, one trailing
    newline dropped, or raw bytes with `stdout_as_string=False`."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.env = {**os.environ, "LANGUAGE": "C", "LC_ALL": "C"}

    def __getattr__(self, name: str) -> Any:
        def run(*args: str, stdout_as_string: bool = True) -> Any:
            return self.run(name.replace("_", "-"), *args, stdout_as_string=stdout_as_string)
        return run

    def run(self, *args: str, stdout_as_string: bool = True) -> Any:
        try:
            done = subprocess.run(["git", *args], cwd=self.cwd, env=self.env,
                                  stdin=subprocess.DEVNULL, capture_output=True)
        except OSError as exc:
            raise GitCommandError(-1, f"cannot run git: {exc}") from exc
        if done.returncode != 0:
            raise GitCommandError(done.returncode,
                                  done.stderr.decode("utf-8", "replace").strip())
        out = done.stdout[:-1] if done.stdout.endswith(b"\n") else done.stdout
        return out.decode("utf-8", "replace") if stdout_as_string else out

    def process(self, args: list[str], stdin: int | None = None) -> subprocess.Popen[bytes]:
        """A long-running git whose output is read as a stream: its stdout pipe holds up to
        _PIPE_BYTES, so git works ahead of the reader instead of waiting on it."""
        try:
            popen = subprocess.Popen(args, cwd=self.cwd, env=self.env,
                                     stdin=subprocess.DEVNULL if stdin is None else stdin,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise GitCommandError(-1, f"cannot run git: {exc}") from exc
        assert popen.stdout is not None
        _widen(popen.stdout.fileno())
        return popen


def _widen(fd: int) -> None:
    """Make a pipe hold _PIPE_BYTES (Linux; elsewhere, or past the system's limit, it keeps
    its size)."""
    option = getattr(fcntl, "F_SETPIPE_SZ", None)
    if option is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, option, _PIPE_BYTES)


def _is_git_dir(path: Path) -> bool:
    """A bare repository or a .git folder: HEAD, objects and refs (as git checks)."""
    return (path / "HEAD").is_file() and (path / "objects").is_dir() \
        and (path / "refs").is_dir()


class Repository:
    def __init__(self, path: Path) -> None:
        # the folder itself must be the repository (its top, or a bare one), never a folder
        # inside one: git would search upwards
        dot = path / ".git"
        if not ((dot.is_dir() and _is_git_dir(dot)) or dot.is_file() or _is_git_dir(path)):
            raise RepositoryError(f"{path}: not a git repository")
        self.path = path
        self._git = _Git(path)
        self._cat: subprocess.Popen[bytes] | None = None
        self._asked: list[str] = []  # blobs asked for ahead, their answers not read yet
        self._asked_limit = 0
        self._ready: dict[str, bytes] = {}  # answers read, not wanted yet
        self._dirs: tuple[Path, Path, bool] | None = None

    def _layout(self) -> tuple[Path, Path, bool]:
        """(git dir, common dir, bare), asked once."""
        if self._dirs is None:
            try:
                out = self._git.rev_parse("--absolute-git-dir", "--git-common-dir",
                                          "--is-bare-repository").split("\n")
            except GitCommandError as exc:
                raise RepositoryError(f"{self.path}: not a git repository: "
                                      f"{_stderr(exc)}") from exc
            git_dir = Path(out[0]).resolve()
            common = Path(out[1])
            self._dirs = (git_dir, (common if common.is_absolute() else self.path / common)
                          .resolve(), out[2].strip() == "true")
        return self._dirs

    @property
    def git_dir(self) -> Path:
        return self._layout()[0]

    @property
    def common_dir(self) -> Path:
        return self._layout()[1]

    @property
    def bare(self) -> bool:
        return self._layout()[2]

    def close(self) -> None:
        if self._cat is not None:
            try:
                assert self._cat.stdin is not None
                self._cat.stdin.close()
                self._cat.wait()
            except (OSError, ValueError):
                pass
            self._lost_cat()

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
        """The committer time of a commit, read from its object by the cat-file already
        running (no git process of its own)."""
        name = f"{sha}^{{commit}}"  # a tag's name gives its commit, as `git show` does
        data = self.read_blobs([name], 1 << 16).get(name, b"")
        for line in data.split(b"\n\n", 1)[0].split(b"\n"):
            if line.startswith(b"committer "):  # committer NAME <EMAIL> TIME ZONE
                fields = line.rsplit(b" ", 2)
                if len(fields) == 3 and fields[1].lstrip(b"-").isdigit():
                    return int(fields[1])
        try:  # a committer line git itself reads differently: what git says it is
            return int(self._git.show("-s", "--format=%ct", sha).strip())
        except (GitCommandError, ValueError) as exc:
            raise RepositoryError(f"{self.path}: cannot read commit {sha[:12]}") from exc

    def authors(self, shas: list[str]) -> dict[str, tuple[str, str]]:
        """The author (name, email) of each commit, a few git calls for any number of them.
        Raises RepositoryError."""
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(shas), 2000):  # argument lists stay far below ARG_MAX
            try:
                out = str(self._git.log("--no-walk=unsorted", "--format=%H%x00%an%x00%ae",
                                        *shas[start:start + 2000]))
            except GitCommandError as exc:
                raise RepositoryError(f"{self.path}: cannot read commit authors: "
                                      f"{_stderr(exc)}") from exc
            for line in out.splitlines():
                sha, _, rest = line.partition("\0")
                name, _, email = rest.partition("\0")
                found[sha] = (name, email)
        return found

    @property
    def shallow(self) -> bool:
        """A shallow clone: its history stops at a grafted commit, not at the root (git
        keeps the grafts in a `shallow` file of its folder: looked at directly when the folder
        is plainly this repository's own, asked of git otherwise)."""
        own = self.path / ".git" if (self.path / ".git").is_dir() else self.path
        if _is_git_dir(own) and not (own / "commondir").exists() and \
                not {"GIT_DIR", "GIT_COMMON_DIR"} & os.environ.keys():
            return (own / "shallow").is_file()
        try:
            return str(self._git.rev_parse("--is-shallow-repository")).strip() == "true"
        except GitCommandError:
            return False

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

    def walk(self, base: str | None, tip: str, paths: tuple[str, ...] = (),
             newest_first: bool = False) -> Generator[Commit, None, None]:
        """Commits after `base` (exclusive; None = from the root) up to `tip`, oldest first,
        along first parents, each with its raw changes against its first parent. With `paths`
        (folders and files, taken literally), only the commits that change something under
        them, and only those changes: a rename from outside them is an addition.

        Oldest first, git lists nothing before it has walked the whole range (with `paths`,
        diffing every commit to prune it); `newest_first` streams from the start. Closing
        the iterator early stops git."""
        revs = f"{base}..{tip}" if base else tip
        args = ["log", "--first-parent", *(() if newest_first else ("--reverse",)),
                "--raw", "-M", "--no-abbrev", "-z",
                "--diff-merges=first-parent", "--no-color", "--no-ext-diff",
                "--format=%x01%H %ct", revs, "--", *(f":(literal){p}" for p in paths)]
        yield from self._stream_commits(args)

    def diff(self, old: str | None, new: str) -> tuple[Change, ...]:
        """The raw changes from tree `old` (None: the empty tree) to tree `new`, as one save."""
        old = old or EMPTY_TREE
        try:
            out = self._git.diff("--raw", "-M", "-l20000", "--no-abbrev", "-z", "--no-color",
                                 "--no-ext-diff", old, new, "--", stdout_as_string=False)
        except GitCommandError as exc:
            raise RepositoryError(f"cannot diff {old[:12]} and {new[:12]}: "
                                  f"{_stderr(exc)}") from exc
        return tuple(parse_changes(out.split(b"\0")))

    def top_names(self, rev: str) -> set[str]:
        """The names at the top level of the tree of `rev` (files and folders). Of a commit
        named by its sha, read from the tree object through the running cat-file."""
        if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", rev):
            names = _tree_names(self.read_blobs([f"{rev}^{{tree}}"], 1 << 30)
                                .get(f"{rev}^{{tree}}", b""), len(rev) // 2)
            if names is not None:
                return names
        try:
            out = self._git.ls_tree("-z", "--name-only", rev, stdout_as_string=False)
        except GitCommandError as exc:
            raise RepositoryError(f"cannot list the tree of {rev[:12]}: {_stderr(exc)}") from exc
        return {_path(name) for name in out.split(b"\0") if name}

    def tree(self, rev: str, folders: tuple[str, ...] = ()) -> dict[str, tuple[str, str]]:
        """Every file in the tree of `rev` (or under `folders` in it): path → (mode, blob sha),
        in one call."""
        try:
            out = self._git.ls_tree("-r", "-z", "--full-tree", rev, "--", *folders,
                                    stdout_as_string=False)
        except GitCommandError as exc:
            raise RepositoryError(f"cannot list the tree of {rev[:12]}: {_stderr(exc)}") from exc
        return parse_tree(out)

    def _stream_commits(self, args: list[str]) -> Generator[Commit, None, None]:
        try:
            popen = self._git.process(["git", *_LEAN_HISTORY, "-c", "diff.renameLimit=20000",
                                       "-c", "core.quotepath=off", *args])
        except GitCommandError as exc:
            raise RepositoryError(f"cannot read history: {exc}") from exc
        stdout = popen.stdout
        assert isinstance(stdout, io.BufferedIOBase)  # Popen's default: a buffered pipe
        try:
            yield from parse_log(_tokens(stdout))
        except GeneratorExit:  # the reader stopped early: so does git, and that is no failure
            popen.kill()
            raise
        finally:
            stdout.close()
            stderr = popen.stderr.read() if popen.stderr else b""
            code = popen.wait()
        if code != 0:
            raise RepositoryError("git log failed: " + stderr.decode("utf-8", "replace").strip())

    # -- blobs ------------------------------------------------------------------------------

    def prefetch(self, shas: Iterable[str], limit: int) -> None:
        """Ask for blobs a coming `read_blobs(…, limit)` will want, without waiting: git reads
        them (into a pipe made big enough to hold them) while the caller works on others.
        At most _BATCH are outstanding, so the requests always fit the pipe and cat-file never
        waits on us to ask; what is asked and never wanted is read in passing and dropped."""
        if len(self._ready) > _BATCH:
            self._ready.clear()
        if limit != self._asked_limit:
            if self._asked:
                return
            self._ready.clear()
        outstanding = set(self._asked)
        new = [sha for sha in dict.fromkeys(shas)
               if sha not in outstanding and sha not in self._ready][:_BATCH - len(self._asked)]
        if not new:
            return
        self._ask(new)
        self._asked.extend(new)
        self._asked_limit = limit

    def read_blobs(self, shas: Iterable[str], limit: int) -> dict[str, bytes]:
        """Blob contents by sha, through the one cat-file process. Of a blob larger than
        `limit` only the first `limit` bytes come back; it is never held in memory whole."""
        wanted = list(dict.fromkeys(shas))
        if self._asked:
            if limit == self._asked_limit:
                # the answers up to the last one wanted; those after it stay in the pipe
                ahead = set(wanted)
                last = max((n for n, sha in enumerate(self._asked) if sha in ahead), default=-1)
                self._collect(last + 1)
            if any(sha not in self._ready for sha in wanted) or limit != self._asked_limit:
                self._collect(len(self._asked))  # new requests queue behind every answer
        found: dict[str, bytes] = {}
        if self._ready and limit == self._asked_limit:
            for sha in wanted:
                data = self._ready.pop(sha, None)
                if data is not None:
                    found[sha] = data
            wanted = [sha for sha in wanted if sha not in found]
        for start in range(0, len(wanted), _BATCH):
            batch = wanted[start:start + _BATCH]
            self._ask(batch)
            answers = self._answers(batch, limit)
            for sha in batch:
                if sha not in answers:
                    raise RepositoryError(f"{self.path}: object {sha} is missing")
            found.update(answers)
        return found

    def _ask(self, shas: list[str]) -> None:
        cat = self._cat_file()
        try:
            cat.stdin.write("".join(f"{sha}\n" for sha in shas).encode())
            cat.stdin.flush()
        except OSError as exc:
            self._lost_cat()
            raise RepositoryError(f"{self.path}: reading objects failed: {exc}") from exc

    def _collect(self, count: int) -> None:
        """Read the answers to the first `count` blobs asked ahead. Past _READY_BYTES held,
        an answer is dropped (a read that wants it asks again): large blobs asked ahead
        never pile up in memory."""
        if count:
            asked, self._asked = self._asked[:count], self._asked[count:]
            room = _READY_BYTES - sum(map(len, self._ready.values()))
            self._ready.update(self._answers(asked, self._asked_limit, room))

    def _answers(self, asked: list[str], limit: int, room: int | None = None
                 ) -> dict[str, bytes]:
        """cat-file's answers to `asked`, in order; a missing object has none. With `room`,
        the answers past that many bytes are read and dropped."""
        out = self._cat_file().stdout
        found: dict[str, bytes] = {}
        try:
            for sha in asked:
                line = out.readline().split()
                if len(line) == 2 and line[1] == b"missing":
                    continue
                if len(line) < 3:
                    raise RepositoryError(f"{self.path}: unexpected cat-file answer")
                size = int(line[2])
                kept = min(size, limit)
                if room is not None:
                    room -= kept
                    if room < 0:
                        _skip(out, size + 1)
                        continue
                if size > limit:
                    found[sha] = out.read(limit)
                    _skip(out, size - limit + 1)
                else:
                    found[sha] = out.read(size + 1)[:-1]
        except (OSError, ValueError, RepositoryError) as exc:
            self._lost_cat()
            if isinstance(exc, RepositoryError):
                raise
            raise RepositoryError(f"{self.path}: reading objects failed: {exc}") from exc
        return found

    def _lost_cat(self) -> None:
        """cat-file's stream can no longer be trusted: the next read starts a new one."""
        self._cat, self._asked, self._ready = None, [], {}

    def _cat_file(self) -> Any:
        if self._cat is None:
            try:
                self._cat = self._git.process(["git", "cat-file", "--batch"],
                                              stdin=subprocess.PIPE)
            except GitCommandError as exc:
                raise RepositoryError(f"cannot start git cat-file: {exc}") from exc
        return self._cat

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


def _tree_names(data: bytes, hash_size: int) -> set[str] | None:
    """The names a tree object holds (`MODE NAME\0HASH`, repeated), or None when `data`
    is not one."""
    names: set[str] = set()
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos, pos + 8)
        end = data.find(b"\0", space + 1)
        if space < 0 or end < 0 or not data[pos:space].isdigit() or \
                end + 1 + hash_size > len(data):
            return None
        names.add(_path(data[space + 1:end]))
        pos = end + 1 + hash_size
    return names


def _skip(stream: IO[bytes], size: int) -> None:
    while size > 0:
        got = stream.read(min(size, 1 << 20))
        if not got:
            raise OSError("cat-file output ended early")
        size -= len(got)


def _stderr(exc: GitCommandError) -> str:
    """git's complaint on one line: its `fatal:` and `error:` lines (the last line is often
    advice such as "and the repository exists."), else its last line."""
    text = exc.stderr.strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return "; ".join(errors or lines[-1:]) or f"exit {exc.status}"


def _tokens(stream: io.BufferedIOBase) -> Iterator[bytes]:
    """The NUL-separated tokens of a `-z` output stream, read as git writes it (at most 64
    KiB at a time)."""
    rest = b""
    while chunk := stream.read1(1 << 16):  # what git has written: never wait for a full read
        parts = (rest + chunk).split(b"\0")
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


# git's structure, never a file name: a path is only ever read where the grammar puts one, by
# count (one after a change line, two after a rename), so no name can pass for a commit or a
# change, whatever its bytes.
_HEADER = re.compile(rb"\n?\x01([0-9a-f]{40,64}) (-?\d+)")
_RAW = re.compile(rb"\n?:([0-7]{6}) ([0-7]{6}) ([0-9a-f]{40,64}) ([0-9a-f]{40,64}) ([A-Z])\d*")


def parse_log(tokens: Iterable[bytes]) -> Iterator[Commit]:
    """Commits from `git log -z --raw --format=%x01%H %ct` tokens, by its grammar:
    (header change*)* where a header is `\x01SHA TIME` and a change is
    `:mode mode sha sha status` followed by its path (two for a rename or copy)."""
    stream = iter(tokens)
    sha: str | None = None
    when = 0
    changes: list[Change] = []
    for token in stream:
        raw = _RAW.fullmatch(token)
        if raw is not None:
            if sha is None:
                raise RepositoryError("unexpected git log output: a change before any commit")
            changes.append(_change(raw, stream))
            continue
        header = _HEADER.fullmatch(token)
        if header is None:
            if not token.strip():
                continue  # the newline git ends a commit without changes with
            raise RepositoryError(f"unexpected git log output: {token[:60]!r}")
        if sha is not None:
            yield Commit(sha, when, tuple(changes))
        sha, when, changes = header[1].decode(), int(header[2]), []
    if sha is not None:
        yield Commit(sha, when, tuple(changes))


def parse_changes(tokens: Iterable[bytes]) -> Iterator[Change]:
    """Changes from `git diff --raw -z` tokens: change lines, each followed by its paths."""
    stream = iter(tokens)
    for token in stream:
        raw = _RAW.fullmatch(token)
        if raw is not None:
            yield _change(raw, stream)
        elif token.strip():
            raise RepositoryError(f"unexpected git diff output: {token[:60]!r}")


def parse_tree(data: bytes) -> dict[str, tuple[str, str]]:
    """`git ls-tree -r -z` output: path → (mode, blob sha). A record is `mode type sha\tpath`;
    the first tab ends the fields, so a tab (or anything else) in a name stays in the name."""
    files: dict[str, tuple[str, str]] = {}
    for record in data.split(b"\0"):
        meta, tab, path = record.partition(b"\t")
        fields = meta.split(b" ")  # mode, type, sha; submodules are commits, not blobs
        if tab and len(fields) == 3 and fields[1] == b"blob":
            files[_path(path)] = (fields[0].decode(), fields[2].decode())
    return files


def _change(raw: re.Match[bytes], stream: Iterator[bytes]) -> Change:
    old_mode, new_mode, old_sha, new_sha, status = (part.decode() for part in raw.groups())
    try:
        if status in ("R", "C"):
            old_path, new_path = _path(next(stream)), _path(next(stream))
        else:
            old_path = new_path = _path(next(stream))
    except StopIteration:
        raise RepositoryError("unexpected git output: a change without its path") from None
    if status == "C":  # copies are never asked for; treat as an add
        status = "A"
    return Change(
        status=status,
        old_path=None if status == "A" else old_path,
        new_path=None if status == "D" else new_path,
        old_sha=None if status == "A" else old_sha,
        new_sha=None if status == "D" else new_sha,
        old_mode=None if status == "A" else old_mode,
        new_mode=None if status == "D" else new_mode,
    )


def _path(raw: bytes) -> str:
    # lossless: any byte git gives comes back from .encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "surrogateescape")
