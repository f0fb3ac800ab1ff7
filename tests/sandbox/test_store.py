"""Loading snapshots into tables: exact JSON from Parquet, odd files, errors; latency, threads."""

import datetime
import decimal
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from builders import use

from recon.errors import SnapshotError, SnapshotFileError
from recon.sandbox import Sandbox, SandboxConfig
from recon.sandbox.store import arrow_to_json, load

USES = "/api/billing/coworkerbookingcreditusehistories"
STEM = "coworkerbookingcreditusehistories"


def test_parquet_rows_become_the_json_python_would_write():
    table = pa.table(
        {
            "Id": pa.array([1, 2, 3], pa.int64()),
            "F": pa.array([10.0, float("nan"), -float("inf")]),
            "G": pa.array([2.5, None, 1e16]),
            "S": pa.array(['quote " back \\ line\n', None, "\u00e9 \u2013 \u2713"]),
            "B": pa.array([True, None, False]),
            "N": pa.nulls(3),
            "L": pa.array([[1, 2], None, []]),
            "T": pa.array(
                [datetime.datetime(2025, 1, 1, 10, 0), None, datetime.datetime(2025, 1, 2)],
                pa.timestamp("us", tz="UTC"),
            ),
            "D": pa.array(["x", "y", None]).dictionary_encode(),
            "M": pa.array(
                [decimal.Decimal("10.50"), None, decimal.Decimal("-1")], pa.decimal128(6, 2)
            ),
        }
    )
    got = [json.loads(blob) for blob in arrow_to_json(table)]
    assert got[0] == {
        "Id": 1,
        "F": 10.0,
        "G": 2.5,
        "S": 'quote " back \\ line\n',
        "B": True,
        "N": None,
        "L": [1, 2],
        "T": "2025-01-01T10:00:00Z",
        "D": "x",
        "M": 10.5,
    }
    assert isinstance(got[0]["F"], float)  # 10.0 stays a float, as in the file
    assert math.isnan(got[1]["F"]) and got[2]["F"] == -math.inf
    assert got[2]["S"] == "\u00e9 \u2013 \u2713" and got[2]["G"] == 1e16 and got[1]["D"] == "y"


def test_jsonl_with_odd_ids_blank_lines_and_crlf(tmp_path):
    lines = [
        json.dumps(use(5, 1)),
        "",
        json.dumps({**use(0, 1), "Id": "x"}),
        json.dumps(use(2, 1)),
        "  ",
    ]
    (tmp_path / f"{STEM}.jsonl").write_text("\r\n".join(lines) + "\r\n")
    table = next(t for t in load(tmp_path).values() if len(t))
    assert [table.record(i)["Id"] for i in range(len(table))] == ["x", 2, 5]
    assert all(not blob.endswith(b"\r") for blob in table.blobs)


def test_unreadable_snapshots(tmp_path):
    with pytest.raises(SnapshotError, match="does not exist; give the directory to serve"):
        load(tmp_path / "missing")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(SnapshotError, match="is not a directory; give the directory to serve"):
        load(tmp_path / "a-file")
    (tmp_path / "a-file").unlink()
    (tmp_path / f"{STEM}.jsonl").write_text('{"Id": 1}\n{"Id": 2,\n')
    with pytest.raises(SnapshotFileError, match="line 2"):
        load(tmp_path)
    (tmp_path / f"{STEM}.json").write_text("[]")
    with pytest.raises(SnapshotError, match="keep only one"):
        load(tmp_path)
    (tmp_path / f"{STEM}.jsonl").unlink()
    (tmp_path / f"{STEM}.json").write_text('{"not": "records"}')
    with pytest.raises(SnapshotFileError, match="not an array of records"):
        load(tmp_path)
    (tmp_path / f"{STEM}.json").unlink()
    (tmp_path / f"{STEM}.parquet").write_bytes(b"PAR1 nonsense")
    with pytest.raises(SnapshotFileError, match="Parquet"):
        load(tmp_path)
    # A failed load releases the port it had bound.
    with pytest.raises(SnapshotFileError):
        Sandbox(SandboxConfig(snapshot=tmp_path, port=0)).start()


def test_parquet_out_of_id_order_is_served_in_id_order(tmp_path, start, client, ids):
    records = [use(i, 1) for i in (9, 4, 7)]
    pq.write_table(pa.Table.from_pylist(records), tmp_path / f"{STEM}.parquet")
    http = client(start(snapshot=tmp_path))
    assert ids(http.get(USES)) == [4, 7, 9]
    assert ids(http.get(USES, params={"CoworkerBookingCreditUseHistory_BookingId": "9007"})) == [7]


def test_latency_overlaps_across_concurrent_requests(start, client):
    sandbox = start(latency=1.0)
    http = client(sandbox)
    began = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        statuses = list(
            pool.map(lambda page: http.get(USES, params={"page": page}).status_code, range(1, 7))
        )
    elapsed = time.monotonic() - began
    assert statuses == [200] * 6
    # Logical bounds, not a speed goal: each answer waits 1 s; answered one at a time, six
    # would take at least 6 s (side by side, about 1 s, leaving 5 s for a loaded machine).
    assert 1.0 <= elapsed < 6.0


def test_concurrent_walks_see_each_record_once(start, client, ids):
    sandbox = start()
    http = client(sandbox)

    def walk(descending):
        pages = [
            ids(http.get(USES, params={"size": 7, "page": p, "dir": -1 if descending else 1}))
            for p in range(1, 7)
        ]
        return [i for page in pages for i in page]

    with ThreadPoolExecutor(8) as pool:
        walks = list(pool.map(walk, [False, True] * 8))
    assert all(sorted(w) == list(range(101, 141)) for w in walks)
