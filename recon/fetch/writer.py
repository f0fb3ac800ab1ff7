"""A fetched snapshot on disk: pages to Parquet tables, the manifest, and the swap into place.

Records are read from the stored pages with the same schemas the audit's
loader uses for JSON Lines, so a Parquet snapshot gives the findings the same
records would give as JSON. Each entity's records are deduplicated by Id (a
record fetched twice, by a resumed or repeated walk, is kept once, as last
fetched) and sorted by Id. Everything is written under temporary names and
renamed into place at the end: the old manifest goes first, so no mix of old
and new files ever looks like a whole snapshot, and the new manifest last.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import readers, stored_datetimes
from ..entities import Entity
from ..fields import DATETIME_NAMES
from ..findings import dumps
from ..money import ExactNumber, exact_float
from ..snapshot import JSON_TEXT, MANIFEST, sha256_file
from . import pages


def records_table(pages: Path, entity: Entity) -> pa.Table:
    """The records of every stored page of ``entity``, as one Arrow table."""
    for declared in (readers.typed_schema(entity), readers.text_schema(entity)):
        table = _typed(pages, declared)
        if table is not None:
            return table
        # else a value not of its declared type, or types that differ across pages
    return _from_python(
        record
        for line in pages.read_bytes().splitlines()
        if line.strip()
        for record in json.loads(line)["Records"]
    )


_SEARCHED = 16 << 20
"""How many bytes of the stored pages are searched for long numbers at a time."""


def holds_long_numbers(pages: Path) -> bool:
    """Whether the stored pages may hold an amount no double holds (a run of 16 or more
    digits): then ``with_exact_amounts`` must keep its digits. One bulk pass over the
    pages, in blocks that overlap by less than a run, so none is cut in two unseen."""
    with pages.open("rb") as handle:
        tail = b""
        while block := handle.read(_SEARCHED):
            if readers.holds_long_numbers(tail + block):
                return True
            tail = block[-15:]
    return False


def with_exact_amounts(table: pa.Table, pages: Path, entity: Entity) -> pa.Table:
    """``table`` (the records of the stored ``pages``, in their order: ``records_table``)
    with each amount column that holds a number no double holds stored as each record's
    JSON text (marked ``JSON_TEXT``), which the loader reads with every digit.

    pyarrow reads JSON numbers as doubles, so the pages are parsed again by ``json`` with
    the exact number hook; call it only when ``holds_long_numbers``, which is rare.
    """
    names = [name for name in readers.amount_names(entity) if name in table.column_names]
    values: dict[str, list[Any]] = {name: [] for name in names}
    for line in pages.read_bytes().splitlines():
        if not line.strip():
            continue
        for record in json.loads(line, parse_float=exact_float)["Records"]:
            for name in names:
                values[name].append(record.get(name) if isinstance(record, dict) else None)
    for name in names:
        column = values[name]
        if len(column) != table.num_rows or not any(map(_beyond_a_double, column)):
            continue
        texts = pa.array([None if v is None else dumps(v) for v in column], pa.string())
        field = pa.field(name, pa.string(), metadata={JSON_TEXT: b"1"})
        table = table.set_column(table.column_names.index(name), field, texts)
    return table


def _alike_json_text(*tables: pa.Table) -> list[pa.Table]:
    """The tables with every column that one holds as JSON text (``with_exact_amounts``)
    held so in all: an earlier fetch's exact amounts meet this one's doubles, or the other
    way round, and neither is read as text."""
    marked = {
        field.name
        for table in tables
        for field in table.schema
        if field.metadata and JSON_TEXT in field.metadata
    }
    alike = []
    for table in tables:
        for name in sorted(marked & set(table.column_names)):
            field = table.schema.field(name)
            if field.metadata and JSON_TEXT in field.metadata:
                continue
            values = table.column(name).to_pylist()
            texts = pa.array([None if v is None else dumps(v) for v in values], pa.string())
            marked_field = pa.field(name, pa.string(), metadata={JSON_TEXT: b"1"})
            table = table.set_column(table.column_names.index(name), marked_field, texts)
        alike.append(table)
    return alike


def _beyond_a_double(value: Any) -> bool:
    if isinstance(value, ExactNumber):
        return True
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53


class PageRecords:
    """The records of the pages of one walk, typed as each page arrived.

    The client types a page's records in the parse that finds its Ids, in the
    walk's threads while others wait for the API (pyarrow releases the
    interpreter lock), so the snapshot need not read the pages again at the end.
    A page that could not be typed that way gives the job back to
    ``records_table`` over the stored pages, which has the slower fallbacks.
    """

    def __init__(self, entity: Entity) -> None:
        self._declared = readers.typed_schema(entity)
        self._tables: list[pa.Table] = []
        self._usable = True

    def add(self, records: pa.Table | None, repeated: int = 0) -> None:
        """Keep a page's records (``Page.records``; None: it could not be typed), less its
        first ``repeated`` rows (fetched already); call in the order pages are stored."""
        if records is None:
            self._usable = False
            self._tables.clear()
        elif self._usable:
            self._tables.append(records.slice(repeated))

    def table(self) -> pa.Table | None:
        """All the pages' records, or None when ``records_table`` must do it.

        Keyset pages arrive from several Id ranges at once, each in Id order: put in
        order of their first Id, they are usually all the records in Id order already,
        which spares ``keep_last_by_id`` reordering a copy of every column.
        """
        if not self._usable:
            return None
        if not self._tables:
            return _empty(self._declared)
        tables = [t for t in self._tables if t.num_rows] or self._tables[:1]
        if tables[0].num_rows and all(
            pa.types.is_integer(t.schema.field("Id").type) for t in tables
        ):
            firsts = [t.column("Id")[0].as_py() for t in tables]
            if None not in firsts:
                ordered = [t for _, t in sorted(zip(firsts, tables, strict=True), key=_first)]
                # else arrival order, for keep_last_by_id to settle
                tables = ordered if _in_id_order(ordered) else tables
        try:
            return pa.concat_tables(tables, promote_options="permissive")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None  # a field typed differently in two pages


def _first(pair: tuple[int, pa.Table]) -> int:
    return pair[0]


def _in_id_order(tables: list[pa.Table]) -> bool:
    """Whether the tables' rows, one after the other, have Ids and never a smaller one."""
    ids = pa.chunked_array([t.column("Id").combine_chunks() for t in tables], pa.int64())
    if ids.null_count:
        return False
    values = ids.to_numpy()
    return bool(np.all(values[1:] >= values[:-1]))


def _typed(source: Path | pa.Buffer, declared: pa.Schema) -> pa.Table | None:
    envelopes = pages.typed_envelopes(source, declared)
    return None if envelopes is None else pages.records_of(envelopes, declared)


def keep_last_by_id(table: pa.Table) -> tuple[pa.Table, int]:
    """One row per Id (the last one), sorted by Id; rows without an integer Id are kept, last.

    Returns the table and how many rows were dropped.
    """
    if "Id" not in table.column_names or not pa.types.is_integer(table.schema.field("Id").type):
        return table, 0
    if table.num_rows and _in_id_order([table]):
        # Already in Id order (the usual keyset fetch): drop repeats, keeping the last of
        # each, with a filter, which is several times cheaper than reordering by a take.
        keys = table.column("Id").to_numpy()
        keep = np.ones(len(keys), dtype=bool)
        keep[:-1] = keys[:-1] != keys[1:]
        if keep.all():
            return table, 0
        return table.filter(pa.array(keep)), int(len(keys) - keep.sum())
    ids = table.column("Id")
    valid = ids.is_valid().to_numpy(zero_copy_only=False)
    keys = pc.fill_null(ids, 0).to_numpy(zero_copy_only=False).astype(np.int64)
    positions = np.arange(len(keys))
    # Group by Id, latest first; keep the first row of each group, and every row with no Id.
    order = np.lexsort((-positions, ~valid, keys))
    ordered_keys, ordered_valid = keys[order], valid[order]
    first = np.ones(len(order), dtype=bool)
    first[1:] = (ordered_keys[1:] != ordered_keys[:-1]) | ~ordered_valid[1:] | ~ordered_valid[:-1]
    kept = order[first | ~ordered_valid]
    kept = kept[np.lexsort((kept, keys[kept], ~valid[kept]))]
    return table.take(pa.array(kept)), len(keys) - len(kept)


def merge(existing: pa.Table, fresh: pa.Table, live_ids: set[int] | None = None) -> pa.Table:
    """``existing`` updated with ``fresh`` (upsert by Id), without the Ids not in ``live_ids``."""
    existing, fresh = _alike_json_text(existing, fresh)
    try:
        combined = pa.concat_tables([existing, fresh], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        combined = _from_python([*existing.to_pylist(), *fresh.to_pylist()])
    merged, _ = keep_last_by_id(combined)
    if live_ids is not None and "Id" in merged.column_names:
        alive = pc.is_in(merged.column("Id"), value_set=pa.array(sorted(live_ids), pa.int64()))
        merged = merged.filter(pc.fill_null(alive, False))
    return merged


@dataclass(frozen=True)
class Staged:
    """An entity's Parquet file written under a temporary name, waiting for ``commit``."""

    entity: Entity
    temporary: Path
    records: int
    sha256: str


def stage(out: Path, entity: Entity, table: pa.Table) -> Staged:
    """Write ``table`` as ``out/.STEM.parquet.tmp`` (renamed into place by ``commit``), its
    date-time columns typed (``stored_datetimes``: an audit then parses none of them)."""
    out.mkdir(parents=True, exist_ok=True)
    temporary = out / f".{entity.stem}.parquet.tmp"
    table = stored_datetimes.store(table, DATETIME_NAMES[entity])
    try:
        pq.write_table(table, temporary, compression="zstd")
        return Staged(entity, temporary, table.num_rows, sha256_file(temporary))
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def discard(staged: Iterable[Staged]) -> None:
    for item in staged:
        item.temporary.unlink(missing_ok=True)


def commit(
    out: Path, staged: list[Staged], manifest: dict[str, Any], stale: Iterable[Path] = ()
) -> dict[str, Any]:
    """Put the staged files and the manifest in place, all or nothing: the old manifest goes
    first, so no mix of old and new files ever looks like a whole snapshot. ``stale``: files
    of an earlier fetch for entities this one does not hold, removed with the old manifest."""
    try:
        for item in staged:
            manifest["entities"][item.entity.name].update(
                file=f"{item.entity.stem}.parquet", records=item.records, sha256=item.sha256
            )
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        (out / f".{MANIFEST}.tmp").write_text(text, encoding="utf-8")
    except BaseException:
        discard(staged)
        raise
    # From here on only renames.
    (out / MANIFEST).unlink(missing_ok=True)
    for path in stale:
        path.unlink(missing_ok=True)
    for item in staged:
        item.temporary.replace(out / f"{item.entity.stem}.parquet")
    (out / f".{MANIFEST}.tmp").replace(out / MANIFEST)
    return manifest


def write_snapshot(
    out: Path, tables: dict[Entity, pa.Table], manifest: dict[str, Any]
) -> dict[str, Any]:
    """Write each table as ``STEM.parquet`` and the manifest into ``out``, all or nothing."""
    staged: list[Staged] = []
    try:
        for entity, table in tables.items():
            staged.append(stage(out, entity, table))
    except BaseException:
        discard(staged)
        raise
    return commit(out, staged, manifest)


def _from_python(records: Iterable[dict[str, Any]]) -> pa.Table:
    """Records pyarrow could not type: mixed-type columns are stored as their JSON text."""
    raw = readers.records_to_table(list(records))
    arrays, fields = [], []
    for name, column in raw.columns.items():
        if isinstance(column, list):
            column = pa.array(
                [None if value is None else json.dumps(value) for value in column], pa.string()
            )
            fields.append(pa.field(name, pa.string(), metadata={JSON_TEXT: b"1"}))
        else:
            fields.append(pa.field(name, column.type))
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _empty(declared: pa.Schema) -> pa.Table:
    return declared.empty_table()
