"""Typing and validating each entity's records: coercion to Arrow dtypes, then pandera.

Raw columns, as JSON or Parquet gave them, are coerced field by field to the
Arrow dtype of the field's kind (``fields.FIELDS``). A value that is present
but not of its kind (``"60.00"`` for an amount, ``"31/12/2025"`` for a
date-time) becomes null, and the cells where the raw column had a value and
the coerced one has none are exactly the type violations. Pandera then
validates the typed frame lazily (required fields present, amounts finite);
its failure cases are violations too. Each violation is one record and one
field, and marks that field invalid for the rules that would need it.

Date-times are parsed here but made local only once every record's location
is known (``localise_datetimes``), because a use's location is its credit's.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import pyarrow.compute as pc

from . import datetimes, findings, stored_datetimes
from .entities import Entity
from .exact import Exact
from .fields import ALIASES, FIELDS, LABELS, Field, Kind
from .readers import Column, RawTable
from .rows import at_rows, pieces
from .stored_datetimes import StoredDatetimes

ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.INTEGER: pa.int64(),
    Kind.NUMBER: pa.float64(),
    # string, not large_string: what readers produce, so typing text costs no copy.
    Kind.STRING: pa.string(),
    Kind.BOOLEAN: pa.bool_(),
    Kind.DATETIME: pa.timestamp("us"),
}

LABEL_TYPE = pa.dictionary(pa.int32(), pa.string())
"""The type of a ``LABELS`` field's column (a Kind.STRING field held as a dictionary)."""

_PARSING_THREADS = 2

VIOLATION_COLUMNS = ("row", "field", "reason", "expected", "actual")
"""One row per record and field at fault; ``reason`` is missing, type or not_finite."""


@dataclass
class CoercedEntity:
    """An entity's columns typed, its date-times parsed but not yet localised."""

    entity: Entity
    num_rows: int
    columns: dict[str, pa.ChunkedArray | pa.Array]
    datetimes: dict[str, datetimes.ParsedDatetimes]
    violations: list[pd.DataFrame] = field(default_factory=list)
    exact: dict[str, Exact] = field(default_factory=dict)
    """Amount field -> the exact value of each record whose float does not hold it."""


@dataclass(frozen=True)
class TypedEntity:
    """An entity's records typed and validated."""

    entity: Entity
    frame: pd.DataFrame
    """Arrow-dtype columns: declared fields first, then the free fields as read."""
    violations: pd.DataFrame
    """``VIOLATION_COLUMNS``, one row per record and field."""
    invalid: dict[str, np.ndarray]
    """Field name -> bool mask of the records whose value failed; only fields with a failure."""
    exact: dict[str, Exact] = field(default_factory=dict)
    """Amount field -> record row -> its exact value, for the valid amounts that the float64
    column does not hold (``9007199254740993``); ``recon.money`` counts those from it."""

    def amounts(self, name: str, rows: np.ndarray) -> np.ndarray:
        """The amounts of field ``name`` at ``rows`` as sent, for findings: floats, the
        ``ExactNumber`` where no float holds the value, None where there is none."""
        values = at_rows(self.frame[name], rows).to_numpy(dtype=object, na_value=None)
        exact = self.exact.get(name, {})
        for position, row in enumerate(np.asarray(rows).tolist() if exact else []):
            if row in exact:
                values[position] = exact[row]
        return values

    def valid(self, *names: str) -> np.ndarray:
        """Mask of the records whose ``names`` all passed their schema."""
        mask = np.ones(len(self.frame), dtype=bool)
        for name in names:
            if name in self.invalid:
                mask &= ~self.invalid[name]
        return mask


def coerce(entity: Entity, raw: RawTable, *, z_is_local: frozenset[str]) -> CoercedEntity:
    """Type every declared field of ``raw``; free fields are kept as read.

    ``raw`` is consumed: its columns are taken out of it, so that each one read is freed
    as soon as it is typed (on millions of records the text of the date-times alone is
    gigabytes).
    """
    columns = dict(raw.columns)
    raw.columns.clear()
    exact = dict(raw.exact)
    odd = dict(raw.odd)
    for alias, name in ALIASES.get(entity, {}).items():
        if alias not in columns:
            continue
        for either in (alias, name):  # rare: merged value by value, as Python values
            if either in odd and either in columns:
                columns[either] = _with_odd(columns[either], odd.pop(either))
        # Readers may add a declared field, or an alias, as an all-null column.
        alias_column = columns.pop(alias)
        alias_exact = exact.pop(alias, {})
        if name not in columns or _all_null(columns[name]):
            columns[name] = alias_column
            exact[name] = alias_exact
        elif not _all_null(alias_column):
            # Read per record: a record that names its balance by the alias alone has it read;
            # the alias also stays a free field, so a record giving both loses nothing.
            missing = _nulls(columns[name])
            exact[name] = {
                **{row: value for row, value in alias_exact.items() if missing[row]},
                **exact.get(name, {}),
            }
            columns[name] = _coalesce(columns[name], alias_column)
            columns[alias] = alias_column

    result = CoercedEntity(entity, raw.num_rows, {}, {})
    set_apart = {spec.name: odd.pop(spec.name, {}) for spec in FIELDS[entity]}
    # Parsing date-times is the costly part, and numpy and Arrow release the GIL for
    # most of it: two columns at a time use both cores. Each worker takes its column
    # out of ``columns`` and gives back only what it made of it, so the text of a
    # typed column is freed at once rather than held until every column is typed.
    with ThreadPoolExecutor(max_workers=_PARSING_THREADS) as pool:
        typed_columns = list(
            pool.map(
                lambda spec: _coerce_declared(
                    spec,
                    columns.pop(spec.name, None),
                    raw.num_rows,
                    set_apart[spec.name],
                    z_is_local=spec.name in z_is_local,
                ),
                FIELDS[entity],
            )
        )
    for spec, (typed, wrong, actual) in zip(FIELDS[entity], typed_columns, strict=True):
        kept = {row: value for row, value in exact.get(spec.name, {}).items() if not wrong[row]}
        if kept and spec.kind is Kind.NUMBER:
            result.exact[spec.name] = kept
        if isinstance(typed, datetimes.ParsedDatetimes):
            result.datetimes[spec.name] = typed
        else:
            result.columns[spec.name] = typed
        if actual is not None:
            result.violations.append(
                _violations(
                    np.flatnonzero(wrong),
                    spec.name,
                    "type",
                    expected=spec.kind.value,
                    actual=actual,
                )
            )
    for name, raw_column in columns.items():
        if name in odd:  # a free field of mixed types: kept as JSON text, every value
            raw_column = _with_odd(raw_column, odd[name])
        result.columns[name] = _free_column(raw_column)
    return result


def _with_odd(column: Column, odd: dict[int, Any]) -> list[Any]:
    """A column and the values set apart from it (``RawTable.odd``) as Python values."""
    values = list(column) if isinstance(column, list) else _plain_values(column)
    for row, value in odd.items():
        values[row] = value
    return values


def localise_datetimes(coerced: CoercedEntity, zones: datetimes.Zones) -> None:
    """Turn the parsed date-times of ``coerced`` into local wall-clock columns, in place."""
    for name, parsed in coerced.datetimes.items():
        coerced.columns[name] = datetimes.arrow_of(datetimes.localise(parsed, zones))
    coerced.datetimes = {}


def validate(coerced: CoercedEntity) -> TypedEntity:
    """The typed frame of ``coerced``, checked by its pandera schema."""
    if coerced.datetimes:
        raise ValueError("localise_datetimes must run before validate")
    entity = coerced.entity
    declared = [spec.name for spec in FIELDS[entity]]
    order = declared + [name for name in coerced.columns if name not in declared]
    frame = pd.DataFrame(
        {name: pd.arrays.ArrowExtensionArray(coerced.columns[name]) for name in order},
        index=pd.RangeIndex(coerced.num_rows),
    )
    violations = [*coerced.violations, _pandera_violations(entity, frame)]
    merged = _merge_violations(violations)
    invalid = {
        name: _mask(coerced.num_rows, group["row"].to_numpy())
        for name, group in merged.groupby("field", sort=True)
    }
    exact = {
        name: {
            row: value
            for row, value in rows.items()
            if name not in invalid or not invalid[name][row]
        }
        for name, rows in coerced.exact.items()
    }
    return TypedEntity(entity, frame, merged, invalid, {k: v for k, v in exact.items() if v})


def _mask(count: int, rows: np.ndarray) -> np.ndarray:
    """Boolean mask of ``count`` records, set at ``rows`` (a scatter: ``np.isin`` against
    ``arange`` sorts, 0.15 s a field at 10M records)."""
    mask = np.zeros(count, dtype=bool)
    mask[rows.astype(np.int64, copy=False)] = True
    return mask


def schema_for(entity: Entity) -> pandera.DataFrameSchema:
    """The pandera schema of ``entity``'s typed frame, mirroring the API's fields."""
    columns = {}
    for spec in FIELDS[entity]:
        checks = [_FINITE] if spec.kind is Kind.NUMBER else []
        arrow_type = LABEL_TYPE if spec.name in LABELS else ARROW_TYPES[spec.kind]
        columns[spec.name] = pandera.Column(
            pd.ArrowDtype(arrow_type), nullable=not spec.required, checks=checks
        )
    return pandera.DataFrameSchema(columns, name=entity.name, strict=False, coerce=False)


def _is_finite_amount(values: pd.Series) -> pd.Series:
    floats = values.to_numpy(dtype="float64", na_value=0.0)
    # Any finite amount is judged, however large: recon's arithmetic is exact at any size.
    return pd.Series(np.isfinite(floats), index=values.index)


# Pandera names a failure by the error text when one is given, so none is: the name is the key.
_FINITE = pandera.Check(_is_finite_amount, name="finite_amount")


def _pandera_violations(entity: Entity, frame: pd.DataFrame) -> pd.DataFrame:
    try:
        schema_for(entity).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        cases = errors.failure_cases
    else:
        return _empty_violations()
    reason = cases["check"].map({"not_nullable": "missing", "finite_amount": "not_finite"})
    cases = cases.assign(reason=reason.fillna("type"))
    pieces = []
    kinds = {spec.name: spec.kind for spec in FIELDS[entity]}
    for (name, why), group in cases.groupby(["column", "reason"], sort=True):
        index = group["index"]
        # A case without an index concerns the whole column (a dtype failure): every record.
        rows = np.arange(len(frame)) if index.isna().any() else index.to_numpy(dtype=np.int64)
        actual = None if why == "missing" else frame[name].iloc[rows].to_numpy(dtype=object)
        pieces.append(_violations(rows, name, why, expected=kinds[name].value, actual=actual))
    return pd.concat(pieces, ignore_index=True) if pieces else _empty_violations()


def _merge_violations(pieces: list[pd.DataFrame]) -> pd.DataFrame:
    """One violation per record and field; a type failure wins over the null it caused."""
    pieces = [piece for piece in pieces if len(piece)]
    if not pieces:
        return _empty_violations()
    merged = pd.concat(pieces, ignore_index=True)
    merged = merged.drop_duplicates(["row", "field"], keep="first")
    return merged.sort_values(["row", "field"], kind="stable").reset_index(drop=True)


def _violations(
    rows: np.ndarray, name: str, reason: str, *, expected: str, actual: Any
) -> pd.DataFrame:
    if actual is None:
        actual = [None] * len(rows)
    # Object, not pandas' inferred string dtype, whose NaN would stand for a null actual.
    return pd.DataFrame(
        {
            "row": rows,
            "field": name,
            "reason": reason,
            "expected": expected,
            "actual": pd.Series(list(actual), dtype=object),
        }
    )


def _empty_violations() -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in VIOLATION_COLUMNS}).astype(
        {"row": np.int64}
    )


def _all_null(column: Column) -> bool:
    if isinstance(column, list):
        return all(value is None for value in column)
    return column.null_count == len(column)


def _nulls(column: Column) -> np.ndarray:
    if isinstance(column, list):
        return np.array([value is None for value in column], dtype=bool)
    return column.is_null().to_numpy(zero_copy_only=False)


def _coalesce(first: Column, second: Column) -> Column:
    """``first``, with ``second``'s value wherever ``first`` is null."""
    if not isinstance(first, list) and not isinstance(second, list) and first.type == second.type:
        return pc.coalesce(first, second)
    # Types differ (a number here, text there): the few such columns are merged value by value.
    return [
        value if value is not None else other
        for value, other in zip(_python_values(first), _python_values(second), strict=True)
    ]


def _python_values(column: Column) -> list[Any]:
    if isinstance(column, list):
        return column
    return _plain_values(column)


def _values_at(column: Column, rows: np.ndarray, odd: dict[int, Any] | None = None) -> list[Any]:
    """The raw values at ``rows`` (those set apart in ``odd`` from there), as plain data a
    finding can carry (``_plain``)."""
    if isinstance(column, list):
        values = [column[row] for row in rows]
    else:
        if isinstance(column, StoredDatetimes):
            column = column.text  # a value at fault is never a canonical one: its text is here
        values = _plain_values(column.take(pa.array(rows, type=pa.int64())))
    if odd:
        values = [odd.get(int(row), value) for row, value in zip(rows, values, strict=True)]
    return [_plain(value) for value in values]


def _plain_values(column: pa.Array | pa.ChunkedArray) -> list[Any]:
    """Python values of an Arrow column, even of values Python's types cannot hold (a
    timestamp in the year 100,000), which come as Arrow's text of them."""
    try:
        return column.to_pylist()
    except (ValueError, OverflowError, pa.ArrowException):
        pass
    try:
        return column.cast(pa.string()).to_pylist()
    except (ValueError, OverflowError, pa.ArrowException):
        return [None if not scalar.is_valid else str(scalar) for scalar in column]


class JsonText(str):
    """The JSON text of an array or object found where a scalar belongs: a finding's
    ``actual`` holds the text (one scalar per finding), and messages show it unquoted."""


def _plain(value: Any) -> Any:
    """A raw value as a finding's ``actual``: scalars as they are, an array or object as its
    JSON text, an integer beyond any float as its digits."""
    if isinstance(value, list | dict):
        try:
            return JsonText(json.dumps(value, ensure_ascii=False, default=_json_default))
        except (ValueError, RecursionError):
            return JsonText("[...]" if isinstance(value, list) else "{...}")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**1000:
        return _digits(value)
    return value


def _digits(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # over Python's 4,300-digit limit for converting integers
        digits = int(value.bit_length() * 0.30103)
        return f"{'-' if value < 0 else ''}an integer of about {digits} digits"


def _json_default(value: Any) -> Any:
    plain = findings.json_value(value)
    if plain is value:
        raise TypeError(f"{type(value).__name__} is not JSON")
    return plain


# --- coercion of one column ---------------------------------------------------------------


def _coerce_declared(
    spec: Field,
    column: Column | None,
    num_rows: int,
    odd: dict[int, Any],
    *,
    z_is_local: bool,
) -> tuple[pa.ChunkedArray | pa.Array | datetimes.ParsedDatetimes, np.ndarray, list[Any] | None]:
    """``_coerce_column`` of a declared field (all null when the file lacks it), and the raw
    values of the records at fault (None when none is)."""
    if column is None:
        column = pa.nulls(num_rows)
    typed, wrong = _coerce_column(column, spec, odd, z_is_local=z_is_local)
    actual = _values_at(column, np.flatnonzero(wrong), odd) if wrong.any() else None
    return typed, wrong, actual


def _coerce_column(
    column: Column, spec: Field, odd: dict[int, Any], *, z_is_local: bool
) -> tuple[pa.ChunkedArray | pa.Array | datetimes.ParsedDatetimes, np.ndarray]:
    """The column typed to ``spec.kind`` and the mask of values present but not of that kind;
    ``odd``: the values set apart from it (``RawTable.odd``), judged one by one."""
    if isinstance(column, StoredDatetimes):  # only ever a date-time field of Parquet (no odd)
        parsed = stored_datetimes.parse(column, z_is_local=z_is_local)
        return parsed, parsed.invalid
    if spec.name in LABELS and not odd and _is_text_dictionary(column):
        # Read as a dictionary (Parquet's own, see readers): kept so, not decoded.
        return column.cast(LABEL_TYPE), np.zeros(len(column), dtype=bool)
    if isinstance(column, list):
        column, wrong = _from_python_values(_with_odd(column, odd), spec.kind)
    else:
        column, wrong = _from_arrow(column, spec.kind)
        if odd:
            column, wrong = _with_odd_values(column, wrong, odd, spec.kind)
    if spec.kind is Kind.DATETIME:
        parsed = (
            datetimes.from_timestamps(column)
            if pa.types.is_timestamp(column.type)
            else datetimes.parse_iso(column, z_is_local=z_is_local)
        )
        return parsed, wrong | parsed.invalid
    if spec.name in LABELS:
        column = _as_labels(column)
    return column, wrong


def _is_text_dictionary(column: Column) -> bool:
    """Whether ``column`` is an Arrow dictionary of text."""
    if isinstance(column, list) or not pa.types.is_dictionary(column.type):
        return False
    values = column.type.value_type
    return pa.types.is_string(values) or pa.types.is_large_string(values)


def _as_labels(column: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """A text column as ``LABEL_TYPE``: small chunks (a JSON Lines block each) are joined
    into pieces of up to ``_LABEL_PIECE`` values first, each piece encoded once. One
    dictionary per small chunk repeats each value in every chunk that has it (more memory
    than the text at 1M uses); one for the whole column would copy all of its text."""
    if isinstance(column, pa.Array):
        column = pa.chunked_array([column])
    encoded = [piece.dictionary_encode() for piece in pieces(column, _LABEL_PIECE)]
    return pa.chunked_array(encoded, LABEL_TYPE)


_LABEL_PIECE = 1 << 20
"""Values per dictionary of a label column (see ``_as_labels``)."""


def _from_arrow(column: pa.Array | pa.ChunkedArray, kind: Kind) -> tuple[Any, np.ndarray]:
    kind_type = column.type
    if pa.types.is_dictionary(kind_type):
        column = column.cast(kind_type.value_type)
        kind_type = column.type
    if pa.types.is_decimal(kind_type) and kind in (Kind.INTEGER, Kind.NUMBER):
        # Arrow's decimal-to-double cast is not correctly rounded (100.10 -> 100.10000000000001);
        # parsing the decimal's text is.
        column = column.cast(pa.string()).cast(pa.float64())
        kind_type = column.type
    count = len(column)
    nothing_wrong = np.zeros(count, dtype=bool)
    if pa.types.is_null(kind_type):
        empty_type = pa.string() if kind is Kind.DATETIME else ARROW_TYPES[kind]
        return pa.nulls(count, empty_type), nothing_wrong

    numeric = pa.types.is_integer(kind_type) or pa.types.is_floating(kind_type)
    textual = pa.types.is_string(kind_type) or pa.types.is_large_string(kind_type)
    if kind is Kind.INTEGER and numeric:
        return _integers(column)
    if kind is Kind.NUMBER and numeric:
        # Not safe: an integer beyond 2**53 becomes the nearest float, as JSON readers make it.
        return column.cast(pa.float64(), safe=False), nothing_wrong
    if kind is Kind.STRING and textual:
        return column.cast(pa.string()), nothing_wrong
    if kind is Kind.BOOLEAN and pa.types.is_boolean(kind_type):
        return column, nothing_wrong
    if kind is Kind.DATETIME and textual:
        return column.cast(pa.string()), nothing_wrong
    if kind is Kind.DATETIME and pa.types.is_timestamp(kind_type):
        return column, nothing_wrong
    if kind is Kind.DATETIME and pa.types.is_date(kind_type):
        return datetimes.to_microseconds(column)

    # The whole column has another type: every value present is a violation.
    wrong = column.is_valid().to_numpy(zero_copy_only=False)
    empty_type = pa.string() if kind is Kind.DATETIME else ARROW_TYPES[kind]
    return pa.nulls(count, empty_type), wrong


def _with_odd_values(
    column: pa.Array | pa.ChunkedArray, wrong: np.ndarray, odd: dict[int, Any], kind: Kind
) -> tuple[pa.Array | pa.ChunkedArray, np.ndarray]:
    """The typed ``column`` (null at the rows of ``odd``) with each of the few values set
    apart typed as ``_from_python_values`` types it: put in if it is of ``kind`` (an integer
    written ``5.0``), else marked wrong."""
    rows = sorted(odd)
    convert = _PYTHON_CONVERTERS[kind]
    typed = [convert(odd[row]) if odd[row] is not None else None for row in rows]
    wrong = wrong.copy()
    for row, value in zip(rows, typed, strict=True):
        if value is None and odd[row] is not None:
            wrong[row] = True
    kept = [(row, value) for row, value in zip(rows, typed, strict=True) if value is not None]
    if kept:
        mask = np.zeros(len(column), dtype=bool)
        mask[[row for row, _ in kept]] = True
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        values = pa.array([value for _, value in kept], type=column.type)
        column = pc.replace_with_mask(column, pa.array(mask), values)
    return column, wrong


def _integers(column: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """int64 of a numeric column; fractional or out-of-range values are wrong."""
    if pa.types.is_integer(column.type) and column.type != pa.uint64():
        return column.cast(pa.int64()), np.zeros(len(column), dtype=bool)
    floats = column.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    present = column.is_valid().to_numpy(zero_copy_only=False)
    integral = np.isfinite(floats) & (np.floor(floats) == floats) & (np.abs(floats) < 2.0**63)
    wrong = present & ~integral
    if pa.types.is_unsigned_integer(column.type):
        # uint64 beyond int64 went through float above; exact values come from the ints.
        ints = column.cast(pa.int64(), safe=False).to_numpy(zero_copy_only=False)
        ints = np.where(wrong | ~present, 0, ints)
    else:
        ints = np.where(wrong | ~present, 0, floats).astype(np.int64)
    return pa.array(ints, mask=wrong | ~present), wrong


def _python_integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    return None


def _python_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _python_of(kind_type: type) -> Any:
    return lambda value: value if isinstance(value, kind_type) else None


_PYTHON_CONVERTERS = {
    Kind.INTEGER: _python_integer,
    Kind.NUMBER: _python_number,
    Kind.STRING: _python_of(str),
    Kind.BOOLEAN: _python_of(bool),
    Kind.DATETIME: _python_of(str),
}


def _from_python_values(values: list[Any], kind: Kind) -> tuple[pa.Array, np.ndarray]:
    """Typed array from Python values of mixed JSON types (a column pyarrow could not take).

    This is the one per-value loop in loading, and only columns whose values
    disagree in type come here.
    """
    convert = _PYTHON_CONVERTERS[kind]
    kept = [None if value is None else convert(value) for value in values]
    wrong = np.fromiter(
        (value is not None and typed is None for value, typed in zip(values, kept, strict=True)),
        dtype=bool,
        count=len(values),
    )
    arrow_type = pa.string() if kind is Kind.DATETIME else ARROW_TYPES[kind]
    return pa.array(kept, type=arrow_type), wrong


def _free_column(column: Column) -> pa.Array | pa.ChunkedArray:
    """A field the contract leaves free: kept as read; mixed values kept as JSON text."""
    if not isinstance(column, list):
        return column
    return pa.array(
        [
            None if value is None else json.dumps(value, ensure_ascii=False, default=_json_default)
            for value in column
        ],
        type=pa.string(),
    )


def describe_value(value: Any) -> str:
    """A short JSON-like rendering of a raw value for messages."""
    if isinstance(value, float) and not np.isfinite(value):
        return "NaN" if np.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, pd.Timestamp | np.datetime64):
        return str(value)
    value = _plain(value)
    if isinstance(value, JsonText):
        return value if len(value) <= 80 else value[:77] + "..."
    try:
        text = json.dumps(value, ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
