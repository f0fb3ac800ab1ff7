"""Differential property: the same records as ``.json`` (an array), ``.jsonl``, one page
envelope, an array of pages and Parquet give the same findings (rule, entity, record, field),
or are all refused as unreadable.

Messages may differ only where the form is named, so they are not compared; neither are
``actual`` values, which JSON keeps as sent and Parquet as typed.
"""

import tempfile
from pathlib import Path

import pandas as pd
from fuzz import generate
from fuzz.conftest import examples
from hypothesis import given

import recon
from recon.errors import ReconError

AS_OF = "2025-12-31T00:00:00Z"


def _outcome(directory: Path, records, form: str):
    snapshot = generate.write(directory / form, records, form)
    try:
        result = recon.audit(snapshot, as_of=AS_OF)
    except ReconError as exc:
        return ("refused", type(exc).__name__)
    found = result.findings
    return sorted(
        (rule, entity, -1 if pd.isna(record_id) else int(record_id), field or "", int(row))
        for rule, entity, record_id, field, row in zip(
            found["rule"],
            found["entity"],
            found["record_id"],
            found["field"],
            found["row"],
            strict=True,
        )
    )


@examples(12)
@given(generate.snapshots())
def test_every_form_gives_the_same_findings(records):
    with tempfile.TemporaryDirectory() as tmp:
        outcomes = {form: _outcome(Path(tmp), records, form) for form in generate.FORMS}
    reference = outcomes["jsonl"]
    for form, outcome in outcomes.items():
        assert outcome == reference, f"{form} differs from jsonl"
