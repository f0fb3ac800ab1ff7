"""Finding, in bulk, the lines of a JSON Lines block that hold a value of the wrong JSON type.

pyarrow's JSON reader, given every declared field's type, refuses a whole block for one
value it cannot type (``"12,50"`` or ``true`` in an amount, an object in an integer
field). This module finds the lines that hold such values with a few numpy passes over
the block's bytes, so the reader can give those lines alone to ``json`` and the rest of
the block to pyarrow.

The search looks at every ``"key":`` and the first byte of its value. A key is known by
the 8 bytes before its closing quote (its signature, masked to the key and its opening
quote when shorter), compared with the declared keys of each kind:

- a value opening with ``"`` is odd for a number, integer or boolean field;
- a digit or ``-`` for a text, date-time or boolean field, or for an integer field when
  the number has a point, an exponent or 19 digits or more;
- ``t`` or ``f`` for any field but a boolean one;
- anything but these and ``n`` (an object, an array, ``NaN``) for any declared field.

It is a screen, not a verdict: a line it names is parsed by ``json`` and its values
judged one by one, and a line it misses makes pyarrow refuse the block again, which the
reader then reads the slow, exact way. A nested key that shares a declared key's name or
signature can name a line that holds nothing odd; that costs one line of ``json``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .entities import Entity
from .fields import ALIASES, FIELDS, Kind

_QUOTE, _COLON, _SPACE, _NEWLINE = ord('"'), ord(":"), ord(" "), ord("\n")
_MINUS, _ZERO, _NINE = ord("-"), ord("0"), ord("9")
_TRUE, _FALSE, _NULL = ord("t"), ord("f"), ord("n")
_INT_DIGITS = 18
"""An integer of up to 18 digits fits int64 whatever its digits; 19 may not."""
_NUMBER_ENDS = np.frombuffer(b".eE", dtype=np.uint8)


_WIDTH = 16
"""Bytes of a key's signature: the key and its opening quote when shorter, its last 16
bytes when longer (no two declared keys of different kinds share them)."""


@dataclass(frozen=True)
class _Keys:
    """Signatures of a set of keys, one sorted array per mask (keys of one length share it)."""

    masks: tuple[tuple[np.uint64, np.uint64], ...]
    values: tuple[np.ndarray, ...]

    def holds(self, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Which (``low``, ``high``) signatures are of one of these keys."""
        found = np.zeros(len(low), dtype=bool)
        for (mask_low, mask_high), values in zip(self.masks, self.values, strict=True):
            found |= np.isin(_hash(low & mask_low, high & mask_high), values)
        return found


def _hash(low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """One word of two: a collision only names a line that holds nothing odd."""
    return low ^ (high * np.uint64(0x9E3779B97F4A7C15))


def _keys(names: list[str]) -> _Keys:
    by_mask: dict[tuple[int, int], list[int]] = {}
    for name in names:
        window = (b'"' + name.encode())[-_WIDTH:].rjust(_WIDTH, b"\0")
        mask = (1 << (8 * min(len(name) + 1, _WIDTH))) - 1
        mask <<= 8 * (_WIDTH - min(len(name) + 1, _WIDTH))
        masks = (mask >> 64, mask & (2**64 - 1))  # bytes 8-15, bytes 0-7 of the window
        low, high = int.from_bytes(window[8:], "little"), int.from_bytes(window[:8], "little")
        by_mask.setdefault(masks, []).append(
            int(_hash(np.array([low], np.uint64), np.array([high], np.uint64))[0])
        )
    return _Keys(
        tuple((np.uint64(low), np.uint64(high)) for low, high in by_mask),
        tuple(np.array(sorted(set(found)), dtype=np.uint64) for found in by_mask.values()),
    )


@dataclass(frozen=True)
class _Classes:
    quoted_is_odd: _Keys
    digit_is_odd: _Keys
    integer: _Keys
    boolean_is_odd: _Keys
    declared: _Keys


@cache
def _classes(entity: Entity) -> _Classes:
    kinds = {spec.name: spec.kind for spec in FIELDS[entity]}
    kinds.update({alias: kinds[name] for alias, name in ALIASES.get(entity, {}).items()})

    def of(*wanted: Kind) -> _Keys:
        return _keys([name for name, kind in kinds.items() if kind in wanted])

    text = (Kind.STRING, Kind.DATETIME)
    return _Classes(
        quoted_is_odd=of(Kind.NUMBER, Kind.INTEGER, Kind.BOOLEAN),
        digit_is_odd=of(*text, Kind.BOOLEAN),
        integer=of(Kind.INTEGER),
        boolean_is_odd=of(Kind.NUMBER, Kind.INTEGER, *text),
        declared=of(*Kind),
    )


_VALUE_ODD_FOR = {
    Kind.NUMBER: rb"[^-0-9n\s]",
    Kind.INTEGER: rb"(?:[^-0-9n\s]|-?[0-9]*[.eE]|-?[0-9]{19})",
    Kind.STRING: rb'[^"n\s]',
    Kind.DATETIME: rb'[^"n\s]',
    Kind.BOOLEAN: rb"[^tfn\s]",
}
"""The start of a value of the wrong JSON type for a field of each kind (what
``odd_lines`` looks for, as a pattern for one key)."""

_COLUMN = re.compile(r"Column\(/([^/)]+)")


def named_field(message: str) -> str | None:
    """The field pyarrow's error names (``Column(/CreditUsed) changed from number to
    string in row 5``), if it names one."""
    found = _COLUMN.search(message)
    return found.group(1) if found else None


@cache
def _key_pattern(entity: Entity, name: str) -> str | None:
    kinds = {spec.name: spec.kind for spec in FIELDS[entity]}
    kinds.update({alias: kinds[target] for alias, target in ALIASES.get(entity, {}).items()})
    if name not in kinds:
        return None
    value = _VALUE_ODD_FOR[kinds[name]].decode()
    return '"' + re.escape(name) + r'"\s*:\s*' + value


def keyed_odd_lines(
    block: bytes | bytearray, entity: Entity, names: Collection[str]
) -> list[tuple[int, int, int]] | None:
    """``odd_lines`` for the declared fields ``names`` alone: the lines holding one of
    their keys followed by a value of another type. None when a name is not a declared
    field.

    One search of every line for all the names at once, by Arrow's regular expressions
    (RE2, a DFA that does not hold the GIL): 19 ms for five names in a 16 MiB block, where
    Python's ``re``, one name after another, took 50 to 70 ms.
    """
    patterns = []
    for name in sorted(names):
        pattern = _key_pattern(entity, name)
        if pattern is None:
            return None
        patterns.append(pattern)
    if not patterns:
        return []
    data = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(data == _NEWLINE)
    starts = np.concatenate(([0], newlines + 1))
    if starts[-1] == len(data):  # no line after the last newline
        starts = starts[:-1]
    if not len(starts):
        return []
    # Each line with its newline, as the strings of one Arrow array over the block's bytes.
    offsets = np.append(starts, len(data)).astype(np.int64)
    lines = pa.Array.from_buffers(
        pa.large_binary(), len(starts), [None, pa.py_buffer(offsets), pa.py_buffer(block)]
    )
    either = "|".join(f"(?:{pattern})" for pattern in patterns)
    hit = pc.match_substring_regex(lines, either).to_numpy(zero_copy_only=False)
    ends = np.append(newlines, len(data))  # each line's end, its newline left out
    return [(row, int(starts[row]), int(ends[row])) for row in np.flatnonzero(hit).tolist()]


def odd_lines(block: bytes | bytearray, entity: Entity) -> list[tuple[int, int, int]]:
    """The lines of ``block`` that may hold a declared field's value of another JSON type
    than the field's, in order, each once: (index from 0, first byte, byte after the last)."""
    data = np.frombuffer(block, dtype=np.uint8)
    if len(data) < 2:
        return []
    colons = np.flatnonzero(data[1:] == _COLON) + 1
    keys = colons[data[colons - 1] == _QUOTE] - 1  # the closing quote of each key
    starts = np.minimum(keys + 2, len(data) - 1)
    for _ in range(4):  # json.dumps writes one space after the colon; more are rare
        spaced = data[starts] == _SPACE
        if not spaced.any():
            break
        starts = np.minimum(starts + spaced, len(data) - 1)
    first = data[starts]
    valued = first != _NULL
    keys, starts, first = keys[valued], starts[valued], first[valued]
    words = _words(data)
    # Each key's signature: the 8 bytes before its closing quote and the 8 before those,
    # read from aligned words by shifts (gathering 16 bytes a key costs several times more).
    low, high = _load(words, keys - 8), _load(words, keys - 16)
    classes = _classes(entity)

    digit = ((first >= _ZERO) & (first <= _NINE)) | (first == _MINUS)
    quoted = first == _QUOTE
    boolean = (first == _TRUE) | (first == _FALSE)
    other = ~(digit | quoted | boolean)
    odd = np.zeros(len(keys), dtype=bool)
    for where, classed in (
        (quoted, classes.quoted_is_odd),
        (digit, classes.digit_is_odd),
        (boolean, classes.boolean_is_odd),
        (other, classes.declared),
    ):
        at = np.flatnonzero(where)
        odd[at[classed.holds(low[at], high[at])]] = True
    integers = np.flatnonzero(digit & ~odd)
    integers = integers[classes.integer.holds(low[integers], high[integers])]
    odd[integers[~_plain_integers(words, starts[integers])]] = True
    return _lines_of(block, starts[odd])


def _lines_of(block: bytes | bytearray, offsets: np.ndarray) -> list[tuple[int, int, int]]:
    """(line index, start, end) of the line of each of ``offsets``, each line once: newlines
    are counted from one offset to the next, so the block is read once, not once per line."""
    lines: list[tuple[int, int, int]] = []
    line, at = 0, 0
    for offset in np.unique(offsets).tolist():
        line += block.count(b"\n", at, offset)
        at = offset
        if lines and lines[-1][0] == line:
            continue
        end = block.find(b"\n", offset)
        lines.append((line, block.rfind(b"\n", 0, offset) + 1, len(block) if end < 0 else end))
    return lines


def _words(data: np.ndarray) -> np.ndarray:
    """The block as little-endian words, with its last bytes and a word of zeros appended
    (so that a load at any offset in the block has the word after it)."""
    whole = len(data) // 8
    words = np.empty(whole + 2, dtype=np.uint64)
    words[:whole] = np.frombuffer(data, dtype="<u8", count=whole)
    words[whole] = np.frombuffer(data[whole * 8 :].tobytes().ljust(8, b"\0"), dtype="<u8")[0]
    words[whole + 1] = 0
    return words


def _load(words: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The 8 bytes at each byte offset (zeros before the start) as a little-endian word."""
    before = offsets < 0
    at = np.clip(offsets, 0, 8 * (len(words) - 1) - 1)  # past the end: the zeros after it
    index, shift = at // 8, (at % 8).astype(np.uint64) * np.uint64(8)
    low = words[index] >> shift
    high = np.where(shift == 0, np.uint64(0), words[index + 1] << (np.uint64(64) - shift))
    loaded = low | high
    if before.any():  # a key in the block's first 16 bytes: shifted in from the start
        missing = np.minimum(-offsets[before], 8).astype(np.uint64) * np.uint64(8)
        loaded[before] = np.where(missing >= 64, np.uint64(0), words[0] << (missing % 64))
    return loaded


def _plain_integers(words: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Whether each number starting at ``starts`` is an integer that surely fits int64."""
    window = np.stack([_load(words, starts + 8 * k) for k in range(3)], axis=1)
    window = window.view(np.uint8).reshape(len(starts), 24)
    width = _INT_DIGITS + 2
    sign = window[:, 0] == _MINUS
    digits = (window[:, :width] >= _ZERO) & (window[:, :width] <= _NINE)
    digits[:, 0] |= sign
    run = np.where(digits.all(axis=1), width, np.argmin(digits, axis=1))
    after = window[np.arange(len(window)), np.minimum(run, width - 1)]
    ends_plain = ~np.isin(after, _NUMBER_ENDS) & (run < width)
    return ends_plain & (run - sign <= _INT_DIGITS) & (run - sign > 0)
