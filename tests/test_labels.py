"""Labels (``fields.LABELS``): declared text held as Arrow dictionaries, with the values
as sent, whatever the file form, and judged as the same text would be."""

from __future__ import annotations

import itertools
from unittest import mock

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import recon
from recon import schemas
from recon.entities import ALLOWANCE_USE, CREDIT_USE
from recon.fields import LABELS

from .builders import allowance, allowance_use, credit, found, manual_use, use, write_snapshot

FORMS = ["json", "envelope", "envelopes", "jsonl", "parquet", "fetched"]
_text = st.one_of(st.none(), st.sampled_from(["", " ", "Room A", "ana@example.com"]), st.text())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(_text, max_size=60),
    cuts=st.lists(st.integers(0, 60), max_size=5),
    piece=st.integers(1, 20),
)
def test_as_labels__keeps_every_value_in_any_chunking(values, cuts, piece):
    # JSON Lines gives a column in blocks; pieces of ``piece`` values are encoded together.
    edges = sorted({0, len(values), *(cut % (len(values) + 1) for cut in cuts)})
    whole = pa.array(values, pa.string())
    column = pa.chunked_array(
        [whole.slice(a, b - a) for a, b in itertools.pairwise(edges)], pa.string()
    )
    with mock.patch.object(schemas, "_LABEL_PIECE", piece):
        labels = schemas._as_labels(column)
    assert labels.type == schemas.LABEL_TYPE
    assert labels.to_pylist() == values
    assert all(chunk.dictionary.null_count == 0 for chunk in labels.chunks)


def _records():
    credits = [credit(1, UpdatedBy="admin@example.com")]
    uses = [
        use(10, 1, UpdatedBy="ana@example.com", BookingResourceName="Room A"),
        use(11, 1, UpdatedBy=None, BookingResourceName="Room A"),
        use(12, 1, UpdatedBy="  ", BookingResourceName="Sala Ñ"),
        manual_use(13, 1, 5, "refund, agreed by phone") | {"UpdatedBy": "admin@example.com"},
        manual_use(14, 1, 5, "second refund") | {"UpdatedBy": " "},
    ]
    allowances = [allowance(1)]
    allowance_uses = [allowance_use(20, 1, BookingResourceName="Room B", UpdatedBy="bo")]
    return credits, uses, allowances, allowance_uses


@pytest.mark.parametrize("form", FORMS)
def test_labels_are_dictionaries_of_the_values_sent_in_every_form(tmp_path, form):
    credits, uses, allowances, allowance_uses = _records()
    snapshot = write_snapshot(
        tmp_path / "snap",
        credits=credits,
        uses=uses,
        allowances=allowances,
        allowance_uses=allowance_uses,
        fmt=form,
    )
    loaded = recon.load_snapshot(snapshot, recon.load_ruleset())
    frame = loaded.frame(CREDIT_USE)
    for name in LABELS:
        assert frame[name].dtype == pd.ArrowDtype(schemas.LABEL_TYPE), name
        assert frame[name].tolist() == [
            pd.NA if record.get(name) is None else record[name] for record in uses
        ]
    assert loaded[CREDIT_USE].violations.empty
    # A free field of the same name (an extra-service use's room) stays as read.
    free = loaded.frame(ALLOWANCE_USE)["BookingResourceName"]
    assert not pa.types.is_dictionary(pa.array(free).type)
    assert free.tolist() == ["Room B"]


@pytest.mark.parametrize("form", ["jsonl", "fetched"])
def test_labels_are_judged_and_shown_as_text(tmp_path, form):
    # manual_adjustment says who made the entry from UpdatedBy: a blank one says nobody.
    credits, uses, _, _ = _records()
    result = recon.audit(
        write_snapshot(tmp_path / "snap", credits=credits, uses=uses, fmt=form),
        as_of="2025-12-31T00:00:00Z",
    )
    assert sorted(found(result, "manual_adjustment")) == [13, 14]
    manual = result.findings[result.findings["rule"] == "manual_adjustment"]
    messages = dict(zip(manual["record_id"].tolist(), manual["message"], strict=True))
    assert " by admin@example.com" in messages[13]
    assert " by " not in messages[14]
