"""Exit statuses and the one function that decides them.

The contract (section 3): 0 when no finding is at or above ``--fail-on``,
1 when at least one is, 2 when the run could not be done.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, StrEnum


class ExitCode(IntEnum):
    OK = 0
    FINDINGS = 1
    RUN_ERROR = 2


class Severity(StrEnum):
    """How serious a finding is; ``rank`` orders them, most serious first."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


class FailOn(StrEnum):
    """The lowest severity that fails the gate (``never``: the gate always passes;
    ``material``: the gate fails when the findings' money reaches overall materiality in
    some currency, whatever their severity)."""

    ERROR = "error"
    WARNING = "warning"
    NEVER = "never"
    MATERIAL = "material"

    def fails(self, severity: Severity) -> bool:
        """Whether a finding of ``severity`` fails the gate by itself."""
        if self in (FailOn.NEVER, FailOn.MATERIAL):
            return False
        return severity.rank <= Severity(self.value).rank


def exit_code_for(
    by_severity: Mapping[Severity, int], fail_on: FailOn, *, material: bool = False
) -> ExitCode:
    """The exit status of an audit that produced ``by_severity`` finding counts (those that
    gate: not waived, and with ``--fail-on-new`` only new or updated ones); ``material``
    is whether some currency's sum at or above clearly trivial reaches overall
    (``recon.materiality``), which only ``--fail-on material`` gates on."""
    if fail_on is FailOn.MATERIAL:
        return ExitCode.FINDINGS if material else ExitCode.OK
    failing = any(count > 0 and fail_on.fails(severity) for severity, count in by_severity.items())
    return ExitCode.FINDINGS if failing else ExitCode.OK
