"""The rules registered in code, the default rule set and the contract name the same rule ids,
with the contract's default severities."""

import re
import tomllib
from pathlib import Path

import recon
from recon.checks import RULE_IDS
from recon.resources import default_rules_file

CONTRACT = Path(__file__).resolve().parent.parent / "docs" / "CONTRACT.md"


def _contract_rules() -> dict[str, str]:
    """Rule id -> default severity, from the rule table of the contract (section 5)."""
    rows = re.findall(r"^\| `([a-z_]+)` \| (error|warning) \|", CONTRACT.read_text(), re.MULTILINE)
    return dict(rows)


def test_registered_rule_ids_are_the_contracts():
    contract = _contract_rules()
    assert len(contract) == 17
    assert list(RULE_IDS) == list(contract)


def test_default_rule_set_declares_every_rule_with_the_contract_severity():
    declared = tomllib.loads(default_rules_file().read_text())["rules"]
    assert {rule: setting["severity"] for rule, setting in declared.items()} == _contract_rules()
    assert all(setting["enabled"] for setting in declared.values())


def test_public_api_is_pinned():
    assert sorted(recon.__all__) == sorted(
        [
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
    )
    for name in recon.__all__:
        assert hasattr(recon, name), name
