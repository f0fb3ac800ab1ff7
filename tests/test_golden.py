"""The sample snapshot: recon finds exactly what sample_data/generate.py planted.

The oracle (sample_data/expected_findings.json) is written by the generator
from what it planted, independently of recon; compared as a multiset, since a
row repeated in a file is two findings.
"""

import collections
import json
import subprocess
import sys
from pathlib import Path

import recon

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def _key(finding):
    field = finding["field"] if finding["rule"] == "schema_violation" else None
    return finding["rule"], finding["entity"], finding["record_id"], field


def test_sample_data_yields_exactly_the_planted_findings(tmp_path):
    result = recon.audit(SAMPLE, as_of="2025-12-31T00:00:00Z")
    recon.write_reports(result, tmp_path, ["json"])
    actual = json.loads((tmp_path / "findings.json").read_text())["findings"]
    expected = json.loads((SAMPLE / "expected_findings.json").read_text())
    assert collections.Counter(map(_key, actual)) == collections.Counter(map(_key, expected))
    assert all(rule["outcome"] == "ran" for rule in result.summary["rules"])


def test_sample_data_is_what_its_generator_writes(tmp_path):
    """The committed sample files are the generator's current output, byte for byte."""
    copy = tmp_path / "sample_data"
    copy.mkdir()
    (copy / "generate.py").write_bytes((SAMPLE / "generate.py").read_bytes())
    subprocess.run([sys.executable, str(copy / "generate.py")], check=True, capture_output=True)
    for path in SAMPLE.iterdir():
        if path.name != "generate.py" and path.is_file():
            assert (copy / path.name).read_bytes() == path.read_bytes(), path.name
