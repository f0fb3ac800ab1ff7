"""Search requests: paging, sort direction, filters and ordering, and the page envelope.

The rules, as the API notes and seeds describe the real API:

- ``page`` is 1-based (default 1), ``size`` defaults to 25 and is clamped to
  1000, ``orderBy`` names a field (default Id), ``dir`` follows the entity's
  convention (use histories 1 ascending / -1 descending, the others 0 / 1);
  an unknown ``dir`` is ascending. Ties are broken by Id, ascending.
- Filters are ANDed: ``<Entity>_<Field>=v`` (equality), ``<Entity>_<ForeignKey>=id``
  (the field ``<ForeignKey>Id``), ``<Entity>_<ForeignKey>_<Property>`` (a property
  of the related record, when the sandbox serves that entity:
  ``CoworkerBookingCreditUseHistory_CoworkerBookingCredit_BusinessId``; else the
  denormalised field ``<Related><Property>``), ``from_<Entity>_<Field>`` (>=)
  and ``to_<Entity>_<Field>`` (<=) for date-times, integers and decimals.
  Parameter names are matched case-insensitively, as ASP.NET binds them.
- Anything not understood (unknown parameter, unknown field, a value that is
  neither a number nor a date-time in a range) is ignored, like the real API.

Id ranges and Id order are answered by bisection over the Id-sorted table;
other filters and orders scan once and the result is kept for the pages that
follow (keyed by the table's version, so a change invalidates it).
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..entities import ALLOWANCE_USE, CREDIT_USE, ENTITIES, Entity
from .store import MISSING, EntityTable, dumps

DEFAULT_SIZE = 25
MAX_SIZE = 1000

# dir convention -> (ascending value, descending value)
CONVENTIONS: dict[str, tuple[int, int]] = {"one_minus_one": (1, -1), "zero_one": (0, 1)}


def convention_of(entity: Entity, override: str | None) -> str:
    """The ``dir`` convention of ``entity``: as documented per entity unless overridden."""
    if override is not None:
        return override
    return "one_minus_one" if entity in (CREDIT_USE, ALLOWANCE_USE) else "zero_one"


_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(?:Z|[+-]\d{2}(?::?\d{2})?)?"
)
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def wall_clock(value: Any) -> str | None:
    """A date-time string as a comparable wall-clock text (Z or offset ignored), else None."""
    if not isinstance(value, str):
        return None
    match = _DATETIME.fullmatch(value.strip())
    if match is None:
        return None
    day, hour, minute, second, fraction = match.groups()
    return (
        f"{day}T{hour or '00'}:{minute or '00'}:{second or '00'}.{(fraction or '').ljust(9, '0')}"
    )


def _number(text: str) -> float | None:
    return float(text) if _NUMBER.fullmatch(text.strip()) else None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Filter:
    """One parsed filter: ``field`` compared by ``op`` (eq, ge, le) with ``text``; or
    (op ``in``) a foreign key among ``ids``, what a related-property filter becomes."""

    field: str
    op: str
    text: str
    ids: frozenset[int] = frozenset()

    def predicate(self) -> Callable[[Any], bool] | None:
        """A test of one record value, or None when the filter cannot apply (ignored)."""
        if self.op == "in":
            return lambda value: _is_number(value) and value in self.ids
        number = _number(self.text)
        moment = wall_clock(self.text)
        if self.op == "eq":
            return _equality(self.text, number, moment)
        if moment is not None:
            return _range_on_datetimes(self.op, moment)
        if number is not None:
            return _range_on_numbers(self.op, number)
        return None


def _equality(text: str, number: float | None, moment: str | None) -> Callable[[Any], bool]:
    folded = text.casefold()
    flag = {"true": True, "false": False}.get(folded)

    def test(value: Any) -> bool:
        if isinstance(value, bool):
            return value is flag
        if _is_number(value):
            return number is not None and value == number
        if isinstance(value, str):
            if moment is not None:
                other = wall_clock(value)
                if other is not None:
                    return other == moment
            # SQL Server's default collation, which Nexudus runs on, ignores case.
            return value.casefold() == folded
        return False

    return test


def _range_on_datetimes(op: str, moment: str) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        other = wall_clock(value)
        if other is None:
            return False
        return other >= moment if op == "ge" else other <= moment

    return test


def _range_on_numbers(op: str, number: float) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        if not _is_number(value) or value != value:  # NaN compares with nothing
            return False
        return value >= number if op == "ge" else value <= number

    return test


@dataclass(frozen=True)
class Search:
    """A parsed search request for one entity."""

    page: int
    size: int
    order_field: str  # "Id" or a field of the entity
    descending: bool
    direction: int  # the dir value echoed, in the entity's convention
    id_low: float | None
    id_high: float | None
    filters: tuple[Filter, ...]
    related: tuple[Related, ...] = ()
    """Filters on a property of the related record, for the caller to resolve
    (``resolve_related``) against the related table."""


@dataclass(frozen=True)
class Related:
    """``<Entity>_<ForeignKey>_<Property>``: ``key`` (the field ``<ForeignKey>Id``) points at
    a record of ``entity`` whose ``spec`` compares by ``op`` with ``text``."""

    key: str
    entity: Entity
    spec: str
    op: str
    text: str


def resolve_related(item: Related, table: EntityTable) -> Filter:
    """The related-property filter as a filter on the foreign key: among the Ids of the
    related records that match (none match a property the related table lacks)."""
    field = _resolve_field(item.spec, table, foreign_key=True)
    test = Filter(field, item.op, item.text).predicate() if field else None
    ids: set[int] = set()
    if test is not None and field is not None:
        values, keys = table.column(field), table.column("Id")
        ids = {
            key for key, value in zip(keys, values, strict=True) if _is_number(key) and test(value)
        }
    return Filter(item.key, "in", "", frozenset(ids))


def parse_search(
    entity: Entity,
    params: Mapping[str, str],
    table: EntityTable,
    *,
    convention: str,
    honour_id_range: bool,
) -> Search:
    """The search that ``params`` (query parameters, first value of each) asks for."""
    lowered = {name.lower(): value for name, value in params.items()}
    page = _positive(lowered.get("page"), 1)
    size = min(_positive(lowered.get("size"), DEFAULT_SIZE), MAX_SIZE)
    ascending_value, descending_value = CONVENTIONS[convention]
    descending = (lowered.get("dir") or "").strip() == str(descending_value)

    order_field = "Id"
    requested = (lowered.get("orderby") or "").strip()
    if requested and requested.lower() != "id":
        order_field = _resolve_field(requested, table, foreign_key=False) or "Id"

    id_low = id_high = None
    filters = []
    related = []
    prefix = entity.name.lower() + "_"
    for name, value in params.items():
        if not value.strip():
            continue  # an empty filter is no filter
        lower = name.lower()
        op = "eq"
        for marker, range_op in (("from_", "ge"), ("to_", "le")):
            if lower.startswith(marker + prefix):
                op, lower, name = range_op, lower[len(marker) :], name[len(marker) :]
        if not lower.startswith(prefix):
            continue
        link = _related(name[len(prefix) :], table)
        if link is not None:
            key, target, spec = link
            related.append(Related(key, target, spec, op, value.strip()))
            continue
        field = _resolve_field(name[len(prefix) :], table, foreign_key=True)
        if field is None:
            continue
        if field == "Id":
            # Id filters are answered by bisection; equality always works, the range
            # filters only while honour_id_range (real support is undocumented).
            number = _number(value)
            if number is None or (op != "eq" and not honour_id_range):
                continue  # ignored, like any filter the real API does not support
            if op in ("ge", "eq"):
                id_low = number if id_low is None else max(id_low, number)
            if op in ("le", "eq"):
                id_high = number if id_high is None else min(id_high, number)
            continue
        filters.append(Filter(field, op, value.strip()))
    return Search(
        page=page,
        size=size,
        order_field=order_field,
        descending=descending,
        direction=descending_value if descending else ascending_value,
        id_low=id_low,
        id_high=id_high,
        filters=tuple(filters),
        related=tuple(related),
    )


def _related(spec: str, table: EntityTable) -> tuple[str, Entity, str] | None:
    """(foreign key field, related entity, property) of ``<ForeignKey>_<Property>`` when
    ``<ForeignKey>Id`` is a field and names an entity the sandbox serves, else None."""
    head, underscore, rest = spec.partition("_")
    if not underscore or not rest:
        return None
    target = next((e for e in ENTITIES if e.name.lower() == head.lower()), None)
    key = _resolve_field(head + "Id", table, foreign_key=False)
    if target is None or key is None:
        return None
    return key, target, rest


def _positive(text: str | None, default: int) -> int:
    try:
        value = int((text or "").strip())
    except ValueError:
        return default
    return value if value >= 1 else default


def _resolve_field(spec: str, table: EntityTable, *, foreign_key: bool) -> str | None:
    """The field a filter or ``orderBy`` names: ``Booking_Resource_Name`` is
    ``BookingResourceName``; a foreign key ``CoworkerBookingCredit`` is
    ``CoworkerBookingCreditId``. Case-insensitive; None when no field matches."""
    if spec.replace("_", "").lower() == "id":
        return "Id"
    fields = table.fields()
    by_lower = {name.lower(): name for name in fields}
    joined = spec.replace("_", "")
    candidates = [spec, joined] + ([joined + "Id"] if foreign_key else [])
    for candidate in candidates:
        if candidate in fields:
            return candidate
        if candidate.lower() in by_lower:
            return by_lower[candidate.lower()]
    return None


class SearchCache:
    """The row order of the last few scanned searches of one table (pages reuse it)."""

    def __init__(self, capacity: int = 8) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[Any, ...], list[int]] = OrderedDict()

    def rows(self, table: EntityTable, search: Search, start: int, end: int) -> list[int]:
        key = (
            id(table),
            table.version,
            start,
            end,
            search.order_field,
            search.descending,
            search.filters,
        )
        rows = self._entries.get(key)
        if rows is None:
            rows = _scan(table, search, start, end)
            self._entries[key] = rows
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        else:
            self._entries.move_to_end(key)
        return rows


def select(table: EntityTable, search: Search, cache: SearchCache) -> tuple[int, list[bytes]]:
    """(total matching, the JSON bytes of the requested page's records)."""
    start, end = table.id_span(search.id_low, search.id_high)
    if search.id_low is None and search.id_high is None:
        start = 0  # no Id range: records without an integer Id are served too
    offset = (search.page - 1) * search.size
    if not search.filters and search.order_field == "Id":
        total = end - start
        if offset >= total:
            return total, []
        if search.descending:
            high = end - offset
            return total, table.blobs[max(start, high - search.size) : high][::-1]
        return total, table.blobs[start + offset : min(start + offset + search.size, end)]
    rows = cache.rows(table, search, start, end)
    return len(rows), [table.blobs[i] for i in rows[offset : offset + search.size]]


def _scan(table: EntityTable, search: Search, start: int, end: int) -> list[int]:
    rows: Sequence[int] = range(start, end)
    for item in search.filters:
        test = item.predicate()
        if test is None:
            continue
        values = table.column(item.field)
        rows = [i for i in rows if test(values[i])]
    rows = list(rows)
    if search.order_field != "Id":
        values = table.column(search.order_field)
        # Rows are in Id order and the sort is stable (also reversed): ties stay by Id.
        rows.sort(key=lambda i: _sort_key(values[i]), reverse=search.descending)
    elif search.descending:
        rows.reverse()
    return rows


def _sort_key(value: Any) -> tuple[int, Any]:
    """Nulls first, then booleans, numbers, text, and anything else by its JSON."""
    if value is None or value is MISSING:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if _is_number(value):
        return (2, -math.inf if value != value else value)
    if isinstance(value, str):
        return (3, value)
    return (4, dumps(value))


def envelope(search: Search, total: int, records: list[bytes]) -> bytes:
    """The page envelope, ``Records`` joined from the records' bytes."""
    offset = (search.page - 1) * search.size
    pages = math.ceil(total / search.size)
    meta = {
        "CurrentPageSize": search.size,
        "CurrentPage": search.page,
        "CurrentOrderField": search.order_field,
        "CurrentSortDirection": search.direction,
        "FirstItem": offset + 1 if records else 0,
        "HasNextPage": search.page < pages,
        "HasPreviousPage": search.page > 1,
        "LastItem": offset + len(records) if records else 0,
        "PageNumber": search.page,
        "PageSize": search.size,
        "TotalItems": total,
        "TotalPages": pages,
    }
    return b'{"Records":[' + b",".join(records) + b"]," + dumps(meta)[1:]


def parse_id_list(text: str) -> list[int] | None:
    """The Ids of a batch request, ``[1,2,3]`` (or ``1,2,3``); None when malformed."""
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1]
    ids = []
    for part in inner.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            ids.append(int(part))
        except ValueError:
            return None
    return list(dict.fromkeys(ids))
