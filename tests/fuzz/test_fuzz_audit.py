"""Property: whatever a snapshot holds, ``recon audit`` exits 0, 1 or 2, never reaches the
"internal error" catch-all, writes valid findings.json, report.html and report.md on 0 and 1,
and writes nothing (one line on stderr) on 2.

Snapshots are generated from the contract's field table with random types, nulls, odd
numbers and strings, nesting and broken bytes, each entity in any file form; others are made
of the API documentation's own example responses (``seeds.json``).
"""

import hashlib
import json
import tempfile
from pathlib import Path

import pytest
from fuzz import generate, harness
from fuzz.conftest import examples
from hypothesis import given
from hypothesis import strategies as st

from recon.entities import ALLOWANCE_USE, CREDIT, CREDIT_USE, ENTITIES

SEEDS = json.loads((Path(__file__).parent / "seeds.json").read_text(encoding="utf-8"))["examples"]


@st.composite
def written_snapshots(draw):
    """(records by entity, form by entity, damage to one file or None, manifest or None)."""
    records = draw(generate.snapshots())
    forms = {entity: draw(st.sampled_from(generate.FORMS)) for entity in records}
    damage = draw(
        st.none() | st.tuples(st.sampled_from(sorted(e.stem for e in records)), generate.damage())
    )
    return records, forms, damage, draw(manifests())


def manifests():
    """None (most snapshots), or extra keys for a manifest that matches the files, or
    anything at all as the manifest's text."""
    extra_keys = st.sampled_from(["note", "base_url", "format", "filters"])
    return st.one_of(
        st.none(),
        st.none(),
        st.dictionaries(extra_keys, generate.json_values, max_size=2).map(
            lambda extra: ("matching", extra)
        ),
        generate.json_values.map(lambda anything: ("anything", anything)),
    )


def _write(directory, records, forms, damage, manifest=None):
    for entity, rows in records.items():
        path = generate.write_entity(directory, entity, rows, forms[entity])
        if damage and damage[0] == entity.stem:
            generate.apply_damage(path, damage[1])
    if manifest is not None:
        kind, content = manifest
        if kind == "matching":
            entities = {
                entity.name: {
                    "file": path.name,
                    "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "records": len(records[entity]),
                }
                for entity in records
                for path in directory.glob(f"{entity.stem}.*")
            }
            content = {**content, "entities": entities}
        (directory / "manifest.json").write_text(generate.dumps(content), encoding="utf-8")
    return directory


@examples(50)
@given(written_snapshots())
def test_any_snapshot_audits_or_is_refused_in_one_line(case):
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = _write(Path(tmp) / "snapshot", *case)
        harness.audit_checked(snapshot, Path(tmp) / "out")


@examples(3)
@given(written_snapshots())
def test_the_real_cli_in_a_subprocess(case):
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = _write(Path(tmp) / "snapshot", *case)
        run = harness.run_subprocess(snapshot, Path(tmp) / "out")
        harness.check_run(run, Path(tmp) / "out")


def _seed_records(page_prefix):
    """The example records of the seed pages whose title starts with ``page_prefix``."""
    found = []
    for seed in SEEDS:
        if seed["page"].startswith(page_prefix):
            example = seed["example"]
            found.extend(example.get("Records", [example]))
    return found


def _seed_snapshot():
    uses = _seed_records("search CoworkerBookingCreditUseHistory") + _seed_records(
        "get one CoworkerBookingCreditUseHistory"
    )
    return {
        CREDIT: [],  # the credits page shows no example records
        CREDIT_USE: uses,
        ALLOWANCE_USE: _seed_records("search CoworkerExtraServiceUseHistory"),
    }


@pytest.mark.parametrize("form", generate.FORMS)
def test_the_api_documentation_examples_audit(tmp_path, form):
    snapshot = generate.write(tmp_path / "snapshot", _seed_snapshot(), form)
    run = harness.audit_checked(snapshot, tmp_path / "out")
    assert run.code == 1  # the example use points at credit 0: an orphan


@pytest.mark.parametrize("form", generate.FORMS)
def test_the_api_documentation_envelopes_audit_as_they_are(tmp_path, form):
    """The seed pages' envelopes themselves, whole, as the uses file (``.json`` forms)."""
    snapshot = tmp_path / "snapshot"
    generate.write(snapshot, {CREDIT: []}, form)
    pages = [seed["example"] for seed in SEEDS if seed["page"].startswith("search Coworker")]
    (snapshot / f"{CREDIT_USE.stem}.json").write_text(json.dumps(pages), encoding="utf-8")
    for path in snapshot.glob(f"{CREDIT_USE.stem}.*"):
        if path.suffix != ".json":
            path.unlink()
    harness.audit_checked(snapshot, tmp_path / "out")


@st.composite
def mutated_seed_snapshots(draw):
    """The seed records, each field kept, dropped or given a random value."""
    records = {}
    for entity, rows in _seed_snapshot().items():
        mutated = []
        for row in rows * draw(st.integers(1, 3)):
            row = dict(row)
            for name in list(row):
                choice = draw(st.integers(0, 9))
                if choice == 0:
                    del row[name]
                elif choice == 1:
                    row[name] = draw(generate.json_values)
            mutated.append(row)
        records[entity] = mutated
    return records, {e: draw(st.sampled_from(generate.FORMS)) for e in records}


@examples(20)
@given(mutated_seed_snapshots())
def test_mutated_api_examples_audit_or_are_refused_in_one_line(case):
    records, forms = case
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = _write(Path(tmp) / "snapshot", records, forms, None, None)
        harness.audit_checked(snapshot, Path(tmp) / "out")


def test_every_entity_has_a_file_stem():
    # The generator writes files by stem: a renamed entity would silently fuzz nothing.
    assert {entity.stem for entity in ENTITIES} >= {CREDIT.stem, CREDIT_USE.stem}
