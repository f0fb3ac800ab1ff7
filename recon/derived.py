"""Every value derived from a snapshot that rules judge and reports show, computed once.

A rule is a small pure function of a ``Derived`` view; a report reads the same
view. Nothing outside this module works out which credit a use belongs to, when
a use was used, where a validity window ends (the midnight ``ExpireDate`` rule),
what a ledger sums to or whether a balance is within tolerance: a report that
re-derived one of them would one day disagree with the finding beside it.

Each view is computed on first use and kept (``cached_property``): an audit that
runs no extra-service rule never builds the allowance ledger. Nothing here reads
the clock or the environment: time comes from ``as_of``.

The views, by what they hold (arrays are aligned with the rows of an entity's frame):

- parent rows: each use's credit row, each extra-service use's allowance row
  (``NO_ROW`` when none, or the key failed its schema); the first row of each Id;
- ``links``: which of booking, event and invoice line each booking-credit use has;
- ``usage_times``: the contract's usage time of each booking-credit use, and of each
  extra-service use (its ``BookingFromTime``);
- ``windows``: each credit's and allowance's validity window as ``[start, end)``;
- ledgers: each parent's uses summed, with which uses were counted and why not;
- ``balances``: the balance arithmetic of each credit and allowance and its verdicts
  (within tolerance, mismatch, overdrawn), which the balance rules judge by and the
  reports show.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import money
from .byte_matrix import fingerprints, fixed_width_bytes
from .config import RuleSet
from .entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE, Entity, Unit
from .fields import BOOKING_LINKS
from .load import Snapshot
from .rows import take_sorted
from .schemas import TypedEntity

NO_ROW = -1
_ONE_DAY = np.timedelta64(1, "D")
_ONE_TICK = np.timedelta64(1, "us")
_NAT = np.datetime64("NaT", "us")
_SOURCES = ("CreatedOn", "BookingFromTime")
"""The fields a usage time comes from, by code."""


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
class Coded:
    """A text value per record held as integer codes into its few distinct values: one
    byte a record for fewer than 127 of them, where an object array holds a Python
    reference per record (80 MB and a reference count per element for 10M uses). Indexed
    like the array it stands for."""

    codes: np.ndarray
    """Index into ``names`` per record (``code_type``), -1 where the record has none."""
    names: np.ndarray
    """The distinct values (object array of str)."""

    def __getitem__(self, rows: np.ndarray | int) -> np.ndarray:
        """The values of the records at ``rows`` (object array, None where none)."""
        return np.append(self.names, None)[self.codes[rows]]

    def __len__(self) -> int:
        return len(self.codes)


def code_type(count: int) -> type[np.signedinteger]:
    """The narrowest signed integer holding codes of ``count`` names and -1."""
    return np.int8 if count < 2**7 else np.int16 if count < 2**15 else np.int32


@dataclass(frozen=True)
class UsageTimes:
    """When each use was used, in its location's wall clock."""

    time: np.ndarray
    """datetime64[us]. A booking-credit use: BookingFromTime for a booking use that has
    one, else CreatedOn. An extra-service use: its BookingFromTime."""
    source: Coded
    """The field ``time`` came from, per use (``BookingFromTime`` or ``CreatedOn``)."""
    judgeable: np.ndarray
    """The usage time is known: the fields it comes from passed their schema."""


@dataclass(frozen=True)
class Windows:
    """Each parent's validity window ``[start, end)`` in its location's wall clock.

    The contract's midnight rule lives here and nowhere else: an ``ExpireDate`` whose
    time is exactly midnight covers that whole day, so its window ends at the next
    midnight; any other ``ExpireDate`` is the last moment of the window, which ends
    one tick (a microsecond, the resolution of every time recon holds) after it.
    """

    start: np.ndarray
    """ValidFrom (NaT when none or failed): a use before it is premature."""
    end: np.ndarray
    """The first moment after the window (NaT when no ExpireDate): a use at or after it
    is expired."""
    expire: np.ndarray
    """ExpireDate as recorded (NaT when none or failed)."""
    midnight: np.ndarray
    """ExpireDate is exactly midnight, so the window covers that whole day."""
    expires_at: np.ndarray
    """The expiry moment of the contract's month-end close (section 6a): the next
    midnight for a midnight ExpireDate, else ExpireDate itself."""

    def at(self, rows: np.ndarray, fields: tuple[str, ...] = ()) -> Windows:
        """The windows of the parents at ``rows`` (``NO_ROW`` gives an unknown window).

        With ``fields``, only those are taken and the others left empty (zero-length, so a
        use of one fails loudly): judging millions of children by one bound needs one."""
        return Windows(
            *(
                take(values, rows, _fill(values)) if not fields or name in fields else values[:0]
                for name, values in ((name, getattr(self, name)) for name in _WINDOW)
            )
        )

    def before(self, time: np.ndarray) -> np.ndarray:
        """``time`` is before the window opens (False where either is unknown)."""
        return time < self.start

    def after(self, time: np.ndarray) -> np.ndarray:
        """``time`` is at or after the window's end (False where either is unknown)."""
        return time >= self.end


_WINDOW = ("start", "end", "expire", "midnight", "expires_at")


@dataclass(frozen=True)
class Ledger:
    """A child ledger summed per parent row (rows repeating a parent's Id share its sums)."""

    units: np.ndarray
    """Exact sum of the counted amounts, in units of ``Derived.scale`` (int64, or Python
    integers when the amounts are too large for int64 sums)."""
    counted: np.ndarray
    """How many uses went into the sum (amount valid and present, each use Id once)."""
    linked: np.ndarray
    """How many uses point at the parent at all."""
    unknown: np.ndarray
    """How many of them have no amount (null where the field is optional): such a ledger
    cannot be summed."""
    left_out: np.ndarray
    """How many of them were left out of the sum because their amount failed its schema."""
    use_counted: np.ndarray
    """Per child row: whether it went into its parent's sum."""
    use_amount_valid: np.ndarray
    """Per child row: whether its amount passed its schema and is present."""
    use_units: np.ndarray
    """Per child row: its amount in units (0 where not valid)."""


@dataclass(frozen=True)
class Balances:
    """Each parent's balance arithmetic and its verdicts, in ``money`` units.

    ``consumed = total - remaining`` is what the balance says was used; ``spent`` is what
    the ledger of uses sums to; ``difference = consumed - spent``. Every verdict applies
    the rule set's tolerance (a difference counts when strictly greater).
    """

    total: np.ndarray
    remaining: np.ndarray
    consumed: np.ndarray
    spent: np.ndarray
    difference: np.ndarray
    total_known: np.ndarray
    """Id and total passed their schema and are present."""
    remaining_known: np.ndarray
    """remaining passed its schema and is present."""
    judged: np.ndarray
    """The tie-out can be judged (a credit: Id, total and remaining known; an allowance:
    also at least one use, none of unknown amount)."""
    mismatch: np.ndarray
    """judged, and ``|difference|`` beyond the tolerance."""
    negative: np.ndarray
    """remaining below zero by more than the tolerance (credits only)."""
    overspent: np.ndarray
    """the uses sum to more than total by more than the tolerance (credits only)."""
    ledger: Ledger

    @property
    def overdrawn(self) -> np.ndarray:
        return self.negative | self.overspent


@dataclass(frozen=True)
class Derived:
    """The derived views of one loaded snapshot under one rule set, at one moment."""

    snapshot: Snapshot
    ruleset: RuleSet
    as_of: pd.Timestamp

    def __getitem__(self, entity: Entity) -> TypedEntity:
        return self.snapshot[entity]

    @cached_property
    def scale(self) -> money.Scale:
        """The unit of this audit's arithmetic: fine enough for every amount of the
        snapshot (as sent) and for the tolerance, so no amount is rounded."""
        amounts = [
            (self[entity], name)
            for entity in (CREDIT, CREDIT_USE, ALLOWANCE, ALLOWANCE_USE)
            if entity in self.snapshot
            for name in (
                ([entity.amount] if entity.parent else [])
                + ([entity.balance.total, entity.balance.remaining] if entity.balance else [])
            )
        ]
        exact = [value for data, name in amounts for value in data.exact.get(name, {}).values()]

        def columns() -> Iterator[np.ndarray]:
            # One column at a time, copied only when some value must be left out.
            for data, name in amounts:
                values = data.frame[name].to_numpy(dtype="float64", na_value=np.nan)
                left_out = ~data.valid(name)
                left_out[list(data.exact.get(name, {}))] = True  # floats not what was sent
                yield np.where(left_out, np.nan, values) if left_out.any() else values

        return money.Scale.of(columns(), self.ruleset.tolerance, exact=exact)

    def units(self, values: pd.Series, entity: Entity) -> np.ndarray:
        """Exact units of ``values``, a column of ``entity``'s frame (or rows of it), at this
        audit's scale: the amounts no float holds are counted from their exact values."""
        exact = self[entity].exact.get(str(values.name))
        return money.to_units(values, self.scale, exact=exact)

    @cached_property
    def tolerance_units(self) -> int:
        return money.tolerance_units(self.ruleset.tolerance, self.scale)

    # --- parents ------------------------------------------------------------------------

    def parent_rows(self, child: Entity) -> np.ndarray:
        """Row of each ``child`` record's parent, ``NO_ROW`` when none (or its key failed)."""
        return self.credit_row_of_use if child is CREDIT_USE else self.allowance_row_of_use

    @cached_property
    def credit_row_of_use(self) -> np.ndarray:
        """Row of each booking-credit use's credit, ``NO_ROW`` when none (or its key failed)."""
        return self._parent_rows(CREDIT_USE)

    @cached_property
    def allowance_row_of_use(self) -> np.ndarray:
        """Row of each extra-service use's allowance, ``NO_ROW`` when none."""
        return self._parent_rows(ALLOWANCE_USE)

    def first_rows(self, entity: Entity) -> np.ndarray:
        """For each record, the first row holding its Id (itself when its Id is unusable)."""
        return self._first_rows[entity]

    @cached_property
    def _first_rows(self) -> _FirstRowCache:
        return _FirstRowCache(self)

    @cached_property
    def credit_currency(self) -> np.ndarray:
        """Each credit's currency code (``BusinessCurrencyCode``), None when it has none."""
        credits = self[CREDIT]
        codes = credits.frame["BusinessCurrencyCode"].to_numpy(dtype=object, na_value=None)
        return np.where(credits.valid("BusinessCurrencyCode"), codes, None)

    @cached_property
    def use_currency(self) -> Coded:
        """Each booking-credit use's currency: its credit's (None when it has no credit).

        Held as integer codes: ``use_currency[rows]`` gives the codes of those uses as
        the credits hold them (an object array, None where none)."""
        codes, names = pd.factorize(self.credit_currency, use_na_sentinel=True)
        per_use = take(codes.astype(code_type(len(names))), self.credit_row_of_use, -1)
        return Coded(per_use, np.asarray(names, dtype=object))

    def credit_ids_of_uses(self, rows: np.ndarray) -> pd.Series:
        """The credit Id of each use at ``rows`` where that credit is in the snapshot, else
        null (indexed by ``rows``). Taken for the rows a rule reports: a view of every use
        would hold 90 MB at 10M uses for the few thousand findings that read it."""
        rows = np.asarray(rows, dtype=np.int64)
        parents = self.credit_row_of_use[rows]
        ids = take(int_ids(self[CREDIT].frame["Id"]), parents, 0)
        return pd.Series(pd.arrays.IntegerArray(ids, parents == NO_ROW), index=rows)

    # --- links and times ------------------------------------------------------------------

    @cached_property
    def links(self) -> Links:
        uses = self[CREDIT_USE]
        booking, event, invoice_line = (positive_ids(uses.frame[name]) for name in BOOKING_LINKS)
        return Links(booking, event, invoice_line, judgeable=uses.valid(*BOOKING_LINKS))

    @cached_property
    def allowance_use_booked(self) -> np.ndarray:
        """Each extra-service use names a booking (a BookingId above 0)."""
        return positive_ids(self[ALLOWANCE_USE].frame["BookingId"])

    def usage_times(self, child: Entity = CREDIT_USE) -> UsageTimes:
        """The usage times of ``child``'s records (booking-credit uses by default)."""
        return self.credit_usage_times if child is CREDIT_USE else self.allowance_usage_times

    @cached_property
    def credit_usage_times(self) -> UsageTimes:
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
        source = Coded(from_booking.astype(np.int8), np.array(_SOURCES, dtype=object))
        return UsageTimes(time=time, source=source, judgeable=judgeable)

    @cached_property
    def allowance_usage_times(self) -> UsageTimes:
        """An extra-service use is dated by its BookingFromTime."""
        uses = self[ALLOWANCE_USE]
        time = timestamps(uses.frame["BookingFromTime"])
        judgeable = uses.valid("BookingFromTime") & ~np.isnat(time)
        source = Coded(np.ones(len(time), dtype=np.int8), np.array(_SOURCES, dtype=object))
        return UsageTimes(time=time, source=source, judgeable=judgeable)

    def windows(self, parent: Entity) -> Windows:
        """The validity window of each ``parent`` record (a credit or an allowance)."""
        return self._windows[parent]

    @cached_property
    def _windows(self) -> _WindowCache:
        return _WindowCache(self)

    # --- ledgers and balances -------------------------------------------------------------

    def ledger(self, parent: Entity) -> Ledger:
        return self.credit_ledger if parent is CREDIT else self.allowance_ledger

    @cached_property
    def credit_ledger(self) -> Ledger:
        """Each credit's uses summed: the right-hand side of the balance rules."""
        return self._ledger(CREDIT_USE)

    @cached_property
    def allowance_ledger(self) -> Ledger:
        """Each allowance's extra-service uses summed."""
        return self._ledger(ALLOWANCE_USE)

    def balances(self, parent: Entity) -> Balances:
        return self.credit_balances if parent is CREDIT else self.allowance_balances

    @cached_property
    def credit_balances(self) -> Balances:
        return self._balances(CREDIT, self.credit_ledger, needs_uses=False)

    @cached_property
    def allowance_balances(self) -> Balances:
        # An allowance with no use is not reconciled (many are plain booking charges), nor
        # one with a use of unknown amount: its sum cannot be known.
        return self._balances(ALLOWANCE, self.allowance_ledger, needs_uses=True)

    def occurrences(self, entity: Entity, name: str) -> np.ndarray:
        """How many times each record's ``name`` value occurs in its entity (0 for null/invalid)."""
        return self._occurrences[entity, name]

    @cached_property
    def _occurrences(self) -> _OccurrenceCache:
        return _OccurrenceCache(self.snapshot)

    def known(self, entity: Entity, *names: str) -> np.ndarray:
        """Records whose ``names`` all passed their schema and are present."""
        data = self[entity]
        mask = data.valid(*names)
        for name in names:
            mask &= present(data.frame[name])
        return mask

    def _balances(self, parent: Entity, ledger: Ledger, *, needs_uses: bool) -> Balances:
        assert parent.balance is not None
        frame = self[parent].frame
        total = self.units(frame[parent.balance.total], parent)
        remaining = self.units(frame[parent.balance.remaining], parent)
        spent = ledger.units
        if object in (total.dtype, remaining.dtype, spent.dtype):
            # Amounts beyond int64 sums: all three as Python integers, so no arithmetic
            # between them is done in (overflowing) int64.
            total, remaining, spent = (a.astype(object) for a in (total, remaining, spent))
        consumed = total - remaining
        difference = consumed - spent
        total_known = self.known(parent, "Id", parent.balance.total)
        remaining_known = self.known(parent, parent.balance.remaining)
        judged = total_known & remaining_known
        if needs_uses:
            judged &= (ledger.linked > 0) & (ledger.unknown == 0)
        tolerance = self.tolerance_units
        # Only a credit can be overdrawn: an allowance's quantities are not judged so.
        is_money = parent.balance.unit is Unit.MONEY
        return Balances(
            total=total,
            remaining=remaining,
            consumed=consumed,
            spent=spent,
            difference=difference,
            total_known=total_known,
            remaining_known=remaining_known,
            judged=judged,
            mismatch=judged & money.exceeds(money.absolute(difference), tolerance),
            negative=remaining_known & money.below(remaining, -tolerance) & is_money,
            overspent=total_known & money.exceeds(spent - total, tolerance) & is_money,
            ledger=ledger,
        )

    def _ledger(self, child: Entity) -> Ledger:
        assert child.parent is not None
        parent_rows = self.parent_rows(child)
        children, parents = self[child], self[child.parent.entity]
        amounts = children.frame[child.amount]
        linked = parent_rows != NO_ROW
        valid = children.valid(child.amount)
        unknown = linked & valid & amounts.isna().to_numpy()
        counted = linked & valid & ~unknown
        # Rows repeating the same use Id count once: the first of them that can be counted.
        # Only a row whose (valid, present) Id occurs more than once can repeat one.
        keyed = np.flatnonzero(counted & (self.occurrences(child, "Id") > 1))
        if len(keyed):
            repeats = children.frame["Id"].iloc[keyed].duplicated(keep="first").to_numpy()
            counted[keyed[repeats]] = False
        size = len(parents.frame)
        amount_valid = valid & amounts.notna().to_numpy()
        use_units = self.units(amounts, child)
        use_units[~amount_valid] = 0
        units = np.zeros(size, dtype=use_units.dtype)
        if use_units.dtype == object:
            units[:] = 0  # Python integers: sums of any size stay exact
        np.add.at(units, parent_rows[counted], use_units[counted])
        first = self.first_rows(child.parent.entity)
        # Each linked use is of one kind: counted, of unknown amount, left out (its amount
        # failed its schema) or repeating a counted Id. One bincount over (parent, kind)
        # counts all four (a bincount per kind took a gather of 10M rows each).
        kind = np.full(len(parent_rows), _REPEAT, dtype=np.int8)
        kind[counted] = _COUNTED
        kind[unknown] = _UNKNOWN
        kind[linked & ~valid] = _LEFT_OUT
        code = parent_rows[linked] * _KINDS
        code += kind[linked]
        per_kind = np.bincount(code, minlength=_KINDS * size).reshape(size, _KINDS)[first]

        return Ledger(
            units=units[first],
            counted=np.ascontiguousarray(per_kind[:, _COUNTED]),
            linked=per_kind.sum(axis=1),
            unknown=np.ascontiguousarray(per_kind[:, _UNKNOWN]),
            left_out=np.ascontiguousarray(per_kind[:, _LEFT_OUT]),
            use_counted=counted,
            use_amount_valid=amount_valid,
            use_units=use_units,
        )

    def _parent_rows(self, child: Entity) -> np.ndarray:
        assert child.parent is not None
        parent, foreign_key = child.parent.entity, child.parent.key
        children = self[child]
        keys = children.frame[foreign_key]
        if parent not in self.snapshot:
            return np.full(len(keys), NO_ROW, dtype=np.int32)
        parents = self[parent]
        ids = parents.frame["Id"]
        usable = parents.valid("Id") & ids.notna().to_numpy()
        first_rows = np.flatnonzero(usable & ~ids.duplicated(keep="first").to_numpy())
        rows = _rows_of_ids(int_ids(ids)[first_rows], first_rows, int_ids(keys))
        rows[~(keys.notna().to_numpy() & children.valid(foreign_key))] = NO_ROW
        # Held for the whole audit, one per use: int32 (40 MB at 10M uses, not 80) while
        # the parents' rows fit in it, which they do below two billion parents.
        return rows.astype(np.int32) if len(parents.frame) < 2**31 else rows


def _rows_of_ids(ids: np.ndarray, rows: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """For each key, the row of the equal Id (``ids`` distinct, at ``rows``), else NO_ROW.

    Ids spanning little more than their count (the API's) are looked up in a table
    indexed by Id: one gather per key, where a hash index (pandas' get_indexer) took
    0.34 s for 10M keys."""
    if len(ids):
        low, high = int(ids.min()), int(ids.max())
        if high - low <= _DENSE_SPAN * len(ids) + 1024:
            table = np.full(high - low + 1, NO_ROW, dtype=np.int64)
            table[ids - low] = rows
            inside = (keys >= low) & (keys <= high)
            found = np.full(len(keys), NO_ROW, dtype=np.int64)
            found[inside] = table[keys[inside] - low]
            return found
    return take(rows, pd.Index(ids).get_indexer(keys), NO_ROW)


_COUNTED, _UNKNOWN, _LEFT_OUT, _REPEAT = range(4)
_KINDS = 4
"""The kinds of a linked use in a ledger (``Derived._ledger``)."""


class _FirstRowCache(dict):
    """Lazily computed first row of each record's Id, per entity; see ``first_rows``."""

    def __init__(self, derived: Derived) -> None:
        super().__init__()
        self._derived = derived

    def __missing__(self, entity: Entity) -> np.ndarray:
        data = self._derived[entity]
        ids = data.frame["Id"]
        rows = np.arange(len(ids))
        if (self._derived.occurrences(entity, "Id") > 1).any():
            usable = data.valid("Id") & ids.notna().to_numpy()
            first_rows = np.flatnonzero(usable & ~ids.duplicated(keep="first").to_numpy())
            first = take(
                first_rows, pd.Index(int_ids(ids)[first_rows]).get_indexer(int_ids(ids)), NO_ROW
            )
            rows = np.where(usable & (first != NO_ROW), first, rows)
        self[entity] = rows
        return rows


class _WindowCache(dict):
    """Lazily computed validity windows, per parent entity; see ``windows``."""

    def __init__(self, derived: Derived) -> None:
        super().__init__()
        self._derived = derived

    def __missing__(self, entity: Entity) -> Windows:
        data = self._derived[entity]
        start = np.where(data.valid("ValidFrom"), timestamps(data.frame["ValidFrom"]), _NAT)
        expire = np.where(data.valid("ExpireDate"), timestamps(data.frame["ExpireDate"]), _NAT)
        midnight = ~np.isnat(expire) & (expire == expire.astype("datetime64[D]"))
        expires_at = np.where(midnight, expire + _ONE_DAY, expire)
        end = np.where(midnight, expires_at, expire + _ONE_TICK)
        windows = Windows(start, end, expire, midnight, expires_at)
        self[entity] = windows
        return windows


def _fill(values: np.ndarray) -> object:
    return False if values.dtype == bool else _NAT


class _OccurrenceCache(dict):
    """Lazily computed value counts per (entity, field); see ``occurrences``."""

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self._snapshot = snapshot

    def __missing__(self, key: tuple[Entity, str]) -> np.ndarray:
        entity, name = key
        data = self._snapshot[entity]
        counts = value_counts_per_row(data.frame[name])  # int32: held for the whole audit
        valid = data.valid(name)
        if not valid.all():
            counts[~valid] = 0
        self[key] = counts
        return counts


def value_counts_per_row(values: pd.Series) -> np.ndarray:
    """How many times each row's value occurs in ``values`` (0 for null), as int32.

    Hashing millions of distinct values is the slow way (Arrow's hash aggregation takes
    3.4 s on 10M UUIDs, 1.8 s even on their 64-bit fingerprints: the hash table misses
    cache at every row). Integers whose values span little more than their count (the
    API's Ids) are counted exactly by a table indexed by value. Other integers, and the
    64-bit fingerprints of fixed-width strings (UUIDs), are folded to 32-bit keys and
    sorted to find the few suspect rows whose key repeats; only those are counted
    exactly. Equal values always have equal keys, so every copy of a repeated value is
    among the suspects and the counts are exact.
    """
    array = pa.array(values)
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    chunks = [chunk for chunk in chunks if len(chunk)]
    if not chunks:
        return np.zeros(len(array), dtype=np.int32)
    nulls = sum(chunk.null_count for chunk in chunks)
    present = (
        np.concatenate([chunk.is_valid().to_numpy(zero_copy_only=False) for chunk in chunks])
        if nulls
        else None
    )
    keys = _keys(chunks)
    if keys is None:
        return _exact_counts(pa.chunked_array(chunks).combine_chunks())
    counts = _counts_of_keys(keys)
    if counts is None:  # keys that can collide: count the suspects exactly
        counts = np.ones(len(keys), dtype=np.int32)
        suspects = _repeated_keys(keys)
        if len(suspects):
            at = suspects if present is None else np.flatnonzero(present)[suspects]
            counts[suspects] = _exact_counts(take_sorted(chunks, at))
    if present is None:
        return counts
    per_row = np.zeros(len(present), dtype=np.int32)
    per_row[present] = counts
    return per_row


_DENSE_SPAN = 2
"""Integer keys spanning at most this many times their count (beyond a small floor) are
counted by a table indexed by value: one pass, no sort, a table no bigger than twice the
column."""


def _keys(chunks: list[pa.Array]) -> np.ndarray | None:
    """One key per present value, equal wherever the values are: the values of an integer
    column (int64, or uint64 beyond it), the fingerprints of a fixed-width string column
    (uint64); None for any other column."""
    kind = chunks[0].type
    if pa.types.is_integer(kind):
        parts = [
            (chunk.drop_null() if chunk.null_count else chunk).to_numpy(zero_copy_only=False)
            for chunk in chunks
        ]
        keys = np.concatenate(parts) if len(parts) > 1 else parts[0]
        return keys if keys.dtype == np.uint64 else keys.astype(np.int64, copy=False)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        return None
    widths = set()
    for chunk in chunks:
        lengths = pc.min_max(pc.binary_length(chunk))
        if lengths["min"].is_valid:
            widths.update((lengths["min"].as_py(), lengths["max"].as_py()))
    if len(widths) > 1:
        return None
    if not widths:
        return np.zeros(0, dtype=np.uint64)
    width = widths.pop()
    parts = []
    for chunk in chunks:
        rows = None  # every row: no null, every string ``width`` long
        if chunk.null_count:
            rows = np.flatnonzero(chunk.is_valid().to_numpy(zero_copy_only=False))
        parts.append(fingerprints(fixed_width_bytes(chunk, rows, width)))
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _counts_of_keys(keys: np.ndarray) -> np.ndarray | None:
    """Exact counts per key when integer keys allow a cheap exact count (strictly
    increasing, the API's order; or a dense range), else None."""
    if keys.dtype != np.int64:
        return None
    if len(keys) < 2 or (keys[1:] > keys[:-1]).all():
        return np.ones(len(keys), dtype=np.int32)
    low, high = int(keys.min()), int(keys.max())
    if high - low > _DENSE_SPAN * len(keys) + 1024:
        return None
    offsets = keys - np.int64(low)
    table = np.bincount(offsets, minlength=high - low + 1).astype(np.int32)
    return table[offsets]


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _repeated_keys(keys: np.ndarray) -> np.ndarray:
    """Positions of the keys whose 32-bit fold occurs more than once: every repeated key,
    and a few (about n**2 / 2**33) that merely share their fold. Sorting 32-bit folds
    takes half the time of sorting the 64-bit keys."""
    folded = keys.view(np.uint64) * _MIX  # odd multiplier: the high bits mix every bit
    folded >>= np.uint64(32)
    folds = folded.astype(np.uint32)
    del folded
    ordered = np.sort(folds)
    repeats = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    del ordered
    if not len(repeats):
        return np.zeros(0, dtype=np.int64)
    hit = pc.is_in(pa.array(folds), value_set=pa.array(repeats))
    return np.flatnonzero(hit.to_numpy(zero_copy_only=False))


def _exact_counts(array: pa.Array) -> np.ndarray:
    """Counts by Arrow's hash-based dictionary encoding (0 for null), as int32."""
    if len(array) == 0:
        return np.zeros(0, dtype=np.int32)
    encoded = pc.dictionary_encode(array)
    present = encoded.indices.is_valid().to_numpy(zero_copy_only=False)
    codes = np.where(present, encoded.indices.to_numpy(zero_copy_only=False), 0).astype(np.int64)
    counts = np.bincount(codes[present], minlength=max(len(encoded.dictionary), 1))
    return np.where(present, counts[codes], 0).astype(np.int32)


def take(values: np.ndarray, rows: np.ndarray, fill: object) -> np.ndarray:
    """``values`` at ``rows``, and ``fill`` where a row is ``NO_ROW``.

    Rows as many as the values or more (a view of the credits for every use): one take
    from the values with ``fill`` appended, where ``NO_ROW`` (-1) lands. Fewer (the
    evidence takes a few rows of million-row views once per finding shown): a take, and
    the fill put where it belongs, without that copy of every value."""
    rows = np.asarray(rows)
    if len(rows) >= len(values):
        return np.append(values, np.asarray([fill], dtype=values.dtype))[rows]
    taken = values[rows]  # NO_ROW takes the last value here: replaced
    missing = rows == NO_ROW
    if missing.any():
        taken[missing] = np.asarray(fill, dtype=values.dtype)
    return taken


def int_ids(values: pd.Series) -> np.ndarray:
    """int64 of an Id column, with 0 (the API's 'none') for null: callers mask nulls themselves."""
    return values.to_numpy(dtype=np.int64, na_value=0)


def positive_ids(values: pd.Series) -> np.ndarray:
    """Mask of Ids that point at something: present and above 0 (0 is the API's 'none')."""
    if isinstance(values.dtype, pd.ArrowDtype) and pa.types.is_integer(values.dtype.pyarrow_dtype):
        # Compared on Arrow's buffers: no int64 copy with the nulls filled first.
        above = pc.fill_null(pc.greater(pa.array(values), 0), False)
        return above.to_numpy(zero_copy_only=False)
    return int_ids(values) > 0


def timestamps(values: pd.Series) -> np.ndarray:
    """datetime64[us] of an Arrow timestamp column, NaT for null (read-only when Arrow's
    buffer is used as is)."""
    if isinstance(values.dtype, pd.ArrowDtype):
        array = pa.array(values)
        kind = array.type
        if pa.types.is_timestamp(kind) and kind.unit == "us" and kind.tz is None:
            # Arrow gives NaT for null itself, and its buffer as is when there is none:
            # pandas' to_numpy went through a DatetimeArray and two copies.
            return np.asarray(array.to_numpy(zero_copy_only=False), dtype="datetime64[us]")
    return values.to_numpy(dtype="datetime64[us]", na_value=np.datetime64("NaT"))


def present(values: pd.Series) -> np.ndarray:
    """Mask of values that are set: not null, and for text not blank."""
    kind = values.dtype.pyarrow_dtype if isinstance(values.dtype, pd.ArrowDtype) else None
    if kind is not None and pa.types.is_dictionary(kind):
        # A label column (fields.LABELS): each distinct value judged once, then looked up.
        array = pa.array(values)
        chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
        judged = [_set_text(chunk.dictionary).take(chunk.indices) for chunk in chunks]
        return pc.fill_null(pa.chunked_array(judged, pa.bool_()), False).to_numpy()
    if not pd.api.types.is_string_dtype(values.dtype):
        return values.notna().to_numpy()
    return pc.fill_null(_set_text(pa.array(values)), False).to_numpy(zero_copy_only=False)


def _set_text(text: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Whether each text is not blank (null for null)."""
    # Blank: empty, or only whitespace. Arrow's utf8_is_space stops at the first other
    # character and makes no new strings (trimming every value did: 0.15 s a column of
    # 10M); it and utf8_trim_whitespace agree on every code point (tests/test_derived_views.py).
    return pc.invert(pc.or_(pc.equal(pc.binary_length(text), 0), pc.utf8_is_space(text)))
