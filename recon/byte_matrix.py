"""Fixed-width strings as a numpy matrix of their bytes, for vectorised parsing and hashing.

Arrow stores strings back to back in one buffer; when every string of interest
has the same length, their bytes form a (rows, width) matrix that numpy can
work on column by column, with no Python object per value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_MIX = np.uint64(0x9E3779B97F4A7C15)


def fixed_width_bytes(strings: pa.Array, rows: np.ndarray, width: int) -> np.ndarray:
    """The bytes of the strings at ``rows``, each ``width`` long, as a (rows, width) matrix."""
    wide = pa.types.is_large_string(strings.type) or pa.types.is_large_binary(strings.type)
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if wide else np.int32)
    starts = offsets[strings.offset + rows].astype(np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    if len(rows) and starts[-1] - starts[0] == width * (len(rows) - 1):
        # Back to back in the data buffer (the usual case): a view, no copy.
        return data[starts[0] : starts[0] + width * len(rows)].reshape(len(rows), width)
    return data[starts[:, None] + np.arange(width)]


def fingerprints(matrix: np.ndarray) -> np.ndarray:
    """A 64-bit mix of each row's bytes: equal rows always get equal fingerprints."""
    rows, width = matrix.shape
    result = np.full(rows, width, dtype=np.uint64)
    for start in range(0, width, 8):
        # Each 8-byte word, or the short tail, as one integer per row.
        chunk = np.ascontiguousarray(matrix[:, start : start + 8])
        if chunk.shape[1] < 8:
            chunk = np.pad(chunk, ((0, 0), (0, 8 - chunk.shape[1])))
        word = chunk.view("<u8").ravel()
        result = (result ^ word) * _MIX
        result ^= result >> np.uint64(29)
    return result
