"""The evidence report.html shows beside each finding it lists, read from the audit.

Which evidence a finding gets is its rule's declaration (``Rule.evidence``); what
it shows is the audit's own derived values: the balance arithmetic and verdicts
(``Derived.balances``), the validity window (``Derived.windows``), the usage time,
the links and parent rows, and which uses the ledger counted. Nothing here decides
again whether a balance is within tolerance or when a window ends.

Only the findings the page lists (at most the row limit) become dicts, and the
records they need are taken from the frames once per entity.
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .. import money
from ..checks import BY_ID, Evidence, text
from ..derived import NO_ROW, Derived
from ..entities import (
    ALLOWANCE,
    BY_NAME,
    CREDIT,
    CREDIT_USE,
    ENTITIES,
    Entity,
    Unit,
)
from ..exact import Exact
from ..fields import BOOKING_LINKS
from ..rows import at_rows, frame_at
from .context import NO_KEY, ids_or_none

if TYPE_CHECKING:
    from ..audit import AuditResult

LEDGER_ROW_LIMIT = 200
"""Uses listed in one credit's evidence; the arithmetic always covers all of them."""

_COLUMN_KINDS = {"Id": "num", "CreatedOn": "time", "UpdatedOn": "time"}
_MONEY_FIELDS = frozenset(
    {e.balance.total for e in ENTITIES if e.balance and e.balance.unit is Unit.MONEY}
    | {e.balance.remaining for e in ENTITIES if e.balance and e.balance.unit is Unit.MONEY}
    | {CREDIT_USE.amount}
)
_QUANTITY_FIELDS = frozenset(
    {e.balance.total for e in ENTITIES if e.balance and e.balance.unit is Unit.QUANTITY}
    | {e.balance.remaining for e in ENTITIES if e.balance and e.balance.unit is Unit.QUANTITY}
)


def evidence(kind: str, caption: str, fields: list[dict[str, Any]], **parts: Any) -> dict[str, Any]:
    """One finding's evidence: every key present, so the template needs no guards.

    ``fields`` are ``{name, value, note, flag}`` (``flag`` marks what is at fault);
    ``arithmetic`` lines are ``{label, value, note, strong}``; ``table`` is a caption,
    columns and rows of cells, with ``more`` rows left out.
    """
    shown = {"timeline": None, "arithmetic": None, "table": None, "empty": ""}
    shown.update(parts)
    return {"kind": kind, "caption": caption, "fields": fields, **shown}


def _field(name: str, value: str, note: str = "", *, flag: bool = False) -> dict[str, Any]:
    return {"name": name, "value": value, "note": note, "flag": flag}


def _line(label: str, value: str, note: str = "", *, strong: bool = False) -> dict[str, Any]:
    return {"label": label, "value": value, "note": note, "strong": strong}


class FindingEvidence:
    """The evidence of each finding listed, from the audit's derived values."""

    def __init__(
        self, result: AuditResult, shown: list[dict[str, Any]], places: pd.DataFrame
    ) -> None:
        self.snapshot = result.snapshot
        self.derived: Derived = result.derived
        self.tolerance = result.ruleset.tolerance
        self.credit_rows = places["credit_row"].to_numpy()[: len(shown)].tolist()
        self.allowance_rows = places["allowance_row"].to_numpy()[: len(shown)].tolist()
        # Records are fetched once per entity, for every finding listed, not row by row.
        self.records: dict[str, dict[int, dict[str, Any]]] = {}
        wanted: dict[Entity, set[int]] = {}
        ledger_rows: dict[Entity, list[int]] = {CREDIT: [], ALLOWANCE: []}
        for index, finding in enumerate(shown):
            if not self._in_snapshot(finding):
                continue
            wanted.setdefault(BY_NAME[finding["entity"]], set()).add(finding["row"] - 1)
            if self.credit_rows[index] != NO_ROW:
                wanted.setdefault(CREDIT, set()).add(self.credit_rows[index])
            if self.allowance_rows[index] != NO_ROW:
                wanted.setdefault(ALLOWANCE, set()).add(self.allowance_rows[index])
            rule = BY_ID.get(finding["rule"])
            if rule is not None and rule.evidence is Evidence.LEDGER and rule.subject:
                ledger_rows[rule.subject].append(finding["row"] - 1)
        for entity, positions in wanted.items():
            self.records[entity.name] = records_at(
                self.snapshot.frame(entity), sorted(positions), self.snapshot[entity].exact
            )
        self.ledger_tables = {
            parent: ledger_tables(self.derived, parent, rows) if rows else {}
            for parent, rows in ledger_rows.items()
        }
        self.duplicates = _duplicates(self.snapshot, shown)

    def _in_snapshot(self, finding: dict[str, Any]) -> bool:
        """Whether the finding names a record of the snapshot: not a waiver's finding
        (entity ``Waiver``), a roll-forward row or a record a close found deleted (row 0)."""
        entity = BY_NAME.get(finding["entity"])
        return entity is not None and entity in self.snapshot and finding["row"] >= 1

    def of(self, index: int, finding: dict[str, Any]) -> dict[str, Any]:
        if not self._in_snapshot(finding):
            note = "the finding is about no single record of the snapshot"
            return evidence("record", "No record of the snapshot", [], empty=note)
        entity = BY_NAME[finding["entity"]]
        row = finding["row"] - 1
        record = self.records[entity.name][row]
        rule = BY_ID.get(finding["rule"])
        kind = rule.evidence if rule is not None else Evidence.RECORD
        if kind is Evidence.LEDGER and entity.balance is not None:
            return self._ledger(entity, row, record)
        if kind is Evidence.WINDOW and entity.parent is not None:
            parent_row = self._parent_row(entity, index)
            return self._window(entity, row, record, parent_row)
        if kind is Evidence.LINKS and entity.parent is not None:
            return self._links(finding, entity, row, record, self._parent_row(entity, index))
        return self._record(finding, record)

    def _parent_row(self, child: Entity, index: int) -> int:
        return self.credit_rows[index] if child is CREDIT_USE else self.allowance_rows[index]

    def _parent_record(self, child: Entity, row: int) -> dict[str, Any] | None:
        assert child.parent is not None
        return self.records[child.parent.entity.name][row] if row != NO_ROW else None

    def _ledger(self, parent: Entity, row: int, record: dict[str, Any]) -> dict[str, Any]:
        assert parent.balance is not None
        balances = self.derived.balances(parent)
        total_name, remaining_name = parent.balance.total, parent.balance.remaining
        scale = self.derived.scale
        if parent.balance.unit is Unit.MONEY:
            currency = self.derived.credit_currency[row] or "(no currency)"

            def fmt(units: Any) -> str:
                return f"{amount_text(units, scale)} {currency}"

        else:

            def fmt(units: Any) -> str:
                return quantity_text(units, scale)

        ledger = self.ledger_tables[parent].get(row)
        counted = int(balances.ledger.counted[row])
        tolerance = f"{self.tolerance:g}"
        if balances.total_known[row] and balances.remaining_known[row]:
            if balances.mismatch[row]:
                verdict = f"more than the tolerance {tolerance}: a mismatch"
            elif balances.judged[row]:
                verdict = f"within the tolerance {tolerance}"
            else:
                verdict = "not judged: a use of it has no amount"
            lines = [
                _line(total_name, fmt(balances.total[row])),
                _line(f"minus {remaining_name}", fmt(balances.remaining[row])),
                _line("= consumed, by the balance", fmt(balances.consumed[row]), strong=True),
                _line(
                    f"sum of {CREDIT_USE.amount} over its {counted:,} counted uses",
                    fmt(balances.spent[row]),
                ),
                _line("difference", fmt(balances.difference[row]), verdict, strong=True),
            ]
        else:
            lines = [
                _line(
                    f"{total_name} or {remaining_name}",
                    "?",
                    "failed its schema: see the schema_violation findings",
                )
            ]
        if balances.negative[row]:
            lines.append(
                _line(
                    remaining_name,
                    fmt(balances.remaining[row]),
                    f"below zero by more than the tolerance {tolerance}: overdrawn",
                )
            )
        if balances.overspent[row]:
            lines.append(
                _line(
                    f"uses over {total_name} by",
                    fmt(balances.spent[row] - balances.total[row]),
                    "the uses spent more than the credit held",
                )
            )
        left_out = int(balances.ledger.left_out[row])
        if left_out:
            lines.append(
                _line(
                    "uses left out of the sum",
                    f"{left_out:,}",
                    f"their {CREDIT_USE.amount} failed its schema",
                )
            )
        return evidence(
            "ledger",
            f"The {parent.short} and its ledger of uses",
            _fields(record, _PARENT_FIELDS[parent.short]),
            arithmetic=lines,
            table=ledger["table"] if ledger else None,
            empty="" if ledger else f"No use points at this {parent.short}.",
        )

    def _window(
        self, child: Entity, row: int, record: dict[str, Any], parent_row: int
    ) -> dict[str, Any]:
        """The parent's validity window beside the use's usage time, and a timeline of both."""
        assert child.parent is not None
        what = child.parent.entity.short
        usage = self.derived.usage_times(child)
        used, source = _moment(usage.time[row]), str(usage.source[row])
        windows = self.derived.windows(child.parent.entity).at(np.array([parent_row]))
        start, end = _moment(windows.start[0]), _moment(windows.end[0])
        expire = _moment(windows.expire[0])
        end_note = ""
        if windows.midnight[0]:
            end_note = f"midnight: covers all of {expire.date().isoformat()}"
        if used is not None and end is not None and used >= end:
            gap, outside = f"{_duration(used - end)} after the window closed", True
        elif used is not None and start is not None and used < start:
            gap, outside = f"{_duration(start - used)} before the window opened", True
        else:
            gap, outside = "inside the window", False
        rows = [
            _field(f"{what}'s ValidFrom", show("ValidFrom", start)),
            _field(f"{what}'s ExpireDate", show("ExpireDate", expire), end_note),
            _field(f"usage time ({source})", show(source, used), gap, flag=outside),
        ]
        for name in ("BookingFromTime", "BookingToTime", "CreatedOn"):
            if name != source and record.get(name) is not None:
                rows.append(_field(name, show(name, record[name])))
        return evidence(
            "window",
            f"The {what}'s validity window beside the usage time",
            rows,
            timeline=_timeline(start, end, used),
        )

    def _links(
        self,
        finding: dict[str, Any],
        child: Entity,
        row: int,
        record: dict[str, Any],
        parent_row: int,
    ) -> dict[str, Any]:
        assert child.parent is not None
        rule = finding["rule"]
        parent = self._parent_record(child, parent_row)
        if child is CREDIT_USE:
            names = _USE_LINK_FIELDS
            links = self.derived.links
            linked = dict(
                zip(BOOKING_LINKS, (links.booking, links.event, links.invoice_line), strict=True)
            )
        else:
            names = _ALLOWANCE_USE_LINK_FIELDS
            linked = {"BookingId": self.derived.allowance_use_booked}
        # The fields a denormalisation finding names are the ones that contradict the link.
        named = (
            set(finding["message"].replace(",", " ").split()) if rule == _DENORMALISED else set()
        )
        fields = []
        for name in names:
            value = record.get(name)
            if value is None and name not in _ALWAYS_SHOWN:
                continue
            note, flag = "", name in named
            if name in linked:
                note = "linked" if linked[name][row] else "no link"
            elif name == child.parent.key:
                note, flag = _parent_note(value, parent, child.parent.entity.short)
            fields.append(_field(name, show(name, value), note, flag=flag))
        if rule == "ineligible_use" and parent is not None:
            for name in ("CaneBeUsedForBookings", "CaneBeUsedForEvents"):
                value = parent.get(name)
                fields.append(_field(f"credit's {name}", show(name, value), flag=value is False))
        return evidence("links", "The use's link fields", fields)

    def _record(self, finding: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
        field, rule = finding["field"], finding["rule"]
        fields = []
        for name, value in record.items():
            if name == field and rule == "schema_violation":
                sent = json.dumps(finding["actual"], ensure_ascii=False, default=str)
                fields.append(_field(name, f"as sent: {sent}", "fails its schema", flag=True))
            elif name == field:
                fields.append(_field(name, show(name, value), "repeated", flag=True))
            elif value is not None:
                fields.append(_field(name, show(name, value)))
        table = None
        if rule == "duplicate_record":
            table = self.duplicates.get((finding["entity"], field, record.get(field)))
        return evidence("record", "The record", fields, table=table)


def _parent_note(value: Any, parent: dict[str, Any] | None, what: str) -> tuple[str, bool]:
    if value is None:
        return "empty", True
    if parent is None:
        none = " (0 is the API's 'none')" if value == 0 else ""
        return f"matches no {what} in the snapshot{none}", True
    return f"the {what} exists", False


_PARENT_FIELDS = {
    "credit": (
        "Id",
        "BusinessId",
        "BusinessName",
        "BusinessCurrencyCode",
        "CoworkerId",
        "Description",
        "ValidFrom",
        "ExpireDate",
        "TotalCredit",
        "RemainingCredit",
        "CaneBeUsedForBookings",
        "CaneBeUsedForEvents",
    ),
    "allowance": ("Id", "BusinessId", "ValidFrom", "ExpireDate", "TotalUses", "RemainingUses"),
}
_USE_LINK_FIELDS = (
    "CoworkerBookingCreditId",
    *BOOKING_LINKS,
    "CoworkerInvoiceLineCoworkerInvoiceId",
    "CreditUsed",
    "Description",
    "BookingFromTime",
    "BookingToTime",
    "BookingResourceName",
    "EventAttendeeCalendarEventName",
    "EventAttendeeEventProductName",
    "EventAttendeeFullName",
    "EventAttendeeEmail",
    "CoworkerInvoiceLineCoworkerInvoiceInvoiceNumber",
    "CreatedOn",
    "UpdatedBy",
)
_ALLOWANCE_USE_LINK_FIELDS = (
    "CoworkerExtraServiceId",
    "BookingId",
    "CreditUsed",
    "BookingFromTime",
    "BookingToTime",
    "CreatedOn",
)
_DENORMALISED = "denormalisation_mismatch"
_ALWAYS_SHOWN = frozenset(
    {"CoworkerBookingCreditId", "CoworkerExtraServiceId", *BOOKING_LINKS, "Description"}
)


def _timeline(start: Any, end: Any, used: Any) -> dict[str, Any] | None:
    """A 400 x 28 strip: the window as a band, the usage time as a mark."""
    points = [value for value in (start, end, used) if value is not None]
    if used is None or len(points) < 2:
        return None
    low, high = min(points), max(points)
    pad = (high - low) * 0.12 or pd.Timedelta(days=1)
    low, high = low - pad, high + pad
    span = (high - low).total_seconds()

    def x(moment: Any) -> float:
        return round(8 + 384 * (moment - low).total_seconds() / span, 1)

    left = x(start) if start is not None else 0.0
    right = x(end) if end is not None else 400.0
    inside = (start is None or used >= start) and (end is None or used < end)
    return {
        "left": left,
        "width": round(max(right - left, 1.0), 1),
        "used": x(used),
        "inside": inside,
        "window_title": f"valid {show('ValidFrom', start)} to {show('ExpireDate', end)}",
        "used_title": f"used {show('BookingFromTime', used)}",
    }


def _duplicates(snapshot: Any, shown: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    """For each duplicate_record finding listed, the records sharing its Id or UniqueId.

    One vectorised ``isin`` per entity and key finds every record involved; only those few
    rows are then taken from the frame, once.
    """
    wanted: dict[tuple[str, str], set] = {}
    for finding in shown:
        if finding["rule"] == "duplicate_record" and finding["field"] in ("Id", "UniqueId"):
            wanted.setdefault((finding["entity"], finding["field"]), set()).add(finding["row"] - 1)
    tables: dict[tuple, dict[str, Any]] = {}
    for (entity_name, field), positions in wanted.items():
        frame = snapshot.frame(BY_NAME[entity_name])
        columns = [name for name in ("Id", "UniqueId", "CreatedOn", "UpdatedOn") if name in frame]
        values = at_rows(frame[field], np.array(sorted(positions), dtype=np.int64))
        values = values.dropna().unique()
        sharing = np.flatnonzero(frame[field].isin(values).to_numpy(dtype=bool, na_value=False))
        for position, record in records_at(frame[columns], sharing.tolist()).items():
            key = (entity_name, field, record[field])
            table = tables.setdefault(
                key,
                {
                    "caption": f"Records with this {field}",
                    "columns": [{"name": "row", "kind": "num"}]
                    + [{"name": name, "kind": _COLUMN_KINDS.get(name, "text")} for name in columns],
                    "rows": [],
                    "more": 0,
                },
            )
            cells = [str(position + 1)] + [show(name, record[name]) for name in columns]
            table["rows"].append({"cells": cells, "muted": False})
    return tables


def ledger_tables(derived: Derived, parent: Entity, rows: list[int]) -> dict[int, dict[str, Any]]:
    """The ledger table of each parent at ``rows``: its uses by usage time, a running sum.

    The uses, their order of counting and what the sum counted are the audit's own
    (``Derived.ledger``): a use the sum left out is struck through and says why.
    Vectorised over every use of every parent asked for; only the rows a table lists
    (``LEDGER_ROW_LIMIT`` per parent) become text and dicts.
    """
    child = next(entity for entity in ENTITIES if entity.parent and entity.parent.entity is parent)
    if child not in derived.snapshot or not rows:
        return {}
    first = derived.first_rows(parent)
    wanted = np.zeros(len(first) + 1, dtype=bool)
    wanted[first[np.asarray(rows)]] = True  # the last slot stays False: a use with no parent
    parent_rows = derived.parent_rows(child)
    mine = np.flatnonzero(wanted[parent_rows])
    if not len(mine):
        return {}
    ledger = derived.ledger(parent)
    frame = derived[child].frame
    group, time = parent_rows[mine], derived.usage_times(child).time[mine]
    ids = ids_or_none(at_rows(frame["Id"], mine))
    order = np.lexsort((mine, ids, time, group))
    mine, group, time, ids = mine[order], group[order], time[order], ids[order]
    counted, valid = ledger.use_counted[mine], ledger.use_amount_valid[mine]
    units = ledger.use_units[mine]
    summed = np.where(counted, units, 0)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    sizes = np.diff(np.r_[starts, len(group)])
    before = np.cumsum(summed) - summed  # what the earlier rows of all groups summed
    running = np.cumsum(summed) - np.repeat(before[starts], sizes)
    rank = np.arange(len(group)) - np.repeat(starts, sizes)
    listed = rank < LEDGER_ROW_LIMIT
    least = 2 if parent.unit is Unit.MONEY else 0

    def formatter(units: np.ndarray) -> list[str]:
        return grouped(money.format_units(units, derived.scale, min_decimals=least))

    describe = _describe_credit_uses if child is CREDIT_USE else _describe_allowance_uses

    cells = zip(
        np.where(ids[listed] != NO_KEY, ids[listed].astype(str), "").tolist(),
        _time_texts(time[listed]).tolist(),
        describe(frame_at(frame, mine[listed])).tolist(),
        np.where(valid[listed], formatter(units[listed]), "?").tolist(),
        np.where(counted[listed], formatter(running[listed]), "").tolist(),
        counted[listed].tolist(),
        valid[listed].tolist(),
        strict=True,
    )
    table_rows = [
        {
            "cells": [use_id, used_at, what, amount, total or _not_counted(is_valid)],
            "muted": not is_counted,
        }
        for use_id, used_at, what, amount, total, is_counted, is_valid in cells
    ]
    by_group, taken = {}, 0
    for start, size in zip(starts.tolist(), sizes.tolist(), strict=True):
        count = min(size, LEDGER_ROW_LIMIT)
        by_group[int(group[start])] = {
            "table": {
                "caption": f"{size:,} uses, by usage time",
                "columns": _LEDGER_COLUMNS,
                "rows": table_rows[taken : taken + count],
                "more": size - count,
            }
        }
        taken += count
    return {row: by_group[int(first[row])] for row in rows if int(first[row]) in by_group}


_LEDGER_COLUMNS = [
    {"name": "use Id", "kind": "num"},
    {"name": "usage time", "kind": "time"},
    {"name": "for", "kind": "text"},
    {"name": "CreditUsed", "kind": "num"},
    {"name": "running sum", "kind": "num"},
]


def _not_counted(valid: bool) -> str:
    return "not counted: a repeated use Id" if valid else "not counted: no valid CreditUsed"


def _describe_allowance_uses(frame: pd.DataFrame) -> np.ndarray:
    booked = ids_or_none(frame["BookingId"]) > 0
    return np.where(booked, text.concat("booking ", text.ids(frame["BookingId"])), "no booking")


def _describe_credit_uses(frame: pd.DataFrame) -> np.ndarray:
    """What each use paid for, in a few words."""
    parts = [
        text.where(ids_or_none(frame[name]) > 0, text.concat(label, text.ids(frame[name])))
        for name, label in (
            ("BookingId", "booking "),
            ("EventAttendeeId", "event attendee "),
            ("CoworkerInvoiceLineId", "invoice line "),
        )
    ]
    links = text.join_present(parts, ", ")
    note = text.strings(frame["Description"])
    manual = np.where(
        np.strings.str_len(note) > 0, text.concat("manual: ", note), "no link, no Description"
    )
    return np.where(np.strings.str_len(links) > 0, links, manual).astype(object)


# --- small helpers ----------------------------------------------------------------------


def _moment(value: np.datetime64) -> pd.Timestamp | None:
    return None if np.isnat(value) else pd.Timestamp(value)


def _time_texts(values: np.ndarray) -> np.ndarray:
    texts = np.datetime_as_string(values.astype("datetime64[s]"), unit="s").astype(object)
    return np.where(np.isnat(values), "", texts)


def records_at(
    frame: pd.DataFrame, positions: list[int], exact: dict[str, Exact] | None = None
) -> dict[int, dict[str, Any]]:
    """The records at ``positions`` as dicts of Python values (None for null); an amount no
    float holds (``exact``, from ``TypedEntity.exact``) as its ``ExactNumber``."""
    part = frame_at(frame, np.asarray(positions, dtype=np.int64)).astype(object)
    part = part.where(part.notna(), None)
    records = dict(zip(positions, part.to_dict("records"), strict=True))
    for name, rows in (exact or {}).items():
        for position in rows.keys() & records.keys():
            records[position][name] = rows[position]
    return records


def _fields(record: dict[str, Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        _field(name, show(name, record[name])) for name in names if record.get(name) is not None
    ]


def show(name: str, value: Any) -> str:
    """A field's value as the page shows it: amounts in fixed point, times in ISO-8601."""
    if value is None or value is pd.NA:
        return "none"
    if isinstance(value, pd.Timestamp):
        return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, money.ExactNumber):  # an amount no float holds, as sent
        scale = money.Scale(money.decimals_of_exact(value))
        units = money.decimal_units(value, scale)
        if name in _MONEY_FIELDS:
            return amount_text(units, scale)
        if name in _QUANTITY_FIELDS:
            return quantity_text(units, scale)
    if isinstance(value, float) and math.isfinite(value):
        # The amount as sent: its shortest decimal, exactly, with thousands separators.
        scale = money.Scale(money.decimals_of_number(value))
        units = money.to_units(np.array([value]), scale)[0]
        if name in _MONEY_FIELDS:
            return amount_text(units, scale)
        if name in _QUANTITY_FIELDS:
            return quantity_text(units, scale)
    return str(value)


def amount_text(units: Any, scale: money.Scale) -> str:
    """Money units as fixed-point text, at least two decimals, thousands separated."""
    return grouped(money.format_units(np.array([units], dtype=object), scale))[0]


def quantity_text(units: Any, scale: money.Scale) -> str:
    """Quantity units as fixed-point text, decimals only when there are any."""
    return grouped(money.format_units(np.array([units], dtype=object), scale, min_decimals=0))[0]


def grouped(texts: Any) -> list[str]:
    """Fixed-point texts with thousands separators in the whole part: ``-1,234.50``.

    Only for what a page lists (a few thousand values at most), so one at a time."""
    out = []
    for shown in np.asarray(texts, dtype=object).tolist():
        sign, body = ("-", shown[1:]) if shown.startswith("-") else ("", shown)
        whole, point, fraction = body.partition(".")
        out.append(f"{sign}{int(whole):,}{point}{fraction}" if whole.isdigit() else shown)
    return out


def _duration(delta: pd.Timedelta) -> str:
    seconds = int(delta.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [f"{days} d"] if days else []
    if hours or minutes or not days:
        parts.append(f"{hours} h {minutes:02d} min" if hours else f"{minutes} min")
    return " ".join(parts)
