"""findings.sarif: the findings as SARIF 2.1.0, for code-scanning interfaces and CI.

One run of the tool ``recon``, its rules those of the audit (with their severity as
the default level), and one result per finding:

- ``ruleId``, ``level`` (error, warning, or note for info), the message;
- ``partialFingerprints["recon/v1"]``: the finding's fingerprint, so a SARIF viewer
  tracks it across runs as recon's baselines do;
- ``baselineState`` (new, unchanged, updated) when the audit had a ``--baseline``;
- ``suppressions`` for a finding a waiver holds for: accepted, with the waiver's reason;
- a location a viewer can show: the snapshot file of the record, relative to the base
  ``SNAPSHOT`` (the snapshot directory), with the line of the record for JSON Lines;
  a finding about a waiver points at the waiver file.

The record's Id, credit, impact and currency are in each result's ``properties``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..checks import BY_ID
from ..entities import BY_NAME

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"error": "error", "warning": "warning", "info": "note"}
_CHANGES = {"new": "new", "unchanged": "unchanged", "updated": "updated"}


def render(context: dict[str, Any]) -> str:
    result = context["result"]
    summary = context["summary"]
    rules = list(summary["rules"])
    extra = sorted({f["rule"] for f in context["findings"]} - {rule["rule"] for rule in rules})
    rule_index = {rule["rule"]: index for index, rule in enumerate(rules)}
    for name in extra:
        rule_index[name] = len(rule_index)
    files = {entity.name: file for entity, file in result.snapshot.files.items()}
    waivers = summary.get("waivers") or {}
    reasons = {waiver["id"]: waiver["reason"] for waiver in waivers.get("list", [])}
    document = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "recon",
                        "version": summary["recon_version"],
                        "semanticVersion": summary["recon_version"],
                        "rules": [_rule(rule["rule"], rule["severity"]) for rule in rules]
                        + [_rule(name, "warning") for name in extra],
                    }
                },
                "originalUriBaseIds": {
                    "SNAPSHOT": {"uri": result.snapshot.path.resolve().as_uri() + "/"}
                },
                "automationDetails": {"id": f"recon/{summary['as_of']}"},
                "results": [
                    _result(finding, rule_index, files, waivers, reasons, summary)
                    for finding in context["findings"]
                ],
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _rule(rule_id: str, severity: str) -> dict[str, Any]:
    rule = BY_ID.get(rule_id)
    doc = (rule.function.__doc__ or "").strip().split("\n")[0] if rule else ""
    text = " ".join(doc.split()) or rule_id.replace("_", " ")
    return {
        "id": rule_id,
        "name": rule_id,
        "shortDescription": {"text": text},
        "defaultConfiguration": {"level": _LEVELS.get(severity, "warning")},
        "help": {"text": f"recon rules explain {rule_id}"},
    }


def _result(
    finding: dict[str, Any],
    rule_index: dict[str, int],
    files: dict[str, Any],
    waivers: dict[str, Any],
    reasons: dict[str, str],
    summary: dict[str, Any],
) -> dict[str, Any]:
    entity = BY_NAME.get(finding["entity"])
    result: dict[str, Any] = {
        "ruleId": finding["rule"],
        "ruleIndex": rule_index[finding["rule"]],
        "level": _LEVELS.get(finding["severity"], "warning"),
        "message": {"text": finding["message"] or finding["rule"]},
        "partialFingerprints": {"recon/v1": finding["fingerprint"]},
        "locations": [_location(finding, entity, files, waivers)],
        "properties": {
            key: finding[key]
            for key in ("entity", "record_id", "credit_id", "field", "impact", "currency")
            if finding.get(key) is not None
        },
    }
    if summary.get("baseline") and finding.get("baseline") in _CHANGES:
        result["baselineState"] = _CHANGES[finding["baseline"]]
    if finding.get("waiver"):
        result["suppressions"] = [
            {
                "kind": "external",
                "status": "accepted",
                "justification": f"waiver {finding['waiver']}: "
                + reasons.get(finding["waiver"], "accepted"),
            }
        ]
    return result


def _location(
    finding: dict[str, Any], entity: Any, files: dict[str, Any], waivers: dict[str, Any]
) -> dict[str, Any]:
    if entity is None and waivers.get("file"):
        uri = Path(waivers["file"]).resolve().as_uri()
        return {"physicalLocation": {"artifactLocation": {"uri": uri}}}
    file = files.get(finding["entity"])
    name = file.name if file is not None else "."
    physical: dict[str, Any] = {"artifactLocation": {"uri": name, "uriBaseId": "SNAPSHOT"}}
    if file is not None and file.format == "jsonl" and finding.get("row"):
        physical["region"] = {"startLine": int(finding["row"])}
    return {"physicalLocation": physical}
