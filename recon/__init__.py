"""recon: reconciliation and audit of Nexudus billing credits.

The library API, for notebooks and scripts (the ``recon`` command is a thin
layer over it)::

    import recon
    result = recon.audit("sample_data")
    result.findings.groupby("rule").size()
    recon.write_reports(result, "recon-report")
    closed = recon.close("sample_data", period="2025-08", out="close-2025-08")
    closed.rollforward                      # one row per location and currency
    recon.verify("close-2025-08").verified

The names below are imported on first use (PEP 562), so ``import recon`` and
``recon --version`` do not load pandas and pyarrow until an audit needs them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS: dict[str, str] = {
    "AuditResult": "audit",
    "Outcome": "audit",
    "RuleOutcome": "audit",
    "audit": "audit",
    "RuleSet": "config",
    "load_ruleset": "config",
    "ConfigError": "errors",
    "OutputError": "errors",
    "ReconError": "errors",
    "SnapshotError": "errors",
    "SnapshotFileError": "errors",
    "UsageError": "errors",
    "ExitCode": "exitcodes",
    "FailOn": "exitcodes",
    "Severity": "exitcodes",
    "Snapshot": "load",
    "load_snapshot": "load",
    "write_reports": "report",
    "CloseResult": "closing",
    "close": "bundle",
    "Verification": "bundle",
    "verify": "bundle",
}
"""Each public name and the module of the package that defines it."""

__all__ = [
    "AuditResult",
    "CloseResult",
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
    "Verification",
    "__version__",
    "audit",
    "close",
    "load_ruleset",
    "load_snapshot",
    "verify",
    "write_reports",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
            return importlib.import_module(f".{name}", __name__)  # a submodule: recon.entities
        raise AttributeError(f"module 'recon' has no attribute '{name}'")
    imported = importlib.import_module(f".{module}", __name__)
    value = getattr(imported, name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """The package's module type: importing a submodule named like the function it exports
    (``recon.audit``), from anywhere, binds the submodule to the package; the public name
    stays the function, whichever import came first."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == name:
            value = getattr(value, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:  # for type checkers and IDEs: the names as if imported eagerly
    from .audit import AuditResult, Outcome, RuleOutcome, audit
    from .bundle import Verification, close, verify
    from .closing import CloseResult
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
