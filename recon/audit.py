"""An audit: a snapshot loaded and validated, every enabled rule run, findings and summary gathered.

This is the library entry point the CLI is a thin layer over; in a notebook::

    result = recon.audit("snapshot/", as_of="2025-09-30T23:59:59Z")
    result.findings          # a DataFrame, one row per finding
    result.summary           # counts, rule outcomes, inputs: what findings.json holds
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from . import __version__, datetimes, findings
from .checks import RULES, AuditContext, Rule
from .config import RuleSet, load_ruleset
from .errors import UsageError
from .exitcodes import ExitCode, FailOn, Severity, exit_code_for
from .load import Snapshot, load_snapshot


class Outcome(StrEnum):
    """What became of a rule in an audit."""

    RAN = "ran"
    SKIPPED = "skipped"
    """It could not run: an entity it needs is not in the snapshot."""
    DISABLED = "disabled"
    """The rule set turned it off."""


@dataclass(frozen=True)
class RuleOutcome:
    rule: str
    outcome: Outcome
    severity: Severity
    evaluated: int
    findings: int
    reason: str | None = None


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit produced; ``summary`` and ``findings`` are what findings.json holds."""

    findings: pd.DataFrame
    summary: dict[str, Any]
    outcomes: tuple[RuleOutcome, ...]
    snapshot: Snapshot
    ruleset: RuleSet
    as_of: pd.Timestamp
    fail_on: FailOn
    exit_code: ExitCode
    context: AuditContext
    """What the rules worked from (ledgers, usage times, parent rows), for the reports to
    show the same arithmetic without doing it again."""


def audit(
    snapshot: str | Path,
    *,
    rules: str | Path | None = None,
    as_of: str | dt.datetime | pd.Timestamp | None = None,
    fail_on: str | FailOn = FailOn.ERROR,
) -> AuditResult:
    """Audit the snapshot directory ``snapshot``.

    ``rules`` is a rule-set file laid over the default one; ``as_of`` the moment
    the audit speaks for (default: now); ``fail_on`` the lowest severity that
    makes ``exit_code`` 1. Raises a ``ReconError`` when the run cannot be done;
    bad records are findings, never exceptions.
    """
    try:
        fail_on = FailOn(fail_on)
    except ValueError as exc:
        choices = ", ".join(level.value for level in FailOn)
        raise UsageError(f"fail-on '{fail_on}' is not one of {choices}") from exc
    moment = parse_as_of(as_of)
    ruleset = load_ruleset(rules)
    loaded = load_snapshot(snapshot, ruleset)
    context = AuditContext(snapshot=loaded, ruleset=ruleset, as_of=moment)

    pieces, outcomes = [], []
    for rule in RULES:
        outcome, found = _run(rule, context)
        outcomes.append(outcome)
        if found is not None:
            pieces.append(found)
    found = findings.sort(findings.concat(pieces, findings.COLUMNS))
    loaded.check_manifest()
    by_severity = {
        severity: int((found["severity"] == severity.value).sum()) for severity in Severity
    }
    exit_code = exit_code_for(by_severity, fail_on)
    summary = _summary(found, outcomes, by_severity, loaded, ruleset, moment, fail_on, exit_code)
    return AuditResult(
        findings=found,
        summary=summary,
        outcomes=tuple(outcomes),
        snapshot=loaded,
        ruleset=ruleset,
        as_of=moment,
        fail_on=fail_on,
        exit_code=exit_code,
        context=context,
    )


def parse_as_of(value: str | dt.datetime | pd.Timestamp | None) -> pd.Timestamp:
    """The audit's moment in UTC; a value without an offset is taken as UTC."""
    if value is None:
        return pd.Timestamp.now(tz="UTC").floor("s")
    if isinstance(value, dt.datetime):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return _within_output_years(stamp, value)
    parsed = datetimes.parse_iso(pa.array([value], type=pa.string()))
    if parsed.invalid[0] or np.isnat(parsed.wall[0]):
        raise UsageError(
            f"--as-of '{value}' is not an ISO-8601 date-time; write e.g. 2025-09-30T23:59:59Z"
        )
    utc = parsed.wall[0] - (
        parsed.offset_minutes[0] if parsed.has_offset[0] else 0
    ) * np.timedelta64(1, "m")
    return _within_output_years(pd.Timestamp(utc).tz_localize("UTC"), value)


AS_OF_YEARS = (1980, 2107)
"""The years an ``as_of`` may fall in: every output records it, and report.xlsx (a zip
archive) can hold no time outside them."""


def _within_output_years(moment: pd.Timestamp, value: object) -> pd.Timestamp:
    first, last = AS_OF_YEARS
    if not first <= moment.year <= last:
        raise UsageError(
            f"--as-of '{value}' is outside the years {first} to {last} that recon's outputs "
            "can record; give a moment within them"
        )
    return moment


def _run(rule: Rule, context: AuditContext) -> tuple[RuleOutcome, pd.DataFrame | None]:
    setting = context.ruleset.rules[rule.id]
    if not setting.enabled:
        return RuleOutcome(
            rule.id, Outcome.DISABLED, setting.severity, 0, 0, "disabled by the rule set"
        ), None
    missing = [entity for entity in rule.requires if entity not in context.snapshot]
    if missing:
        files = " and ".join(f"no {entity.stem} file" for entity in missing)
        reason = f"{files} in the snapshot"
        return RuleOutcome(rule.id, Outcome.SKIPPED, setting.severity, 0, 0, reason), None
    evaluation = rule.function(context)
    found = evaluation.findings.assign(rule=rule.id, severity=setting.severity.value)
    outcome = RuleOutcome(rule.id, Outcome.RAN, setting.severity, evaluation.evaluated, len(found))
    return outcome, found[list(findings.COLUMNS)]


def _summary(
    found: pd.DataFrame,
    outcomes: list[RuleOutcome],
    by_severity: dict[Severity, int],
    snapshot: Snapshot,
    ruleset: RuleSet,
    as_of: pd.Timestamp,
    fail_on: FailOn,
    exit_code: ExitCode,
) -> dict[str, Any]:
    return {
        "findings": len(found),
        "by_rule": {o.rule: o.findings for o in outcomes if o.outcome is Outcome.RAN},
        "by_severity": {severity.value: count for severity, count in by_severity.items()},
        "status": "fail" if exit_code is ExitCode.FINDINGS else "pass",
        "fail_on": fail_on.value,
        "exit_code": int(exit_code),
        "as_of": as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "recon_version": __version__,
        "rules": [
            {
                "rule": o.rule,
                "outcome": o.outcome.value,
                "severity": o.severity.value,
                "evaluated": o.evaluated,
                "findings": o.findings,
                "reason": o.reason,
            }
            for o in outcomes
        ],
        "snapshot": {
            "name": snapshot.path.resolve().name,
            "files": [
                {
                    "entity": entity.name,
                    "file": file.name,
                    "format": file.format,
                    "records": len(snapshot.frame(entity)),
                    "sha256": snapshot.sha256(entity),
                }
                for entity, file in snapshot.files.items()
            ],
            "manifest": snapshot.manifest,
        },
        "rule_set": ruleset.describe(),
    }
