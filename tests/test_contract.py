"""The rules registered in code, the default rule set and the contract name the same rule ids,
with the contract's default severities."""

import re
import subprocess
import sys
import tomllib
import types
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
    """As httpx pins its own: __all__ is exactly the package's public names, sorted, and
    every one resolves (the package imports them lazily, on first use)."""
    for name in recon.__all__:
        assert getattr(recon, name) is not None, name
    public = [
        name
        for name, value in vars(recon).items()
        if (not name.startswith("_") or name == "__version__")
        and not isinstance(value, types.ModuleType)
        and name not in ("annotations", "importlib", "TYPE_CHECKING", "Any")
    ]
    # The order is ruff's (RUF022); the names are exactly the package's public ones.
    assert sorted(recon.__all__) == sorted(public)
    assert len(set(recon.__all__)) == len(recon.__all__)
    assert set(dir(recon)) >= set(recon.__all__)


def test_public_names_are_the_functions_whichever_is_asked_first():
    probe = (
        "import recon\n"
        "recon.AuditResult, recon.write_reports\n"
        "assert callable(recon.audit) and recon.audit.__name__ == 'audit', recon.audit\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True)


def test_docs_contract_is_a_faithful_copy_of_the_shared_one():
    shared = CONTRACT.parent.parent.parent / "shared" / "CONTRACT.md"
    if not shared.exists():
        import pytest

        pytest.skip("no ../shared/CONTRACT.md beside this checkout")
    ours = CONTRACT.read_text(encoding="utf-8").split("\n", 2)[2]  # less the header comment
    assert ours == shared.read_text(encoding="utf-8")
