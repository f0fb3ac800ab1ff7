"""Rows of Arrow-backed columns, taken (or worked on piece by piece) without joining their
chunks.

A column read from a large file arrives as many Arrow chunks, and Arrow's take from a
chunked array first joins the chunks into one: a copy of the whole column for every take,
however few the rows (0.6 s and 400 MB for a few rows of 10M UUIDs). Findings, evidence
and fingerprints take a few rows of million-row columns many times; they take them here.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa


def at_rows(values: pd.Series, rows: np.ndarray) -> pd.Series:
    """``values.iloc[rows]``, taken chunk by chunk from a column of several Arrow chunks
    when that is the cheaper way: Arrow first joins the chunks of a column for any take
    from it, a copy of the whole column (0.6 s for a few rows of 10M UUIDs, 14 ms for a
    few Ids of 10M uses). Text is always taken so; other types when ``rows`` are few."""
    array = values.array
    if isinstance(array, pd.arrays.ArrowExtensionArray) and not isinstance(
        array, pd.arrays.ArrowStringArray
    ):
        chunked = pa.array(array)
        kind = chunked.type
        textual = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        textual |= pa.types.is_binary(kind) or pa.types.is_large_binary(kind)
        few = len(rows) * _FEW_ROWS < len(chunked)
        if isinstance(chunked, pa.ChunkedArray) and chunked.num_chunks > 1 and (textual or few):
            rows = np.asarray(rows, dtype=np.int64)
            order = np.argsort(rows, kind="stable")
            taken = take_sorted(chunked.chunks, rows[order])
            if len(rows) > 1 and (np.diff(order) != 1).any():
                taken = taken.take(pa.array(np.argsort(order)))
            return pd.Series(
                pd.arrays.ArrowExtensionArray(taken), index=values.index[rows], name=values.name
            )
    return values.iloc[rows]


_FEW_ROWS = 16
"""Rows fewer than 1/16 of a column's values are taken chunk by chunk (an argsort of the
rows); more are taken in one take of the joined column."""


def frame_at(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """``frame.iloc[rows]``, each column taken with ``at_rows``: a take of a few rows
    from a whole frame joins every text column's chunks first (a copy of each column's
    text, 400 MB for the UniqueIds of 10M uses alone)."""
    rows = np.asarray(rows, dtype=np.int64)
    return pd.DataFrame(
        {name: at_rows(frame[name], rows).array for name in frame.columns},
        index=frame.index[rows],
        columns=frame.columns,
    )


def take_sorted(chunks: list[pa.Array], rows: np.ndarray) -> pa.Array:
    """The values at ``rows`` (ascending) of the chunks read as one array, taken chunk by
    chunk: a take from a chunked array first joins its chunks (0.6 s for 10M UUIDs)."""
    bounds = np.cumsum([0] + [len(chunk) for chunk in chunks])
    cuts = np.searchsorted(rows, bounds)
    taken = [
        _compact(chunk.take(pa.array(rows[cuts[i] : cuts[i + 1]] - bounds[i])))
        for i, chunk in enumerate(chunks)
        if cuts[i + 1] > cuts[i]
    ]
    return pa.concat_arrays(taken) if taken else pa.array([], chunks[0].type)


def _compact(taken: pa.Array) -> pa.Array:
    """A few values taken from a chunk; of a dictionary array, with a dictionary of just
    those values. A take keeps the chunk's whole dictionary, and joining the pieces then
    merges every chunk's dictionary (1.2 s for a few labels of 10M uses)."""
    if not pa.types.is_dictionary(taken.type):
        return taken
    index_type = taken.type.index_type
    return (
        taken.dictionary_decode()
        .dictionary_encode()
        .cast(pa.dictionary(index_type, taken.type.value_type))
    )


def pieces(column: pa.ChunkedArray, size: int) -> Iterator[pa.Array]:
    """The chunks of ``column`` in order, consecutive ones joined up to ``size`` rows (a
    chunk already larger stays whole): work a piece at a time, without a copy of the whole
    column and without a call per small chunk (JSON Lines gives one per block)."""
    group: list[pa.Array] = []
    rows = 0
    for chunk in column.chunks:
        if group and rows + len(chunk) > size:
            yield group[0] if len(group) == 1 else pa.concat_arrays(group)
            group, rows = [], 0
        group.append(chunk)
        rows += len(chunk)
    if group:
        yield group[0] if len(group) == 1 else pa.concat_arrays(group)
