"""recon: reconciliation and audit of Nexudus billing credits.

The library API, for notebooks and scripts (the ``recon`` command is a thin
layer over it)::

    import recon
    result = recon.audit("sample_data")
    result.findings.groupby("rule").size()
    recon.write_reports(result, "recon-report")
"""

from __future__ import annotations

__version__ = "0.1.0"

from .audit import AuditResult, Outcome, RuleOutcome, audit
from .config import RuleSet, load_ruleset
from .errors import (
    ConfigError,
    OutputError,
    ReconError,
    SnapshotError,
    SnapshotFileError,
    UsageError,
)
from .exitcodes import ExitCode, FailOn, Severity
from .load import Snapshot, load_snapshot
from .report import write_reports

__all__ = [
    "AuditResult",
    "ConfigError",
    "ExitCode",
    "FailOn",
    "Outcome",
    "OutputError",
    "ReconError",
    "RuleOutcome",
    "RuleSet",
    "Severity",
    "Snapshot",
    "SnapshotError",
    "SnapshotFileError",
    "UsageError",
    "__version__",
    "audit",
    "load_ruleset",
    "load_snapshot",
    "write_reports",
]
