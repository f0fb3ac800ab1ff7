"""What a rule sees: the snapshot, the rule set, the audit's moment, and shared derived views.

Several rules need the same derived columns (each use's credit, which links
it has, when it was used); ``AuditContext`` computes each once, on first use,
so rules stay small pure functions of the context. Nothing here reads the
clock or the environment: time comes from ``as_of``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import money
from ..byte_matrix import fingerprints, fixed_width_bytes
from ..config import RuleSet
from ..entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE, Entity
from ..fields import BOOKING_LINKS
from ..load import Snapshot
from ..schemas import TypedEntity

NO_ROW = -1
_ONE_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class Evaluation:
    """What a rule returns: its findings (``findings.RULE_COLUMNS``) and how many records
    it judged."""

    findings: pd.DataFrame
    evaluated: int


@dataclass(frozen=True)
class Links:
    """Which of the three links each booking-credit use has (an Id of 0 or less is no link)."""

    booking: np.ndarray
    event: np.ndarray
    invoice_line: np.ndarray
    judgeable: np.ndarray
    """The three link fields all passed their schema."""

    @property
    def count(self) -> np.ndarray:
        return self.booking.astype(np.int8) + self.event + self.invoice_line


@dataclass(frozen=True)
class UsageTimes:
    """When each booking-credit use was used, in its location's wall clock."""

    time: np.ndarray
    """datetime64[us]: BookingFromTime for a booking use that has one, else CreatedOn."""
    from_booking: np.ndarray
    """``time`` is BookingFromTime (else CreatedOn)."""
    judgeable: np.ndarray


@dataclass(frozen=True)
class Ledger:
    """A child ledger summed per parent row (rows repeating a parent's Id share its sums)."""

    units: np.ndarray
    """int64 sum of the counted amounts, in ``money`` units."""
    counted: np.ndarray
    """How many uses went into the sum (amount valid and present, each use Id once)."""
    linked: np.ndarray
    """How many uses point at the parent at all."""
    unknown: np.ndarray
    """How many of them have no amount (null where the field is optional): such a ledger
    cannot be summed."""
    use_counted: np.ndarray
    """Per child row: whether it went into its parent's sum (the reports show which)."""


@dataclass(frozen=True)
class AuditContext:
    snapshot: Snapshot
    ruleset: RuleSet
    as_of: pd.Timestamp

    def __getitem__(self, entity: Entity) -> TypedEntity:
        return self.snapshot[entity]

    @cached_property
    def tolerance_units(self) -> int:
        return money.tolerance_units(self.ruleset.tolerance)

    @cached_property
    def credit_row_of_use(self) -> np.ndarray:
        """Row of each booking-credit use's credit, ``NO_ROW`` when none (or its key failed)."""
        return self._parent_rows(CREDIT_USE, "CoworkerBookingCreditId", CREDIT)

    @cached_property
    def allowance_row_of_use(self) -> np.ndarray:
        """Row of each extra-service use's allowance, ``NO_ROW`` when none."""
        return self._parent_rows(ALLOWANCE_USE, "CoworkerExtraServiceId", ALLOWANCE)

    @cached_property
    def links(self) -> Links:
        uses = self[CREDIT_USE]
        booking, event, invoice_line = (positive_ids(uses.frame[name]) for name in BOOKING_LINKS)
        return Links(booking, event, invoice_line, judgeable=uses.valid(*BOOKING_LINKS))

    @cached_property
    def usage_times(self) -> UsageTimes:
        """The contract's usage time: BookingFromTime when the use links a booking and
        that time is present, else CreatedOn."""
        uses = self[CREDIT_USE]
        booking_from = timestamps(uses.frame["BookingFromTime"])
        created = timestamps(uses.frame["CreatedOn"])
        from_booking = self.links.booking & ~np.isnat(booking_from)
        time = np.where(from_booking, booking_from, created)
        # A booking use whose BookingFromTime failed its schema has no knowable usage time.
        booking_time_failed = self.links.booking & ~uses.valid("BookingFromTime")
        judgeable = (
            uses.valid("BookingId")
            & ~booking_time_failed
            & (from_booking | uses.valid("CreatedOn"))
            & ~np.isnat(time)
        )
        return UsageTimes(time=time, from_booking=from_booking, judgeable=judgeable)

    @cached_property
    def credit_ledger(self) -> Ledger:
        """Each credit's uses summed: the right-hand side of the balance rules."""
        return self._ledger(CREDIT_USE, self.credit_row_of_use, CREDIT)

    @cached_property
    def allowance_ledger(self) -> Ledger:
        """Each allowance's extra-service uses summed."""
        return self._ledger(ALLOWANCE_USE, self.allowance_row_of_use, ALLOWANCE)

    def occurrences(self, entity: Entity, name: str) -> np.ndarray:
        """How many times each record's ``name`` value occurs in its entity (0 for null/invalid)."""
        return self._occurrences[entity, name]

    @cached_property
    def _occurrences(self) -> _OccurrenceCache:
        return _OccurrenceCache(self.snapshot)

    def _ledger(self, child: Entity, parent_rows: np.ndarray, parent: Entity) -> Ledger:
        children, parents = self[child], self[parent]
        amounts = children.frame["CreditUsed"]
        linked = parent_rows != NO_ROW
        unknown = linked & children.valid("CreditUsed") & amounts.isna().to_numpy()
        counted = linked & children.valid("CreditUsed") & ~unknown
        # Rows repeating the same use Id count once: the first of them that can be counted.
        if (self.occurrences(child, "Id") > 1).any():
            ids = children.frame["Id"]
            keyed = np.flatnonzero(counted & children.valid("Id") & ids.notna().to_numpy())
            repeats = ids.iloc[keyed].duplicated(keep="first").to_numpy()
            counted[keyed[repeats]] = False
        size = len(parents.frame)
        units = np.zeros(size, dtype=np.int64)
        np.add.at(units, parent_rows[counted], money.to_units(amounts)[counted])
        counts = np.bincount(parent_rows[counted], minlength=size)
        links = np.bincount(parent_rows[linked], minlength=size)
        unknowns = np.bincount(parent_rows[unknown], minlength=size)
        first = self._first_row_of_id(parent)
        return Ledger(
            units=units[first],
            counted=counts[first],
            linked=links[first],
            unknown=unknowns[first],
            use_counted=counted,
        )

    def _first_row_of_id(self, entity: Entity) -> np.ndarray:
        """For each record, the first row holding its Id (itself when its Id is unusable)."""
        data = self[entity]
        ids = data.frame["Id"]
        rows = np.arange(len(ids))
        if not (self.occurrences(entity, "Id") > 1).any():
            return rows
        usable = data.valid("Id") & ids.notna().to_numpy()
        first_rows = np.flatnonzero(usable & ~ids.duplicated(keep="first").to_numpy())
        first = take(
            first_rows, pd.Index(int_ids(ids)[first_rows]).get_indexer(int_ids(ids)), NO_ROW
        )
        return np.where(usable & (first != NO_ROW), first, rows)

    @cached_property
    def credit_ids_of_uses(self) -> pd.Series:
        """Each use's credit Id where that credit is in the snapshot, else null."""
        rows = self.credit_row_of_use
        ids = take(int_ids(self[CREDIT].frame["Id"]), rows, 0)
        return pd.Series(ids, dtype="Int64").mask(rows == NO_ROW)

    def _parent_rows(self, child: Entity, foreign_key: str, parent: Entity) -> np.ndarray:
        children = self[child]
        keys = children.frame[foreign_key]
        if parent not in self.snapshot:
            return np.full(len(keys), NO_ROW, dtype=np.int64)
        parents = self[parent]
        ids = parents.frame["Id"]
        usable = parents.valid("Id") & ids.notna().to_numpy()
        first_rows = np.flatnonzero(usable & ~ids.duplicated(keep="first").to_numpy())
        index = pd.Index(int_ids(ids)[first_rows])
        rows = take(first_rows, index.get_indexer(int_ids(keys)), NO_ROW)
        return np.where(keys.notna().to_numpy() & children.valid(foreign_key), rows, NO_ROW)


class _OccurrenceCache(dict):
    """Lazily computed value counts per (entity, field); see ``occurrences``."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self._snapshot = snapshot

    def __missing__(self, key: tuple[Entity, str]) -> np.ndarray:
        entity, name = key
        data = self._snapshot[entity]
        counts = np.where(data.valid(name), value_counts_per_row(data.frame[name]), 0)
        counts = counts.astype(np.int32)  # held for the whole audit: half the memory
        self[key] = counts
        return counts


def value_counts_per_row(values: pd.Series) -> np.ndarray:
    """How many times each row's value occurs in ``values`` (0 for null).

    Hashing millions of distinct values is the slow way. Integers (and the
    64-bit fingerprints of fixed-width strings, such as UUIDs) are sorted
    instead to find the few suspect rows whose key repeats; only those are
    counted exactly. Equal values always have equal keys, so every copy of a
    repeated value is among the suspects and the counts are exact.
    """
    array = pa.array(values)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    present = array.is_valid().to_numpy(zero_copy_only=False)
    rows = np.flatnonzero(present)
    keys = _sort_keys(array, rows)
    if keys is None:
        return _exact_counts(array)
    counts = present.astype(np.int64)
    suspects = rows[_repeated(keys)]
    if len(suspects):
        counts[suspects] = _exact_counts(array.take(pa.array(suspects)))
    return counts


def _sort_keys(array: pa.Array, rows: np.ndarray) -> np.ndarray | None:
    """Keys that are equal wherever values are: the values of an integer column, the
    fingerprints of a fixed-width string column; None for any other column."""
    if pa.types.is_integer(array.type):
        present = array if array.null_count == 0 else array.take(pa.array(rows))
        return present.to_numpy(zero_copy_only=False)
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        lengths = pc.binary_length(array).to_numpy(zero_copy_only=False)[rows]
        if len(lengths) and (lengths == lengths[0]).all():
            return fingerprints(fixed_width_bytes(array, rows, int(lengths[0])))
    return None


def _repeated(keys: np.ndarray) -> np.ndarray:
    """Mask of the keys whose value occurs more than once."""
    if len(keys) < 2 or (keys[1:] > keys[:-1]).all():
        return np.zeros(len(keys), dtype=bool)  # strictly increasing: the API's Id order
    ordered = np.sort(keys)
    repeats = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    return pc.is_in(pa.array(keys), value_set=pa.array(repeats)).to_numpy(zero_copy_only=False)


def _exact_counts(array: pa.Array) -> np.ndarray:
    """Counts by Arrow's hash-based dictionary encoding (0 for null)."""
    if len(array) == 0:
        return np.zeros(0, dtype=np.int64)
    encoded = pc.dictionary_encode(array)
    present = encoded.indices.is_valid().to_numpy(zero_copy_only=False)
    codes = np.where(present, encoded.indices.to_numpy(zero_copy_only=False), 0).astype(np.int64)
    counts = np.bincount(codes[present], minlength=max(len(encoded.dictionary), 1))
    return np.where(present, counts[codes], 0)


def take(values: np.ndarray, rows: np.ndarray, fill: object) -> np.ndarray:
    """``values`` at ``rows``, and ``fill`` where a row is ``NO_ROW``."""
    return np.append(values, np.asarray([fill], dtype=values.dtype))[rows]


def int_ids(values: pd.Series) -> np.ndarray:
    """int64 of an Id column, with 0 (the API's 'none') for null: callers mask nulls themselves."""
    return values.to_numpy(dtype=np.int64, na_value=0)


def positive_ids(values: pd.Series) -> np.ndarray:
    """Mask of Ids that point at something: present and above 0 (0 is the API's 'none')."""
    return int_ids(values) > 0


def timestamps(values: pd.Series) -> np.ndarray:
    """datetime64[us] of an Arrow timestamp column, NaT for null."""
    return values.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT"))


def after_expiry(time: np.ndarray, expire: np.ndarray) -> np.ndarray:
    """``time`` is after ``expire``; an ExpireDate at exactly midnight covers that whole day."""
    midnight = expire == expire.astype("datetime64[D]")
    return np.where(midnight, time >= expire + _ONE_DAY, time > expire)


def present(values: pd.Series) -> np.ndarray:
    """Mask of values that are set: not null, and for text not blank."""
    if not pd.api.types.is_string_dtype(values.dtype):
        return values.notna().to_numpy()
    blank = pc.equal(pc.utf8_trim_whitespace(pa.array(values)), "")
    return pc.invert(pc.fill_null(blank, True)).to_numpy(zero_copy_only=False)
