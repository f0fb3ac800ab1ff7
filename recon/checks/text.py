"""Vectorised message text: numbers, money, times and Ids as strings, joined column-wise.

Messages are built for whole arrays of findings at once; nothing here loops
over rows in Python.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
import pandas as pd

from .. import money

_STR = np.dtypes.StringDType()


def concat(*parts: object) -> np.ndarray:
    """Element-wise concatenation of strings and string arrays (scalars broadcast)."""
    arrays = [np.asarray(part, dtype=_STR) for part in parts]
    return reduce(np.strings.add, arrays)


def join_present(parts: list[np.ndarray], separator: str = "; ") -> np.ndarray:
    """Join, row by row, the non-empty strings of ``parts``."""
    result = np.asarray(parts[0], dtype=_STR)
    for part in parts[1:]:
        part = np.asarray(part, dtype=_STR)
        both = (np.strings.str_len(result) > 0) & (np.strings.str_len(part) > 0)
        result = np.strings.add(np.strings.add(result, np.where(both, separator, "")), part)
    return result


def where(mask: np.ndarray, text: np.ndarray | str) -> np.ndarray:
    """``text`` where ``mask`` holds, the empty string elsewhere."""
    return np.where(mask, np.asarray(text, dtype=_STR), np.asarray("", dtype=_STR))


def amounts(units: np.ndarray, scale: money.Scale) -> np.ndarray:
    return money.format_units(units, scale).astype(_STR)


def money_of(units: np.ndarray, scale: money.Scale, currencies: np.ndarray) -> np.ndarray:
    """Amounts with their currency: ``40.00 GBP`` (``40.00 (no currency)`` when the credit
    names none), so no money figure stands without its currency."""
    codes = np.where(
        pd.isna(currencies), "(no currency)", np.asarray(currencies, dtype=object)
    ).astype(_STR)
    return concat(amounts(units, scale), " ", codes)


def quantities(units: np.ndarray, scale: money.Scale) -> np.ndarray:
    return money.format_units(units, scale, min_decimals=0).astype(_STR)


def times(values: np.ndarray) -> np.ndarray:
    """ISO-8601 local wall clock to the second; 'none' for NaT."""
    text = np.datetime_as_string(values.astype("datetime64[s]"), unit="s").astype(_STR)
    return np.where(np.isnat(values), np.asarray("none", dtype=_STR), text)


def ids(values: np.ndarray | pd.Series) -> np.ndarray:
    if isinstance(values, pd.Series):
        values = values.astype(object).to_numpy(dtype=object, na_value="null")
    return np.asarray(values).astype(str).astype(_STR)


def strings(values: pd.Series, *, limit: int = 200) -> np.ndarray:
    """Text values on one line, cut to ``limit`` characters; '' for null."""
    text = values.fillna("").astype(str).str.replace(r"\s+", " ", regex=True).str.strip()
    long = text.str.len() > limit
    text = text.where(~long, text.str.slice(0, limit - 1) + "…")
    return text.to_numpy(dtype=object).astype(_STR)
