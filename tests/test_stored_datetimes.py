"""Date-time columns stored typed by recon fetch: nothing lost, and the same findings as text."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import audit, credit, use, write_snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recon import datetimes, stored_datetimes
from recon.entities import CREDIT, CREDIT_USE
from recon.fields import DATETIME_NAMES
from recon.sandbox.store import load

_CANONICAL = st.datetimes(
    min_value=pd.Timestamp("0001-01-01").to_pydatetime(),
    max_value=pd.Timestamp("9999-12-31").to_pydatetime(),
).map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S"))
_ODD = st.sampled_from(
    [
        "2025-02-30T10:00:00Z",  # impossible date
        "2025-13-01T09:00:00",
        "2025-01-01T10:00:00+01:00",  # an offset
        "2025-01-01T10:00:00+00:00",
        "2025-01-01T10:00:00.5Z",  # a fraction
        "2025-01-01T10:00Z",  # no seconds
        "2025-01-01 10:00:00",  # a space
        "2025-01-01t10:00:00z",
        "0000-01-01T00:00:00",
        "yesterday",
        "",
        " 2025-01-01T10:00:00Z",
    ]
)
_VALUE = st.one_of(
    _CANONICAL,
    _CANONICAL.map(lambda text: text + "Z"),
    _ODD,
    st.none(),
    st.text(max_size=25),
)


def _round_trip(tmp_path, texts: list[str | None]) -> tuple[pa.Field, pa.ChunkedArray]:
    """``texts`` stored as recon fetch stores them, written and read back."""
    table = pa.table({"CreatedOn": pa.array(texts, type=pa.string())})
    path = tmp_path / "stored.parquet"
    pq.write_table(stored_datetimes.store(table, ["CreatedOn"]), path, row_group_size=7)
    read = pq.read_table(path)
    return read.schema.field("CreatedOn"), read.column("CreatedOn")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(_VALUE, max_size=40))
def test_every_value_comes_back_exactly_as_sent(tmp_path, texts):
    field, column = _round_trip(tmp_path, texts)
    assert stored_datetimes.is_stored(field)
    restored = stored_datetimes.as_text(pa.table({"CreatedOn": column}).cast(pa.schema([field])))
    assert restored.column("CreatedOn").to_pylist() == texts
    assert restored.schema.field("CreatedOn").type == pa.string()


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(texts=st.lists(_VALUE, max_size=40), z_is_local=st.booleans())
def test_the_stored_column_parses_as_its_text_does(tmp_path, texts, z_is_local):
    field, column = _round_trip(tmp_path, texts)
    stored = stored_datetimes.read(field, column)
    fast = stored_datetimes.parse(stored, z_is_local=z_is_local)
    text = datetimes.parse_iso(pa.array(texts, type=pa.string()), z_is_local=z_is_local)
    np.testing.assert_array_equal(fast.wall, text.wall)
    np.testing.assert_array_equal(fast.offset_minutes, text.offset_minutes)
    np.testing.assert_array_equal(fast.invalid, text.invalid)


def test_canonical_values_are_typed_and_only_the_odd_ones_kept_as_text(tmp_path):
    texts = ["2025-01-01T10:00:00Z", "2025-02-30T10:00:00Z", None, "2025-01-02T10:00:00Z"]
    field, column = _round_trip(tmp_path, texts)
    assert field.metadata[stored_datetimes.MARK] == b"Z"
    stored = stored_datetimes.read(field, column)
    assert stored.text.to_pylist() == [None, "2025-02-30T10:00:00Z", None, None]
    assert stored.wall.null_count == 2


def _records():
    return {
        "credits": [
            credit(1, RemainingCredit=70.0),
            credit(2, ExpireDate="2025-02-30T00:00:00Z", CreatedOn="31/12/2024 09:00"),
            credit(3, ValidFrom="2025-01-01T00:00:00+01:00"),
        ],
        "uses": [
            use(10, 1),
            use(11, 1, BookingFromTime="2025-01-05T09:00:00"),  # no zone among Z values
            use(12, 1, CreatedOn="yesterday"),
            use(13, 3, BookingToTime="2025-01-05T08:00:00Z"),  # ends before it starts
        ],
    }


@pytest.mark.parametrize("z_is_local", [False, True])
def test_a_fetched_snapshot_audits_exactly_like_its_text(tmp_path, z_is_local):
    rules = tmp_path / "rules.toml"
    rules.write_text(f"[time]\nz_is_local = {json.dumps(['CreatedOn'] if z_is_local else [])}\n")
    as_text = write_snapshot(tmp_path / "text", **_records(), fmt="parquet")
    fetched = write_snapshot(tmp_path / "fetched", **_records(), fmt="fetched")
    schema = pq.read_schema(fetched / f"{CREDIT_USE.stem}.parquet")
    assert all(
        stored_datetimes.is_stored(schema.field(name)) for name in DATETIME_NAMES[CREDIT_USE]
    )
    reference = audit(as_text, rules=rules)
    result = audit(fetched, rules=rules)
    assert {"schema_violation", "denormalisation_mismatch"} <= set(reference.findings["rule"])
    pd.testing.assert_frame_equal(result.findings, reference.findings)
    for entity in reference.snapshot.entities:
        pd.testing.assert_frame_equal(
            result.snapshot.frame(entity), reference.snapshot.frame(entity)
        )


def test_a_struct_recon_did_not_write_is_a_value_of_the_wrong_type(tmp_path):
    snapshot = write_snapshot(tmp_path, credits=[credit(1, RemainingCredit=70.0)], uses=[])
    path = snapshot / "coworkerbookingcredits.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    path.unlink()
    table = pa.Table.from_pylist(records)
    forged = pa.StructArray.from_arrays(
        [pa.array([1], pa.int64()), pa.array(["x"])], names=["wall", "text"]
    )
    index = table.column_names.index("ValidFrom")
    field = pa.field("ValidFrom", forged.type, metadata={stored_datetimes.MARK: b"Z"})
    pq.write_table(
        table.set_column(index, field, forged), tmp_path / "coworkerbookingcredits.parquet"
    )
    (found,) = audit(tmp_path).findings.query("rule == 'schema_violation'").itertuples()
    assert found.field == "ValidFrom"


def test_a_mark_on_a_field_that_is_no_date_time_reads_as_its_text(tmp_path):
    snapshot = write_snapshot(
        tmp_path, credits=[credit(1, RemainingCredit=70.0)], uses=[], fmt="parquet"
    )
    path = snapshot / f"{CREDIT.stem}.parquet"
    table = pq.read_table(path).append_column("Renewal", pa.array(["2025-01-01T10:00:00Z"]))
    pq.write_table(stored_datetimes.store(table, ["Renewal", "Description"]), path)
    result = audit(snapshot)
    assert result.snapshot.frame(CREDIT)["Renewal"].tolist() == ["2025-01-01T10:00:00Z"]
    assert result.snapshot.frame(CREDIT)["Description"].tolist() == ["Monthly meeting-room credit"]
    assert "schema_violation" not in set(result.findings["rule"])


def test_the_sandbox_serves_a_fetched_snapshot_as_text(tmp_path):
    fetched = write_snapshot(tmp_path, **_records(), fmt="fetched")
    served = load(fetched)[CREDIT_USE]
    texts = [served.record(index)["BookingToTime"] for index in range(len(served))]
    assert texts == [record["BookingToTime"] for record in _records()["uses"]]
