"""An audit: a snapshot loaded and validated, every enabled rule run, findings and summary gathered.

This is the library entry point the CLI is a thin layer over; in a notebook::

    result = recon.audit("snapshot/", as_of="2025-09-30T23:59:59Z")
    result.findings          # a DataFrame, one row per finding
    result.summary           # counts, rule outcomes, inputs: what findings.json holds
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

from . import findings
from ._version import __version__
from .baseline import Baseline, Change, compare, load_baseline, require_earlier
from .checks import RULE_IDS, RULES, Rule, Values
from .closing import CLOSE_RULES
from .config import RuleSet, load_ruleset
from .derived import Derived
from .errors import UsageError
from .exitcodes import ExitCode, FailOn, Severity, exit_code_for
from .fingerprints import fingerprints
from .impact import impacts
from .load import Snapshot, load_snapshot
from .materiality import Materiality, materiality, require_thresholds
from .moments import parse_moment
from .waivers import WAIVER_RULES, WaiverFile, apply, load_waivers

WAIVABLE: tuple[str, ...] = (*RULE_IDS, *CLOSE_RULES)
"""The rules a waiver may name: the rule set's and the close's (one waiver file serves both)."""
_MADE = (*findings.COLUMNS[: -len(findings.AUDIT_COLUMNS)], "impact", "currency", "fingerprint")
"""The columns of findings as rules make them, before baseline and waivers."""


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
    derived: Derived
    """What the rules judged from (parent rows, usage times, windows, ledgers, balances and
    their verdicts): the reports show these, never work them out again."""
    materiality: Materiality
    """The findings' money per currency against the rule set's thresholds (waived findings
    included); ``summary["materiality"]`` is its ``describe()``."""

    @property
    def passed(self) -> bool:
        """No finding at or above ``fail_on``: what exit status 0 means."""
        return self.exit_code is ExitCode.OK

    def __repr__(self) -> str:
        counts = self.summary["by_severity"]
        verdict = (
            "not gated" if self.fail_on is FailOn.NEVER else ("passed" if self.passed else "failed")
        )
        return (
            f"<AuditResult {verdict}: {self.summary['findings']:,} findings "
            f"({counts['error']:,} error, {counts['warning']:,} warning, {counts['info']:,} info) "
            f"in {self.summary['snapshot']['name']!r} as of {self.summary['as_of']}>"
        )

    def _repr_html_(self) -> str:
        """A short table for notebooks: the verdict, the counts, each rule that found or
        skipped something."""
        counts = self.summary["by_severity"]
        verdict = (
            "NOT GATED" if self.fail_on is FailOn.NEVER else ("PASS" if self.passed else "FAIL")
        )
        rows = "".join(
            f"<tr><td><code>{html.escape(o.rule)}</code></td><td>{o.outcome.value}</td>"
            f"<td>{o.severity.value}</td><td style='text-align:right'>{o.evaluated:,}</td>"
            f"<td style='text-align:right'>{o.findings:,}</td></tr>"
            for o in self.outcomes
            if o.findings or o.outcome is not Outcome.RAN
        )
        name = html.escape(str(self.summary["snapshot"]["name"]))
        return (
            f"<p><b>recon audit: {verdict}</b> (--fail-on {self.fail_on.value}) · "
            f"{self.summary['findings']:,} findings: {counts['error']:,} error, "
            f"{counts['warning']:,} warning, {counts['info']:,} info · snapshot "
            f"<code>{name}</code> as of {self.summary['as_of']}</p>"
            "<table><thead><tr><th>rule</th><th>outcome</th><th>severity</th>"
            f"<th>evaluated</th><th>findings</th></tr></thead><tbody>{rows}</tbody></table>"
        )


MoreRules = Callable[[Derived], tuple[pd.DataFrame, dict[str, int]]]
"""Rules beyond the rule set's, run on the audit's derived view after the rule set's (the
close's own): they return their findings (``findings.COLUMNS`` but the audit columns, with
``impact``, ``currency`` and ``fingerprint`` made) and how many records each rule
evaluated. Their findings are then baselined, waived, counted and gated with the rest."""


def audit(
    snapshot: str | Path,
    *,
    rules: str | Path | None = None,
    as_of: str | dt.datetime | pd.Timestamp | None = None,
    fail_on: str | FailOn = FailOn.ERROR,
    baseline: str | Path | Baseline | None = None,
    fail_on_new: bool = False,
    waivers: str | Path | WaiverFile | None = None,
    progress: Callable[[str], None] | None = None,
    more: MoreRules | None = None,
) -> AuditResult:
    """Audit the snapshot directory ``snapshot``.

    ``rules`` is a rule-set file laid over the default one; ``as_of`` the moment the audit
    speaks for (default: now); ``fail_on`` the lowest severity that makes ``exit_code`` 1.
    ``baseline`` is an earlier run's findings.json (or a directory holding one, or a
    ``Baseline`` read with ``recon.baseline.load_baseline``): each
    finding is then marked new, unchanged or updated against it, and with ``fail_on_new``
    only new and updated findings count toward the exit status. ``waivers`` is a waiver
    file (``recon.waivers``; or a ``WaiverFile`` already read, as ``load_ruleset_waivers``
    reads it): a finding a waiver holds for stays listed and does not gate;
    the rule set's ``[waivers]`` policy (approvers, max_days) applies to it. With
    ``fail_on="material"`` the exit status is 1 when some currency's findings at or above
    clearly trivial, waived ones included, reach the rule set's ``overall`` materiality.
    ``progress``, when given, is called with a line naming each stage as it starts (the
    CLI shows them on a terminal). ``more``: see ``MoreRules`` (``recon close`` adds its
    rules so). Raises a ``ReconError`` when the run cannot be done; bad records are
    findings, never exceptions.
    """
    try:
        fail_on = FailOn(fail_on)
    except ValueError as exc:
        choices = ", ".join(level.value for level in FailOn)
        raise UsageError(f"fail_on '{fail_on}' is not one of {choices}") from exc
    say = progress or (lambda stage: None)
    moment = parse_as_of(as_of)
    ruleset = load_ruleset(rules)
    require_thresholds(ruleset, fail_on)
    if fail_on is FailOn.MATERIAL and fail_on_new:
        raise UsageError(FAIL_ON_NEW_AND_MATERIAL)
    # Either may come read already (the CLI reads both first, to refuse a bad one before
    # anything else is done): a file of 10,000 waivers takes a second to parse.
    earlier = baseline if isinstance(baseline, Baseline) or baseline is None else None
    if baseline is not None and earlier is None:
        earlier = load_baseline(baseline)
    if earlier is not None:
        require_earlier(earlier, moment)
    accepted = waivers if isinstance(waivers, WaiverFile) or waivers is None else None
    if waivers is not None and accepted is None:
        accepted = load_ruleset_waivers(waivers, ruleset, moment, name="waivers")
    if fail_on_new and earlier is None:
        raise UsageError("fail_on_new needs a baseline to tell new findings from known ones")
    say(f"reading and validating {snapshot}")
    loaded = load_snapshot(snapshot, ruleset)
    records = sum(len(loaded.frame(entity)) for entity in loaded.files)
    say(f"read {records:,} records; running {len(RULES)} rules")
    derived = Derived(snapshot=loaded, ruleset=ruleset, as_of=moment)

    pieces, outcomes = [], []
    for rule in RULES:
        outcome, found = _run(rule, derived)
        outcomes.append(outcome)
        if found is not None:
            pieces.append(found)
    found = findings.concat(pieces, findings.COLUMNS[: -len(findings.AUDIT_COLUMNS)])
    found = pd.concat([found, impacts(found, derived)], axis=1)
    found = found.assign(fingerprint=fingerprints(found, loaded))
    if more is not None:
        extra, evaluated = more(derived)
        counts = extra["rule"].value_counts()
        outcomes += [
            RuleOutcome(rule, Outcome.RAN, Severity.ERROR, count, int(counts.get(rule, 0)))
            for rule, count in evaluated.items()
        ]
        found = findings.concat([found, extra], _MADE) if len(extra) else found
    found = found.assign(
        expected=findings.as_json_text(found["expected"]),
        actual=findings.as_json_text(found["actual"]),
    )
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    change, first_seen, resolved = compare(found, earlier, stamp)
    found = found.assign(baseline=change, first_seen=first_seen, waiver=None)
    found, about_waivers = apply(found, accepted, moment)
    found = findings.sort(findings.concat([found, about_waivers], findings.COLUMNS))
    found = _with_amounts(found)
    loaded.check_manifest()
    by_severity = {
        severity: int((found["severity"] == severity.value).sum()) for severity in Severity
    }
    gating = found[found["waiver"].isna()]
    if fail_on_new:
        gating = gating[gating["baseline"].isin([Change.NEW.value, Change.UPDATED.value])]
    money = materiality(found, ruleset)
    exit_code = exit_code_for(
        {s: int((gating["severity"] == s.value).sum()) for s in Severity},
        fail_on,
        material=money.material,
    )
    summary = _summary(found, outcomes, by_severity, loaded, ruleset, moment, fail_on, exit_code)
    summary["gate"] = {"fail_on": fail_on.value, "only_new": fail_on_new}
    summary["materiality"] = money.describe()
    if accepted is not None:
        summary["waivers"] = {
            "file": str(accepted.path),
            "sha256": accepted.sha256,
            "waivers": len(accepted.waivers),
            "list": [
                {
                    "id": waiver.id,
                    "rule": waiver.rule,
                    "record_id": waiver.record_id,
                    "fingerprint": waiver.fingerprint,
                    "reason": waiver.reason,
                    "owner": waiver.owner,
                    "approved_by": waiver.approved_by,
                    "approved": None if waiver.approved is None else waiver.approved.isoformat(),
                    "expires": waiver.expires.isoformat(),
                    "amount": None if waiver.amount is None else str(waiver.amount),
                }
                for waiver in accepted.waivers
            ],
            "held": int(found["waiver"].notna().sum()),
            **{rule: int((found["rule"] == rule).sum()) for rule in WAIVER_RULES},
        }
    if earlier is not None:
        summary["baseline"] = {
            "file": str(earlier.path),
            "as_of": earlier.as_of,
            **{c.value: int((found["baseline"] == c.value).sum()) for c in Change},
            "resolved": resolved,
        }
    return AuditResult(
        findings=found,
        summary=summary,
        outcomes=tuple(outcomes),
        snapshot=loaded,
        ruleset=ruleset,
        as_of=moment,
        fail_on=fail_on,
        exit_code=exit_code,
        derived=derived,
        materiality=money,
    )


FAIL_ON_NEW_AND_MATERIAL = (
    "--fail-on-new cannot be combined with --fail-on material: materiality judges the whole "
    "misstatement, known findings and waived ones included; use one or the other"
)


def load_ruleset_waivers(
    path: str | Path, ruleset: RuleSet, as_of: pd.Timestamp, *, name: str = "--waivers"
) -> WaiverFile:
    """The waiver file ``path``, checked as an audit as of ``as_of`` under ``ruleset`` checks
    it: known rules, and the rule set's ``[waivers]`` approvers and ``max_days`` (a waiver's
    life runs from its ``approved`` date, or from the audit's as-of date when it has none)."""
    policy = ruleset.waiver_policy
    return load_waivers(
        path,
        rules=WAIVABLE,
        approvers=policy.approvers,
        max_days=policy.max_days,
        today=as_of.tz_convert("UTC").date(),
        name=name,
    )


def parse_as_of(
    value: str | dt.datetime | pd.Timestamp | None, name: str = "as_of"
) -> pd.Timestamp:
    """The audit's moment in UTC (see ``moments.parse_moment``)."""
    return parse_moment(value, name)


def _with_amounts(found: pd.DataFrame) -> pd.DataFrame:
    """``expected_amount`` and ``actual_amount`` (Float64) for the rules whose values are
    amounts (their declaration says so), null elsewhere: typed columns for notebooks."""
    amount_rules = [rule.id for rule in RULES if rule.values is Values.AMOUNT]
    is_amount = found["rule"].isin(amount_rules).to_numpy()
    typed = {}
    for name, column in zip(findings.AMOUNT_COLUMNS, findings.JSON_TEXT_COLUMNS, strict=True):
        values = [
            _typed_amount(value)
            for value in map(findings.from_json_text, found[column].to_numpy(dtype=object))
        ]
        typed[name] = pd.array(
            [value if amount else None for value, amount in zip(values, is_amount, strict=True)],
            dtype="Float64",
        )
    return found.assign(**typed)


def _typed_amount(value: Any) -> float | int | None:
    """A finding's number for a Float64 column (an exact one as its nearest float)."""
    if isinstance(value, Decimal):
        return float(value)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _run(rule: Rule, derived: Derived) -> tuple[RuleOutcome, pd.DataFrame | None]:
    setting = derived.ruleset.rules[rule.id]
    if not setting.enabled:
        return RuleOutcome(
            rule.id, Outcome.DISABLED, setting.severity, 0, 0, "disabled by the rule set"
        ), None
    missing = [entity for entity in rule.requires if entity not in derived.snapshot]
    if missing:
        files = " and ".join(f"no {entity.stem} file" for entity in missing)
        reason = f"{files} in the snapshot"
        return RuleOutcome(rule.id, Outcome.SKIPPED, setting.severity, 0, 0, reason), None
    evaluation = rule.function(derived)
    found = evaluation.findings.assign(rule=rule.id, severity=setting.severity.value)
    outcome = RuleOutcome(rule.id, Outcome.RAN, setting.severity, evaluation.evaluated, len(found))
    return outcome, found[list(findings.COLUMNS[: -len(findings.AUDIT_COLUMNS)])]


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
