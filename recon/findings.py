"""The one shape of a finding, the one builder of findings and the one sort order.

A rule returns a frame of the columns in ``RULE_COLUMNS``, built with
``make``; the audit stamps ``rule`` and ``severity`` on it. ``sort`` fixes the
order every output uses, so findings.json and the reports are byte-stable.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import secrets
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from .entities import Entity
from .money import ExactNumber, exact_float, literal
from .rows import at_rows

RULE_COLUMNS: tuple[str, ...] = (
    "entity",
    "record_id",
    "credit_id",
    "field",
    "row",
    "message",
    "expected",
    "actual",
)
"""What a rule fills in for each finding."""

AUDIT_COLUMNS: tuple[str, ...] = (
    "impact",
    "currency",
    "fingerprint",
    "baseline",
    "first_seen",
    "waiver",
)
"""What the audit adds to each finding once every rule has run: what it does to money
(``recon.impact``: exact decimal text, and the credit's currency), its fingerprint
(``recon.fingerprints``), its change against ``--baseline`` (new, unchanged, updated;
null without a baseline), the ``as_of`` of the first run it was seen in, and the id of
the waiver that holds for it (``recon.waivers``; null when none does)."""

COLUMNS: tuple[str, ...] = ("rule", "severity", *RULE_COLUMNS, *AUDIT_COLUMNS)

JSON_TEXT_COLUMNS: tuple[str, ...] = ("expected", "actual")
"""In ``AuditResult.findings`` these hold each value's JSON text (one string type, whatever
the rule put there); findings.json writes the values. Amount rules also get typed
``expected_amount`` and ``actual_amount`` (Float64) in the frame."""

AMOUNT_COLUMNS: tuple[str, ...] = ("expected_amount", "actual_amount")
"""Every finding, in findings.json order. ``row`` is the 1-based position of the
record in its entity's file (pages flattened), for records with no usable Id."""

SORT_KEYS: tuple[str, ...] = ("rule", "entity", "record_id", "credit_id", "field", "row", "message")

_ID_DTYPE = "Int64"


def make(
    entity: Entity,
    frame: pd.DataFrame,
    rows: np.ndarray,
    *,
    message: Sequence[str] | np.ndarray | pd.Series | str,
    expected: Any = None,
    actual: Any = None,
    credit_id: Any = None,
    field: Any = None,
) -> pd.DataFrame:
    """Findings for the records of ``frame`` at integer positions ``rows``.

    ``message``, ``expected``, ``actual``, ``credit_id`` and ``field`` are each a
    scalar shared by every finding or an array aligned with ``rows``.
    """
    rows = np.asarray(rows, dtype=np.int64)
    count = len(rows)
    ids = at_rows(frame["Id"], rows) if "Id" in frame.columns else pd.Series([pd.NA] * count)
    return pd.DataFrame(
        {
            "entity": np.full(count, entity.name, dtype=object),
            "record_id": pd.array(ids.to_numpy(dtype=object, na_value=None), dtype=_ID_DTYPE),
            "credit_id": pd.array(_broadcast(credit_id, count), dtype=_ID_DTYPE),
            "field": _broadcast(field, count),
            "row": rows + 1,
            "message": _broadcast(message, count),
            "expected": _broadcast(expected, count),
            "actual": _broadcast(actual, count),
        }
    )


def concat(pieces: Sequence[pd.DataFrame], columns: Sequence[str] = RULE_COLUMNS) -> pd.DataFrame:
    """One frame of ``pieces``; an empty frame with every column when there are none."""
    pieces = [piece for piece in pieces if len(piece)]
    if pieces:
        return pd.concat(pieces, ignore_index=True)
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
    for name in ("record_id", "credit_id"):
        if name in frame:
            frame[name] = frame[name].astype(_ID_DTYPE)
    if "row" in frame:
        frame["row"] = frame["row"].astype(np.int64)
    return frame


def sort(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings in the canonical order, renumbered from 0."""
    ordered = findings.sort_values(list(SORT_KEYS), na_position="first", kind="stable")
    return ordered.reset_index(drop=True)


def json_value(value: Any) -> Any:
    """``value`` as something ``json.dumps`` writes as valid JSON (no NaN, no numpy types)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        # As the JSON token that carried it (NaN, Infinity): JSON itself cannot hold it.
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, pd.Timestamp | dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return _duration_text(value)
    if isinstance(value, ExactNumber):
        return value  # a number with more digits than a float holds: ``dumps`` writes them all
    if isinstance(value, Decimal):
        return str(value)  # its exact digits, as text: a float would round them
    if isinstance(value, bytes | bytearray | memoryview):
        return _bytes_text(bytes(value))
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_value(item) for item in value]
    return value


def as_json_text(values: pd.Series) -> pd.Series:
    """Each value as its JSON text (``40.0``, ``"60.00"``, ``true``), null as NA: one type
    for a column whose values are numbers for one rule and text for another, and exactly
    what findings.json writes (``from_json_text`` reads it back)."""
    texts = [
        None if value is None or value is pd.NA else _json_text(value)
        for value in values.astype(object).tolist()
    ]
    return pd.Series(pd.array(texts, dtype=pd.StringDtype()), index=values.index)


def _json_text(value: Any) -> str:
    if isinstance(value, ExactNumber):
        return str(value)
    if isinstance(value, list | tuple | dict):
        return dumps(json_value(value), sort_keys=True)  # may hold exact numbers
    return json.dumps(json_value(value), ensure_ascii=False, sort_keys=True)


def from_json_text(value: Any) -> Any:
    """The value a JSON-text cell holds (None for NA); a number no float holds comes back as
    its ``ExactNumber``."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return json.loads(value, parse_float=exact_float)


def dumps(document: Any, **options: Any) -> str:
    """``json.dumps(document, **options)`` (``ensure_ascii`` off unless given), with every
    ``ExactNumber`` written as a number literal of all its digits.

    ``json`` writes only floats as numbers, so each exact number goes through as a string
    holding a marker no data can forge (a fresh random token), then becomes its literal.
    """
    options.setdefault("ensure_ascii", False)
    token = secrets.token_hex(8)
    found = False

    def exact(value: Any) -> Any:
        nonlocal found
        if isinstance(value, ExactNumber):
            found = True
            return f"{token}:{literal(value)}"
        if fallback is None:
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
        return fallback(value)

    fallback = options.pop("default", None)
    text = json.dumps(document, default=exact, **options)
    if not found:
        return text
    return re.sub(f'"{token}:([^"]*)"', lambda match: match.group(1), text)


def _duration_text(value: dt.timedelta) -> str:
    """An ISO 8601 duration, to the microsecond: ``P1DT7200S``, ``-P0DT0.5S``."""
    sign = "-" if value < dt.timedelta(0) else ""
    value = abs(value)
    seconds = f"{value.seconds}.{value.microseconds:06d}".rstrip("0").rstrip(".")
    return f"{sign}P{value.days}DT{seconds}S"


def _bytes_text(value: bytes) -> str:
    """Binary as its text when it is UTF-8, else as hexadecimal digits after ``0x``."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "0x" + value.hex()


def _broadcast(value: Any, count: int) -> pd.Series:
    """``value`` as an object Series of ``count`` items.

    Explicitly object: pandas 3 infers an object array of strings as its string dtype, whose
    missing value is NaN, and a null ``actual`` would then be written as "NaN".
    """
    return pd.Series(_values(value, count), dtype=object)


def _values(value: Any, count: int) -> np.ndarray:
    if isinstance(value, pd.Series | pd.Index):
        values = value.to_numpy(dtype=object, na_value=None)
    elif isinstance(value, np.ndarray):
        values = value.astype(object)
    elif isinstance(value, list):
        values = np.array(value, dtype=object)
    else:
        values = np.empty(count, dtype=object)
        values[:] = [value] * count if count else []
        return values
    if len(values) != count:
        raise ValueError(f"a finding column has {len(values)} values for {count} findings")
    return values
