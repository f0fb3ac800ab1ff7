"""The exceptions of recon: one root, and the exit status each one means.

Data problems are never exceptions: a bad record is a finding. An exception
means only that the run could not be done, so every class here exits with 2::

    ReconError                 the run could not be done (exit 2)
     ├── UsageError            a command-line value is invalid (--as-of, --out, ...)
     ├── ConfigError           a rule-set file is unreadable or names an unknown key
     ├── SnapshotError         the snapshot directory is missing or incomplete
     │    └── SnapshotFileError  a snapshot file cannot be read (bad JSON, bad Parquet)
     └── OutputError           the report directory cannot be written

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
