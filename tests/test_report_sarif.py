"""findings.sarif: valid SARIF 2.1.0 (checked against the OASIS schema, vendored in
tests/schemas/), one result per finding, with fingerprints, baseline states, waivers as
suppressions and locations a code-scanning view can show."""

import json
from pathlib import Path

import jsonschema
import pytest
from builders import audit, credit, use, write_snapshot

import recon

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json").read_text())
SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def _sarif(result, out):
    recon.write_reports(result, out, ["json", "sarif"])
    return (
        json.loads((out / "findings.sarif").read_text()),
        json.loads((out / "findings.json").read_text()),
    )


def test_the_sample_as_sarif_is_valid_and_has_one_result_per_finding(tmp_path):
    sarif, document = _sarif(recon.audit(SAMPLE, as_of="2025-12-31"), tmp_path)
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    (run,) = sarif["runs"]
    results, findings = run["results"], document["findings"]
    assert len(results) == len(findings) == 57
    for result, finding in zip(results, findings, strict=True):
        assert result["ruleId"] == finding["rule"]
        assert result["partialFingerprints"] == {"recon/v1": finding["fingerprint"]}
        assert result["level"] == {"error": "error", "warning": "warning"}[finding["severity"]]
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == finding["rule"]
        assert "baselineState" not in result and "suppressions" not in result
    jsonl_uses = [r for r in results if r["properties"]["entity"].endswith("UseHistory")]
    location = jsonl_uses[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uriBaseId"] == "SNAPSHOT"
    assert location["artifactLocation"]["uri"].endswith(".jsonl")
    assert location["region"]["startLine"] >= 1
    assert run["originalUriBaseIds"]["SNAPSHOT"]["uri"].startswith("file:///")


def test_baseline_states_and_waivers_as_suppressions(tmp_path):
    snapshot = write_snapshot(
        tmp_path / "s", credits=[credit(1, RemainingCredit=60.0)], uses=[use(10, 1), use(11, 9)]
    )
    first = audit(snapshot, as_of="2025-12-01")
    recon.write_reports(first, tmp_path / "r1", ["json"])
    waivers = tmp_path / "w.toml"
    waivers.write_text(
        '[[waiver]]\nid = "W-7"\nrule = "balance_mismatch"\nrecord_id = 1\n'
        'reason = "agreed with the member"\nowner = "a@example.com"\n'
        'approved_by = "b@example.com"\nexpires = 2026-01-31\n'
    )
    result = audit(snapshot, as_of="2025-12-31", baseline=tmp_path / "r1", waivers=waivers)
    sarif, _ = _sarif(result, tmp_path / "r2")
    jsonschema.Draft4Validator(SCHEMA).validate(sarif)
    results = {r["ruleId"]: r for r in sarif["runs"][0]["results"]}
    assert results["balance_mismatch"]["baselineState"] == "unchanged"
    assert results["balance_mismatch"]["suppressions"] == [
        {
            "kind": "external",
            "status": "accepted",
            "justification": "waiver W-7: agreed with the member",
        }
    ]
    assert "suppressions" not in results["orphan_use"]


@pytest.mark.parametrize("formats", [None, ["sarif"]])
def test_sarif_is_written_only_when_asked_for(tmp_path, formats):
    snapshot = write_snapshot(tmp_path / "s", credits=[credit(1)], uses=[])
    written = recon.write_reports(
        audit(snapshot), tmp_path / "out", *([formats] if formats else [])
    )
    names = {path.name for path in written}
    assert ("findings.sarif" in names) == (formats is not None)
