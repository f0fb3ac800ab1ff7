"""Fixed-width strings as a numpy matrix of their bytes, for vectorised parsing and hashing.

Arrow stores strings back to back in one buffer; when every string of interest
has the same length, their bytes form a (rows, width) matrix that numpy can
work on column by column, with no Python object per value.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

_MIX = np.uint64(0x9E3779B97F4A7C15)


def fixed_width_bytes(strings: pa.Array, rows: np.ndarray | None, width: int) -> np.ndarray:
    """The bytes of the strings at ``rows``, each ``width`` long, as a (rows, width) matrix.

    ``rows`` None is every row, when the caller knows that none is null and every one is
    ``width`` long: they are back to back, and the matrix is a view found in O(1)."""
    wide = pa.types.is_large_string(strings.type) or pa.types.is_large_binary(strings.type)
    _, offsets_buffer, data_buffer = strings.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64 if wide else np.int32)
    if rows is None:
        first = int(offsets[strings.offset]) if len(strings) else 0
        data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.zeros(0, np.uint8)
        return data[first : first + width * len(strings)].reshape(len(strings), width)
    starts = offsets[strings.offset + rows].astype(np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8)
    if len(rows) and starts[-1] - starts[0] == width * (len(rows) - 1):
        # Back to back in the data buffer (the usual case): a view, no copy.
        return data[starts[0] : starts[0] + width * len(rows)].reshape(len(rows), width)
    # Else Arrow copies those strings back to back, about a byte's work each: a numpy
    # gather through a (rows, width) matrix of int64 indices took eight times the memory
    # of the text, 0.6 s for a million date-times among which one had another length.
    taken = strings.take(pa.array(rows, type=pa.int64()))
    return fixed_width_bytes(taken, None, width)


def fingerprints(matrix: np.ndarray) -> np.ndarray:
    """A 64-bit mix of each row's bytes: equal rows always get equal fingerprints."""
    rows, width = matrix.shape
    matrix = np.ascontiguousarray(matrix)  # a view of Arrow's data buffer already is
    result = np.full(rows, width, dtype=np.uint64)
    if not rows:
        return result
    shifted = np.empty(rows, dtype=np.uint64)
    for start in range(0, width, 8):
        # Each 8-byte word, or the short tail zero-padded, as one little-endian integer per
        # row, read in place from the matrix (no copy of its columns), mixed in place.
        result ^= _word(matrix, start, min(8, width - start))
        result *= _MIX
        np.right_shift(result, np.uint64(29), out=shifted)
        result ^= shifted
    return result


def _word(matrix: np.ndarray, start: int, size: int) -> np.ndarray:
    """Bytes ``start`` to ``start + size`` (at most 8) of each row as a little-endian uint64."""
    if size == 8:
        return _strided(matrix, start, "<u8")
    word = np.zeros(len(matrix), dtype=np.uint64)
    done = 0
    for piece, dtype in ((4, "<u4"), (2, "<u2"), (1, "u1")):
        if size - done >= piece:
            part = _strided(matrix, start + done, dtype).astype(np.uint64)
            part <<= np.uint64(8 * done)
            word |= part
            done += piece
    return word


def _strided(matrix: np.ndarray, start: int, dtype: str) -> np.ndarray:
    """The integer of type ``dtype`` at byte ``start`` of each row of a C-contiguous
    (rows, width) byte matrix: a strided view, unaligned reads allowed."""
    rows, width = matrix.shape
    return np.ndarray((rows,), dtype=dtype, buffer=matrix, offset=start, strides=(width,))
