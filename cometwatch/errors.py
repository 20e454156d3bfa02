"""The errors cometwatch expects and turns into one line for the user.

    CometwatchError            base: a failure the user can act on (exit 1)
    ├── ConfigError            the config file is wrong (exit 2), names file, key and fix
    ├── UsageError             the command line is wrong (exit 2)
    ├── RepositoryError        the repository, branch or an object cannot be read
    ├── StateError             the state database cannot be opened or is from a newer version
    └── DeliveryError          a webhook request could not be made
"""

from cometwatch.redaction import redact_text


class CometwatchError(Exception):
    exit_code = 1

    def __str__(self) -> str:
        # Wherever the message is shown (a terminal, a log, a web page), a URL in it (git's
        # remote, a webhook's) is shown without its credentials.
        return redact_text(super().__str__())


class ConfigError(CometwatchError):
    exit_code = 2

    def __init__(self, file: str, key: str, problem: str, fix: str = "") -> None:
        problem = redact_text(problem)  # a value quoted back may be a URL with its token
        self.file, self.key, self.problem, self.fix = file, key, problem, fix
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + problem + (f" ({fix})" if fix else ""))


class UsageError(CometwatchError):
    exit_code = 2


class RepositoryError(CometwatchError):
    pass


class StateError(CometwatchError):
    pass


class NoState(StateError):
    """There is no state database yet: nothing was scanned with this config."""


class DeliveryError(CometwatchError):
    pass
