"""The repository and branch a config points at, opened once for a command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cometwatch.config import Config
from cometwatch.errors import RepositoryError
from cometwatch.gitrepo import Repository

if TYPE_CHECKING:
    from cometwatch.store import Store


@dataclass(slots=True)
class Source:
    config: Config
    repo: Repository
    branch: str
    ref: str  # refs/heads/<branch>, or refs/remotes/<remote>/<branch> in remote mode

    @classmethod
    def open(cls, config: Config) -> Source:
        repo = Repository(config.repository.path)
        try:
            branch, ref = repo.branch_ref(config.repository.branch, config.repository.remote)
        except RepositoryError:
            repo.close()
            raise
        return cls(config, repo, branch, ref)

    def tip(self) -> str | None:
        """The branch's commit now, or None while the branch does not exist."""
        return self.repo.resolve(self.ref)

    def tip_or_fail(self) -> str:
        tip = self.tip()
        if tip is None:
            hint = "" if self.repo.has_no_commits() else "; check [repository] branch"
            raise RepositoryError(f"{self.config.repository.path}: {self.missing()}{hint}")
        return tip

    def missing(self) -> str:
        """Why there is no tip: a repository without commits yet, or a missing branch."""
        if self.repo.has_no_commits():
            return f"branch {self.branch!r} has no commits yet"
        return f"branch {self.branch!r} does not exist ({self.ref})"

    def close(self) -> None:
        self.repo.close()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_state(config: Config, create: bool = True) -> Store:
    """The state store a config points at, for commands that need no branch."""
    from cometwatch.store import Store

    def common_dir() -> Path:
        with Repository(config.repository.path) as repo:
            return repo.common_dir

    return Store.for_config(config, common_dir, create)
