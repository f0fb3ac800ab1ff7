"""junit.xml: the audit as a JUnit report, one test case per rule, for CI systems.

A rule is a test case (``classname="recon.rules"``, ``name`` its id) in one
``<testsuite name="recon audit">``:

- a rule with findings at or above ``--fail-on`` is a ``<failure>``: its message
  counts them by severity, its body lists them one per line (record id, entity,
  message), at most ``LINE_LIMIT`` lines;
- a rule whose findings are all below ``--fail-on`` passes and lists them in
  ``<system-out>``;
- a skipped or disabled rule is ``<skipped message="why"/>``.

Every rule that ran says in ``<system-out>`` how many records it evaluated, so
"0 findings" never hides "0 records checked". The timestamp is the audit's
``as_of``, not the clock, and there is no ``time`` attribute, so the file is
byte-stable for the same input, like findings.json.

The document is built with ElementTree, which escapes markup. API text may
still hold characters XML 1.0 cannot carry at all (NUL and other C0 controls,
lone surrogates, U+FFFE/U+FFFF); ``xml_text`` replaces each with U+FFFD, so
the file stays well-formed whatever the API sent.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from typing import Any

from ..exitcodes import FailOn, Severity

LINE_LIMIT = 200
"""Findings listed per test case; all of them are in findings.json."""

SUITE_NAME = "recon audit"
CLASSNAME = "recon.rules"

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAKS = re.compile(r"[\r\n]+")


def xml_text(value: Any) -> str:
    """``value`` as text XML 1.0 can carry: each character it cannot becomes U+FFFD."""
    return _NOT_XML.sub("\ufffd", "" if value is None else str(value))


def render_junit(context: dict[str, Any]) -> str:
    """The JUnit XML document of the audit in ``context`` (see ``report.build_context``)."""
    summary = context["summary"]
    fail_on = FailOn(summary["fail_on"])
    by_rule: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in context["findings"]:
        by_rule[finding["rule"]].append(finding)

    rules = summary["rules"]
    failing = {
        rule["rule"]
        for rule in rules
        if any(fail_on.fails(Severity(f["severity"])) for f in by_rule.get(rule["rule"], ()))
    }
    # Under --fail-on material the gate is the materiality, not a rule: one more test case.
    money = summary.get("materiality") if fail_on is FailOn.MATERIAL else None
    material = bool(money and money["material"])
    counts = {
        "tests": str(len(rules) + (money is not None)),
        "failures": str(len(failing) + material),
        "errors": "0",
        "skipped": str(sum(rule["outcome"] != "ran" for rule in rules)),
    }
    root = _element(None, "testsuites", name="recon", **counts)
    suite = _element(
        root,
        "testsuite",
        name=SUITE_NAME,
        **counts,
        # JUnit's timestamp has no zone; as_of is UTC, and the property keeps its "Z".
        timestamp=summary["as_of"].removesuffix("Z"),
    )
    properties = _element(suite, "properties")
    for name, value in _properties(summary):
        _element(properties, "property", name=name, value=value)

    for rule in rules:
        case = _element(suite, "testcase", classname=CLASSNAME, name=rule["rule"])
        if rule["outcome"] != "ran":
            _element(case, "skipped", message=rule["reason"] or rule["outcome"])
            continue
        found = by_rule.get(rule["rule"], [])
        header = f"{rule['evaluated']:,} records evaluated, {len(found):,} findings"
        if rule["rule"] in failing:
            severities = Counter(finding["severity"] for finding in found)
            counted = ", ".join(
                f"{severities[s.value]:,} {s.value}" for s in Severity if severities[s.value]
            )
            failure = _element(
                case,
                "failure",
                message=f"{counted} findings (--fail-on {fail_on.value})",
                type=rule["severity"],
            )
            failure.text = xml_text(_listing(found))
            _element(case, "system-out").text = header
        else:
            lines = [header, _listing(found)] if found else [header]
            _element(case, "system-out").text = xml_text("\n".join(lines))

    if money is not None:
        _materiality_case(suite, money)

    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _materiality_case(suite: ET.Element, money: dict[str, Any]) -> None:
    """The test case of ``--fail-on material``: a failure when a currency reaches overall."""
    case = _element(suite, "testcase", classname=CLASSNAME, name="materiality")
    lines = []
    for entry in money["by_currency"]:
        code = entry["currency"] or "(no currency)"
        above, limits = entry["at_or_above_clearly_trivial"], entry["thresholds"]
        if limits is None:
            lines.append(f"{code}: {entry['sum']} in {entry['findings']:,} findings, no thresholds")
        else:
            lines.append(
                f"{code}: {above['sum']} at or above clearly trivial {limits['clearly_trivial']} "
                f"({above['count']:,} findings), performance {limits['performance']}, overall "
                f"{limits['overall']}: {entry['standing'].replace('_', ' ')}"
            )
    text = xml_text("\n".join(lines) or "no finding moves money")
    if money["material"]:
        reached = [
            entry["currency"]
            for entry in money["by_currency"]
            if entry["standing"] == "reaches_overall"
        ]
        failure = _element(
            case,
            "failure",
            message=f"overall materiality reached in {', '.join(reached)} (--fail-on material)",
            type="material",
        )
        failure.text = text
    else:
        _element(case, "system-out").text = text


def _properties(summary: dict[str, Any]) -> list[tuple[str, Any]]:
    rule_set = summary["rule_set"]
    sources = ", ".join(f"{s['name']} (sha256 {s['sha256']})" for s in rule_set["sources"])
    return [
        ("snapshot", summary["snapshot"]["name"]),
        ("as_of", summary["as_of"]),
        ("fail_on", summary["fail_on"]),
        ("status", summary["status"]),
        ("exit_code", summary["exit_code"]),
        ("findings", summary["findings"]),
        *((f"findings.{severity}", count) for severity, count in summary["by_severity"].items()),
        ("rule_set", sources),
        ("tolerance", rule_set["tolerance"]),
        ("recon_version", summary["recon_version"]),
    ]


def _listing(found: list[dict[str, Any]]) -> str:
    """One line per finding, at most ``LINE_LIMIT`` of them."""
    lines = [_line(finding) for finding in found[:LINE_LIMIT]]
    if len(found) > LINE_LIMIT:
        lines.append(f"... and {len(found) - LINE_LIMIT:,} more, see findings.json")
    return "\n".join(lines)


def _line(finding: dict[str, Any]) -> str:
    record = finding["record_id"]
    where = f"row {finding['row']}" if record is None else str(record)
    message = _LINE_BREAKS.sub(" ", str(finding["message"]))
    return f"{where} {finding['entity']}: {message}"


def _element(parent: ET.Element | None, tag: str, **attributes: Any) -> ET.Element:
    cleaned = {name: xml_text(value) for name, value in attributes.items()}
    if parent is None:
        return ET.Element(tag, cleaned)
    return ET.SubElement(parent, tag, cleaned)
