"""The example findings quoted in docs/rules.md are what recon says about the sample."""

import json
import re
from pathlib import Path

import recon
from recon.report.context import findings_records

ROOT = Path(__file__).resolve().parent.parent
BERLIN_EXAMPLE = 501594  # quoted from an audit with the sample's Berlin location in its zone


def _quoted_findings():
    blocks = re.findall(
        r"```json\n(\{\n.*?\n\})\n```", (ROOT / "docs" / "rules.md").read_text(), re.DOTALL
    )
    quoted = [json.loads(block) for block in blocks]
    return [finding for finding in quoted if {"rule", "message", "record_id"} <= set(finding)]


def test_rules_doc_quotes_real_findings(tmp_path):
    quoted = _quoted_findings()
    assert len(quoted) >= 17
    default = findings_records(
        recon.audit(ROOT / "sample_data", as_of="2025-12-31T00:00:00Z").findings
    )
    berlin_rules = tmp_path / "berlin.toml"
    berlin_rules.write_text('[time.zones]\n1204 = "Europe/Berlin"\n')
    berlin = findings_records(
        recon.audit(ROOT / "sample_data", as_of="2025-12-31T00:00:00Z", rules=berlin_rules).findings
    )
    for finding in quoted:
        source = berlin if finding["record_id"] == BERLIN_EXAMPLE else default
        # The docs quote a finding's keys that explain it; each must be recon's, exactly.
        shown = [{key: real.get(key) for key in finding} for real in source]
        assert finding in shown, finding["message"]
