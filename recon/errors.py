"""The exceptions of recon: one root, and the exit status each one means.

Data problems are never exceptions: a bad record is a finding. An exception
means only that the run could not be done, so every class here exits with 2::

    ReconError                 the run could not be done (exit 2)
     ├── UsageError            a command-line value is invalid (--as-of, --out, ...)
     ├── ConfigError           a rule-set file is unreadable or names an unknown key
     ├── SnapshotError         the snapshot directory is missing or incomplete
     │    └── SnapshotFileError  a snapshot file cannot be read (bad JSON, bad Parquet)
     ├── OutputError           the report directory cannot be written
     └── FetchError            the Nexudus API could not be fetched from
          ├── CredentialsError   no credentials, or they were refused at sign-in
          ├── AccessDenied       a request is refused (401) for lack of a role
          ├── ApiUnavailable     requests kept failing after every retry
          └── CreateRejected     the API refused to create a record (.errors lists why)

Messages are one line naming the object at fault and what to do about it.
"""

from __future__ import annotations

from .exitcodes import ExitCode


class ReconError(Exception):
    """The run could not be done; the message is the one line the user sees."""

    exit_code: ExitCode = ExitCode.RUN_ERROR


class UsageError(ReconError):
    """Raised when a command-line value cannot be used as given."""


class ConfigError(ReconError):
    """Raised when a rule-set file cannot be read or holds an unknown key or value."""


class SnapshotError(ReconError):
    """Raised when the snapshot directory is missing, or lacks or doubles a file."""


class SnapshotFileError(SnapshotError):
    """Raised when one snapshot file cannot be parsed; the message gives file and position."""


class OutputError(ReconError):
    """Raised when the report directory or a report file cannot be written."""


class FetchError(ReconError):
    """Raised when the Nexudus API could not be fetched from; what was fetched is kept."""


class CredentialsError(FetchError):
    """Raised when no credentials are set, or the API refuses them at sign-in."""


class AccessDenied(FetchError):
    """Raised when a request is refused (HTTP 401) even with fresh credentials: a missing role."""

    def __init__(self, entity_name: str, role: str) -> None:
        super().__init__(
            f"the Nexudus API refused {entity_name} (HTTP 401): the account needs the role "
            f"{role} (or full administrator); grant it, or check the token, and run again"
        )
        self.entity_name = entity_name
        self.role = role


class ApiUnavailable(FetchError):
    """Raised when a request keeps failing (5xx, resets, timeouts, bad bodies) after retries."""


class CreateRejected(FetchError):
    """Raised when the API refuses to create a record; ``errors`` lists (property, message)."""

    def __init__(self, entity_name: str, errors: list[tuple[str, str]], message: str) -> None:
        listed = "; ".join(f"{name}: {text}" for name, text in errors) or message
        super().__init__(f"the Nexudus API refused to create a {entity_name}: {listed}")
        self.entity_name = entity_name
        self.errors = errors
