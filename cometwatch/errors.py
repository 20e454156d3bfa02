"""Every exception cometwatch raises on purpose, in one family.

An edge turns its library's errors into these (`raise … from exc`), so nothing above it catches
a foreign exception; the command line turns a CometwatchError into one line on stderr and its
`exit_code`, and shows a traceback only with `-v`.

    CometwatchError              base: a failure the user can act on (exit 1)
    ├── ConfigError              the config file is wrong (exit 2); names file, key and fix
    ├── UsageError               the command line is wrong (exit 2)
    ├── RepositoryError          the repository, branch or an object cannot be read
    ├── StateError               the state database cannot be opened, read or written, or is
    │   │                        from a newer cometwatch
    │   ├── NoState              there is none yet: nothing was scanned with this config
    │   ├── CursorMoved          another process advanced the cursor during a scan (the
    │   │                        scanner derives again from the new one; never shown)
    │   └── DamagedLedger        a stored ledger row is not what this cometwatch wrote (also a
    │                            ValueError, as the JSON it came from)
    ├── DeliveryError            a request cannot be made or finished; the HTTP edge turns it
    │   │                        into the attempt's one-line error, it never reaches a command
    │   ├── Refused              the network policy rules the address or URL out
    │   └── DeadlinePassed       the attempt's `timeout` ran out (resolving, connecting,
    │                            reading: the deadline is for the whole exchange)
    ├── ServerError              the HTTP face cannot listen (cometwatch.web.server)
    ├── EditRefused              the admin's config editor refuses a change; names the field
    │                            (cometwatch.configedit)
    └── Stopping                 the daemon is stopping and a scan in progress is abandoned
                                 (raised from its progress callback; nothing of it is stored)

Outside the family on purpose: KeyboardInterrupt (exit 130) and BrokenPipeError (a closed
pager: exit 0). Anything else that reaches the command line is a bug: one line asking for a
report, and the traceback with `-v`.
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


class CursorMoved(StateError):
    """Another process advanced the cursor since it was read: derive again from the new one."""


class DamagedLedger(StateError, ValueError):
    """A stored ledger row that is not what this cometwatch wrote."""


class DeliveryError(CometwatchError):
    """A request that cannot be made or finished: its message is the attempt's error."""


class Refused(DeliveryError):
    """An address or URL the network policy rules out."""


class DeadlinePassed(DeliveryError):
    """The attempt's deadline passed before the exchange was over."""


class Stopping(CometwatchError):
    """Raised from a scan's progress callback when a stop request's grace period ran out."""
