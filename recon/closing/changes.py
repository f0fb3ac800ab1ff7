"""Change after close (contract section 6c): the closed records of the previous bundle's
snapshot compared with the records now.

A credit is *closed* when it was issued before ``E0`` (the previous period's end), a use
when it took effect before ``E0`` (by the close's basis). A record present in both
snapshots is judged when it is closed by either one's data; then:

- ``changed_after_close``: a judged field differs (each named, old -> new);
- ``silent_change``: the same while ``UpdatedOn`` did not move;
- ``deleted_after_close``: a closed record of the previous snapshot that is gone;
- ``backdated_entry``: a record the previous snapshot did not have, closed now.

Each finding carries ``impact``: what it did to its credit's balance at ``E0``. For a
credit, the change of its own terms (``TotalCredit``, and whether it was outstanding at
``E0``) against its uses as they were; for a use, the change of what it deducted, against
its credit as it is now. So the impacts of one location and currency add up to the
restatement of its opening. Comparison and impacts are vectorised over records; only the
messages of the records found are written one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .. import findings
from ..derived import NO_ROW, Derived, int_ids, take
from ..entities import CREDIT, CREDIT_USE, Entity
from ..schemas import TypedEntity
from .amounts import text, to_decimal
from .ledger import LEDGER_FIELDS, CloseLedger, sum_per_credit

CHANGE_RULES: tuple[str, ...] = (
    "changed_after_close",
    "silent_change",
    "deleted_after_close",
    "backdated_entry",
)
JUDGED: dict[Entity, tuple[str, ...]] = {
    CREDIT: (
        "TotalCredit",
        "ValidFrom",
        "ExpireDate",
        "BusinessId",
        "BusinessCurrencyCode",
        "CoworkerId",
        "CaneBeUsedForBookings",
        "CaneBeUsedForEvents",
        "CreatedOn",
    ),
    CREDIT_USE: (
        "CoworkerBookingCreditId",
        "CreditUsed",
        "BookingId",
        "EventAttendeeId",
        "CoworkerInvoiceLineId",
        "BookingFromTime",
        "CreatedOn",
        "Description",
    ),
}
COMPARED: dict[Entity, tuple[str, ...]] = {
    entity: (*judged, "UpdatedOn", *LEDGER_FIELDS[entity]) for entity, judged in JUDGED.items()
}
"""What is read of the previous close's snapshot: the judged fields, ``UpdatedOn`` and what
the close ledger reads (with every required field, which the loader always keeps)."""
_LABEL = {CREDIT: "credit", CREDIT_USE: "use"}


@dataclass(frozen=True)
class Side:
    """One snapshot of the comparison: its derived views and its close ledger."""

    derived: Derived
    ledger: CloseLedger

    def frame(self, entity: Entity) -> pd.DataFrame:
        return self.derived[entity].frame

    def first_rows(self, entity: Entity) -> np.ndarray:
        """The rows holding the first occurrence of each usable Id."""
        data = self.derived[entity]
        usable = data.valid("Id") & data.frame["Id"].notna().to_numpy()
        return np.flatnonzero(usable & (self.derived.first_rows(entity) == np.arange(len(usable))))

    def closed(self, entity: Entity, moment: np.datetime64) -> np.ndarray:
        if entity is CREDIT:
            created = self.ledger.created
            return self.derived[CREDIT].valid("CreatedOn") & (created < moment)
        return self.ledger.use_timed & (self.ledger.effect < moment)


def changes_after_close(
    old: Side, new: Side, closed_end: np.datetime64, closed_label: str
) -> pd.DataFrame:
    """The four change findings (``findings.COLUMNS`` plus ``impact`` and ``currency``)."""
    pieces = []
    impacts = _Impacts(old, new, closed_end)
    for entity in (CREDIT, CREDIT_USE):
        pieces.append(_compare(entity, old, new, closed_end, closed_label, impacts))
    return findings.concat([piece for piece in pieces if len(piece)], _COLUMNS)


_COLUMNS = (*findings.COLUMNS[: -len(findings.AUDIT_COLUMNS)], "impact", "currency")


class _Impacts:
    """Each record's effect on its credit's balance at ``E0``, in units, per side."""

    def __init__(self, old: Side, new: Side, moment: np.datetime64) -> None:
        self.old, self.new = old, new
        self.open_old = old.ledger.open_at(moment)
        self.open_new = new.ledger.open_at(moment)
        before = old.ledger.use_kept & (old.ledger.effect < moment)
        self.used_old = sum_per_credit(old.ledger, before)
        self.counts_old = before
        self.counts_new = new.ledger.use_kept & (new.ledger.effect < moment)
        # The row, in the new snapshot, of each old credit row's Id (NO_ROW when gone).
        new_index = pd.Index(new.ledger.credit_id[new.first_rows(CREDIT)])
        self.new_row_of_old_credit = take(
            new.first_rows(CREDIT), new_index.get_indexer(old.ledger.credit_id), NO_ROW
        )

    def credit(self, old_rows: np.ndarray, new_rows: np.ndarray) -> np.ndarray:
        """Matched credits (``NO_ROW`` on the side a credit is absent from)."""
        o, n = self.old.ledger, self.new.ledger
        open_old = take(self.open_old, old_rows, False)
        open_new = take(self.open_new, new_rows, False)
        left = take(o.total, old_rows, 0) - take(self.used_old, old_rows, 0)
        return np.where(
            open_new, take(n.total, new_rows, 0) - take(self.used_old, old_rows, 0), 0
        ) - np.where(open_old, left, 0)

    def use(self, old_rows: np.ndarray, new_rows: np.ndarray) -> np.ndarray:
        o, n = self.old.ledger, self.new.ledger
        new_credit = take(n.use_credit, new_rows, NO_ROW)
        deducted_new = np.where(
            take(self.counts_new, new_rows, False) & take(self.open_new, new_credit, False),
            take(n.use_units, new_rows, 0),
            0,
        )
        old_credit_now = take(
            self.new_row_of_old_credit, take(o.use_credit, old_rows, NO_ROW), NO_ROW
        )
        deducted_old = np.where(
            take(self.counts_old, old_rows, False) & take(self.open_new, old_credit_now, False),
            take(o.use_units, old_rows, 0),
            0,
        )
        return deducted_old - deducted_new

    def currency(self, entity: Entity, old_rows: np.ndarray, new_rows: np.ndarray) -> np.ndarray:
        o, n = self.old.ledger, self.new.ledger
        if entity is CREDIT:
            old_credit, new_credit = old_rows, new_rows
        else:
            old_credit = take(o.use_credit, old_rows, NO_ROW)
            new_credit = take(n.use_credit, new_rows, NO_ROW)
        now = take(n.currency, new_credit, None)
        return np.where(new_credit != NO_ROW, now, take(o.currency, old_credit, None))


def _compare(
    entity: Entity,
    old: Side,
    new: Side,
    moment: np.datetime64,
    label: str,
    impacts: _Impacts,
) -> pd.DataFrame:
    old_first, new_first = old.first_rows(entity), new.first_rows(entity)
    old_ids = int_ids(old.frame(entity)["Id"])[old_first]
    new_ids = int_ids(new.frame(entity)["Id"])[new_first]
    old_at = take(old_first, pd.Index(old_ids).get_indexer(new_ids), NO_ROW)  # per new first
    new_at = take(new_first, pd.Index(new_ids).get_indexer(old_ids), NO_ROW)  # per old first
    closed_old = old.closed(entity, moment)
    closed_new = new.closed(entity, moment)

    both = old_at != NO_ROW
    judged_new = new_first[both]
    judged_old = old_at[both]
    judged = closed_new[judged_new] | closed_old[judged_old]
    judged_new, judged_old = judged_new[judged], judged_old[judged]
    differs = {
        name: _differs(old.frame(entity), new.frame(entity), name, judged_old, judged_new)
        | _differs_exactly(old.derived[entity], new.derived[entity], name, judged_old, judged_new)
        for name in JUDGED[entity]
    }
    changed = np.zeros(len(judged_new), dtype=bool)
    for mask in differs.values():
        changed |= mask
    updated_moved = _differs(
        old.frame(entity), new.frame(entity), "UpdatedOn", judged_old, judged_new
    )
    silent = changed & ~updated_moved
    deleted_old = old_first[(new_at == NO_ROW) & closed_old[old_first]]
    backdated_new = new_first[~both & closed_new[new_first]]

    impact = impacts.credit if entity is CREDIT else impacts.use
    pieces = []
    for rule, old_rows, new_rows in (
        ("changed_after_close", judged_old[changed & ~silent], judged_new[changed & ~silent]),
        ("silent_change", judged_old[silent], judged_new[silent]),
        ("deleted_after_close", deleted_old, np.full(len(deleted_old), NO_ROW)),
        ("backdated_entry", np.full(len(backdated_new), NO_ROW), backdated_new),
    ):
        if not len(old_rows):
            continue
        moved = impact(old_rows, new_rows)
        currency = impacts.currency(entity, old_rows, new_rows)
        fields = (
            [
                [name for name, mask in differs.items() if mask[position]]
                for position in _positions(judged_new, new_rows)
            ]
            if rule in ("changed_after_close", "silent_change")
            else [[]] * len(old_rows)
        )
        pieces.append(
            _findings(rule, entity, old, new, old_rows, new_rows, fields, moved, currency, label)
        )
    return findings.concat(pieces, _COLUMNS)


def _positions(judged_new: np.ndarray, rows: np.ndarray) -> np.ndarray:
    return pd.Index(judged_new).get_indexer(rows)


def _differs(
    old: pd.DataFrame, new: pd.DataFrame, name: str, old_rows: np.ndarray, new_rows: np.ndarray
) -> np.ndarray:
    """Per pair of rows: the field's values differ (null equals null; a field absent from a
    snapshot is null throughout)."""
    a, b = _column(old, name, old_rows), _column(new, name, new_rows)
    if a.type != b.type:
        a, b = a.cast(pa.string()), b.cast(pa.string())
    equal = pc.fill_null(pc.equal(a, b), False)
    same = pc.or_(equal, pc.and_(pc.is_null(a), pc.is_null(b)))
    if pa.types.is_floating(a.type):  # NaN (a "NaN" the schema refused) equals NaN
        same = pc.or_(same, pc.fill_null(pc.and_(pc.is_nan(a), pc.is_nan(b)), False))
    return ~same.to_numpy(zero_copy_only=False)


def _differs_exactly(
    old: TypedEntity, new: TypedEntity, name: str, old_rows: np.ndarray, new_rows: np.ndarray
) -> np.ndarray:
    """Per pair of rows: an amount no double holds differs where the doubles agree
    (``9007199254740993`` -> ``9007199254740992``). Only the few pairs where either side
    has an exact value are compared one by one."""
    differs = np.zeros(len(old_rows), dtype=bool)
    old_exact, new_exact = old.exact.get(name, {}), new.exact.get(name, {})
    if not old_exact and not new_exact:
        return differs
    either = np.isin(old_rows, list(old_exact)) | np.isin(new_rows, list(new_exact))
    positions = np.flatnonzero(either)
    before = old.amounts(name, old_rows[positions])
    after = new.amounts(name, new_rows[positions])
    for position, a, b in zip(positions, before, after, strict=True):
        differs[position] = _exactly(a) != _exactly(b)
    return differs


def _exactly(value: object) -> object:
    """An amount as a Decimal of the digits it stands for (a float by its shortest repr);
    a NaN (refused by the schema) as the text 'NaN', so that it equals itself."""
    number = Decimal(repr(value)) if isinstance(value, float) else value
    return "NaN" if isinstance(number, Decimal) and number.is_nan() else number


def _value(side: Side, entity: Entity, name: str, row: int) -> object:
    """A field's value in a record of ``side``, an amount as sent (every digit)."""
    data = side.derived[entity]
    if name in data.exact:
        return data.amounts(name, np.array([row]))[0]
    return data.frame[name].iloc[row] if name in data.frame else None


def _column(frame: pd.DataFrame, name: str, rows: np.ndarray) -> pa.Array:
    if name not in frame:
        return pa.nulls(len(rows))
    array = pa.array(frame[name])
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.take(pa.array(rows, type=pa.int64()))


def _findings(
    rule: str,
    entity: Entity,
    old: Side,
    new: Side,
    old_rows: np.ndarray,
    new_rows: np.ndarray,
    fields: list[list[str]],
    moved: np.ndarray,
    currency: np.ndarray,
    label: str,
) -> pd.DataFrame:
    decimals = new.ledger.scale_decimals
    side, rows = (old, old_rows) if rule == "deleted_after_close" else (new, new_rows)
    frame = side.frame(entity)
    if entity is CREDIT:
        credit_id = int_ids(frame["Id"])[rows]
    else:
        credit_id = frame["CoworkerBookingCreditId"].to_numpy(dtype=object, na_value=None)[rows]
    impact = [text(to_decimal(units, decimals)) for units in moved]
    messages = []
    for position, row in enumerate(rows):
        record = f"{_LABEL[entity]} {frame['Id'].iloc[row]}"
        money = f"{impact[position]} {currency[position] or ''}".rstrip()
        if rule == "deleted_after_close":
            what = f"was in the close of {label} and is no longer in the snapshot"
        elif rule == "backdated_entry":
            what = f"belongs to the closed period {label} but was not in its close"
        else:
            was, now = int(old_rows[position]), int(new_rows[position])
            edits = "; ".join(
                f"{name} {_shown(_value(old, entity, name, was))} -> "
                f"{_shown(_value(new, entity, name, now))}"
                for name in fields[position]
            )
            quietly = " without UpdatedOn moving" if rule == "silent_change" else ""
            what = f"of the closed period {label} changed after its close{quietly}: {edits}"
        messages.append(f"{record} {what}; its balance at the close moves by {money}")
    made = findings.make(entity, frame, rows, message=messages, credit_id=credit_id, field=None)
    if rule == "deleted_after_close":
        made["row"] = 0  # not in the snapshot audited
    made.insert(0, "severity", "error")
    made.insert(0, "rule", rule)
    made["impact"] = pd.Series(impact, dtype=object)
    made["currency"] = pd.Series(currency, dtype=object)
    return made


def _shown(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "null"
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else str(value)
