"""The every-rule DuckDB reference of the benchmarks counts what recon counts (issue 12).

``benchmarks/duckdb_reference.py`` is the yardstick of the goal row "against an
all-DuckDB implementation of every rule": a ratio to it only means something if it
does the same work and finds the same things. On small generated snapshots (JSON
Lines, Parquet with date-times stored as ``recon fetch`` stores them, Parquet with
date-times as text, and JSON Lines with values pyarrow cannot type), the reference
and ``recon audit`` run in subprocesses, and every rule's count, and the
``schema_violation`` findings per entity and field, must equal between them and
``planted.json``. Skipped where DuckDB is not installed (it is a ``bench`` extra).
"""

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "benchmarks" / "make_snapshot.py"
REFERENCE = ROOT / "benchmarks" / "duckdb_reference.py"
AS_OF = "2025-12-31T00:00:00Z"

SNAPSHOTS = {
    # name: (generator options, the snapshot's directory under the generator's --out)
    "jsonl": (("--format", "both"), "jsonl"),
    "parquet-stored": (("--format", "both"), "parquet"),
    "parquet-text": (("--format", "parquet", "--text-datetimes"), "."),
    "jsonl-untypeable": (("--format", "jsonl", "--untypeable", "0.02"), "."),
}


def _run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """Each snapshot generated once, with recon's findings and the reference's result."""
    root = tmp_path_factory.mktemp("reference")
    generated: dict[tuple[str, ...], Path] = {}
    results = {}
    for name, (options, inside) in SNAPSHOTS.items():
        if options not in generated:
            out = root / f"gen-{len(generated)}"
            done = _run(
                [
                    *(sys.executable, str(GENERATOR), "--credits", "200", "--uses", "2000"),
                    *("--out", str(out), *options),
                ]
            )
            assert done.returncode == 0, done.stderr
            generated[options] = out
        snapshot = generated[options] / inside
        planted = json.loads((generated[options] / "planted.json").read_text(encoding="utf-8"))
        findings = root / f"out-{name}"
        done = _run(
            [
                *(sys.executable, "-m", "recon", "audit", str(snapshot), "--out", str(findings)),
                *("--as-of", AS_OF, "--format", "json", "-q"),
            ]
        )
        assert done.returncode in (0, 1), done.stderr
        recon = json.loads((findings / "findings.json").read_text(encoding="utf-8"))
        done = _run([sys.executable, str(REFERENCE), str(snapshot), "--json"])
        assert done.returncode == 0, done.stderr
        results[name] = (planted, recon, json.loads(done.stdout))
    return results


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_every_rule_counts_what_recon_and_planted_count(audited, name):
    planted, recon, reference = audited[name]
    expected = {rule: n for rule, n in planted["expected_by_rule"].items() if n}
    assert {rule: n for rule, n in recon["summary"]["by_rule"].items() if n} == expected
    assert {rule: n for rule, n in reference["by_rule"].items() if n} == expected
    # Every rule of recon's default set ran in the reference, not just the ones that fired.
    assert set(reference["by_rule"]) >= set(recon["summary"]["by_rule"])


@pytest.mark.parametrize("name", SNAPSHOTS)
def test_schema_violations_per_field_are_recons(audited, name):
    _, recon, reference = audited[name]
    per_field = Counter(
        f"{finding['entity']}.{finding['field']}"
        for finding in recon["findings"]
        if finding["rule"] == "schema_violation"
    )
    assert per_field  # the generator plants some on every snapshot
    assert reference["schema_violations_by_field"] == dict(per_field)
