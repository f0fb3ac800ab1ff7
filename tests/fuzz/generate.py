"""Snapshots nobody here wrote, for the fuzz suite: records from the contract's field table
(``recon.fields.FIELDS``) with random types, nulls, odd numbers and strings, nesting and broken
bytes, written in every file form a snapshot may take.

Values that Python's ``json`` cannot write (a 5,000-digit integer, ``NaN``, a lone surrogate
escape, nesting deeper than Python recurses) are ``Raw`` JSON text, written verbatim.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import strategies as st

from recon.entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE, ENTITIES, Entity
from recon.fields import ALIASES, FIELDS, Kind
from recon.snapshot import JSON_TEXT

FORMS = ("json", "envelope", "envelopes", "jsonl", "parquet")


@dataclass(frozen=True)
class Raw:
    """JSON text written as it is (what ``json.dumps`` cannot or will not write)."""

    text: str


def nested(depth: int) -> Raw:
    return Raw("[" * depth + "0" + "]" * depth)


ODD_NUMBERS = [
    0,
    -0.0,
    1,
    -1,
    0.1,
    1.66666667,
    0.00004,
    -0.00001,
    1e12,
    1e12 + 0.5,
    1e15,
    1e308,
    -1e308,
    5e-324,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63),
    -(2**63) - 1,
    2**64,
    10**30,
    Raw("NaN"),
    Raw("Infinity"),
    Raw("-Infinity"),
    Raw("1e400"),
    Raw("-1e400"),
    Raw("-0"),
    Raw("1E+2"),
    Raw("0.000000000000000000000000000001"),
    Raw("9" * 5000),
    Raw("-" + "1" * 4400),
]
ODD_STRINGS = [
    "",
    " ",
    "60.00",
    "N/A",
    "NaN",
    "true",
    "null",
    "2025-01-31T09:00:00",
    "2025-01-31T09:00:00Z",
    "2025-01-31T09:00:00.1234567+05:30",
    "2025-02-30T10:00:00",
    "31/12/2025",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00",
    "1677-09-21T00:12:43",
    "2262-04-11T23:47:17Z",
    "2025-01-31T24:00:00",
    "\u202eRTL override\u202c",
    "\u0000nul\u001bescape\u007f",
    "emoji \U0001f600 and \u00e9",
    "<script>alert(1)</script> [x](javascript:alert(1))",
    "x" * 20_000,
    Raw('"\\ud800"'),
    Raw('"lone low \\udc00 here"'),
    Raw('"pair \\ud83d\\ude00 is fine"'),
    Raw('"escaped backslash \\\\ud800 is text"'),
]
FREE_NAMES = ["BusinessName", "CustomFields", "InvoiceDate", "BookingFromTimeLocal", "Note", "X"]

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(ODD_NUMBERS),
    st.text(max_size=12),
    st.sampled_from(ODD_STRINGS),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
) | st.integers(60, 1_200).map(nested)

_ISO = st.builds(
    lambda y, mo, d, h, mi, s, zone: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{zone}",
    st.integers(2024, 2026),
    st.integers(1, 12),
    st.integers(1, 28),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.sampled_from(["", "Z", "+01:00", "-05:00", ".5", ".123456Z"]),
)
_RIGHT: dict[Kind, st.SearchStrategy] = {
    Kind.INTEGER: st.integers(0, 12),
    Kind.NUMBER: st.one_of(
        st.integers(-5, 120), st.floats(-200, 200, allow_nan=False).map(lambda x: round(x, 2))
    ),
    Kind.STRING: st.text(max_size=10),
    Kind.BOOLEAN: st.booleans(),
    Kind.DATETIME: _ISO,
}
MISSING = object()


def field_value(kind: Kind, *, odd: bool = True) -> st.SearchStrategy:
    """Mostly a value of ``kind``; sometimes null, missing, or anything at all."""
    choices = [(8, _RIGHT[kind]), (1, st.none()), (1, st.just(MISSING))]
    if odd:
        choices.append((2, json_values))
    return st.one_of(*(strategy for weight, strategy in choices for _ in range(weight)))


@st.composite
def records(draw: st.DrawFn, entity: Entity, *, odd: bool = True, max_size: int = 5) -> list:
    """Records of ``entity``: every declared field drawn, plus a few free ones."""
    count = draw(st.integers(0, max_size))
    result = []
    for _ in range(count):
        record: dict[str, Any] = {}
        for spec in FIELDS[entity]:
            value = draw(field_value(spec.kind, odd=odd))
            if value is not MISSING:
                record[spec.name] = value
        for alias in ALIASES.get(entity, {}):
            value = draw(field_value(Kind.NUMBER, odd=odd))
            if value is not MISSING and draw(st.integers(0, 5)) == 0:
                record[alias] = value
                if draw(st.booleans()):
                    record.pop("RemainingCredit", None)
        for name in draw(st.lists(st.sampled_from(FREE_NAMES), max_size=2, unique=True)):
            record[name] = draw(json_values if odd else json_scalars)
        result.append(record)
    return result


@st.composite
def snapshots(draw: st.DrawFn, *, odd: bool = True) -> dict[Entity, list]:
    """Records for each entity in a snapshot: the two booking-credit ones always."""
    chosen = {
        CREDIT: draw(records(CREDIT, odd=odd)),
        CREDIT_USE: draw(records(CREDIT_USE, odd=odd)),
    }
    for entity in (ALLOWANCE, ALLOWANCE_USE):
        if draw(st.booleans()):
            chosen[entity] = draw(records(entity, odd=odd))
    return chosen


# --- writing ------------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """JSON text of ``value``, ``Raw`` parts verbatim; non-finite floats as their tokens."""
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)}: {dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(dumps(item) for item in value) + "]"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return json.dumps(value)


def write(directory: Path, snapshot: dict[Entity, list], form: str) -> Path:
    """The snapshot written as ``form`` (one of ``FORMS``), every entity in that form."""
    directory.mkdir(parents=True, exist_ok=True)
    for entity, rows in snapshot.items():
        write_entity(directory, entity, rows, form)
    return directory


def write_entity(directory: Path, entity: Entity, rows: list, form: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if form == "parquet":
        path = directory / f"{entity.stem}.parquet"
        pq.write_table(parquet_table(rows), path)
        return path
    if form == "jsonl":
        path = directory / f"{entity.stem}.jsonl"
        path.write_text("".join(dumps(row) + "\n" for row in rows), encoding="utf-8")
        return path
    path = directory / f"{entity.stem}.json"
    if form == "json":
        document: Any = rows
    elif form == "envelope":
        document = {"Records": rows, "CurrentPage": 1, "TotalItems": len(rows)}
    else:
        pages = [rows[start : start + 2] for start in range(0, max(len(rows), 1), 2)]
        document = [{"Records": page, "CurrentPage": n} for n, page in enumerate(pages, 1)]
    path.write_text(dumps(document), encoding="utf-8")
    return path


def parquet_table(rows: list) -> pa.Table:
    """Records as recon fetch stores them: a column per field, Arrow-typed where its values
    share a type, else each value's JSON text with the field marked ``JSON_TEXT``."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    arrays, fields = [], []
    for name in names:
        values = [row.get(name) for row in rows]
        array = None
        if not any(isinstance(value, Raw) for value in values):
            try:
                array = pa.array(values)
            except (pa.ArrowException, OverflowError, TypeError, ValueError):
                array = None
            if array is not None and not _parquet_can_hold(array):
                array = None
        if array is None:
            array = pa.array([None if v is None else dumps(v) for v in values], pa.string())
            fields.append(pa.field(name, pa.string(), metadata={JSON_TEXT: b"1"}))
        else:
            fields.append(pa.field(name, array.type))
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields)) if names else pa.table({})


def _parquet_can_hold(array: pa.Array) -> bool:
    """Whether Parquet stores the column as typed (not, e.g., an object with no keys)."""
    try:
        pq.write_table(pa.table({"x": array}), pa.BufferOutputStream())
    except (pa.ArrowException, OSError):  # e.g. nested deeper than Parquet's schema limit
        return False
    return True


@st.composite
def damage(draw: st.DrawFn) -> tuple[str, int, int]:
    """A change to a file's bytes: truncate, flip a byte or insert one, at a fraction."""
    return (
        draw(st.sampled_from(["truncate", "replace", "insert"])),
        draw(st.integers(0, 1000)),
        draw(st.integers(0, 255)),
    )


def apply_damage(path: Path, change: tuple[str, int, int]) -> None:
    how, where, byte = change
    data = path.read_bytes()
    at = where * len(data) // 1000
    if how == "truncate":
        data = data[:at]
    elif how == "replace" and data:
        at = min(at, len(data) - 1)
        data = data[:at] + bytes([byte]) + data[at + 1 :]
    else:
        data = data[:at] + bytes([byte]) + data[at:]
    path.write_bytes(data)


def entity_files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.iterdir() if path.stem in {e.stem for e in ENTITIES})
