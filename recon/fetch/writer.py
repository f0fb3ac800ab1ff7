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
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from .. import readers
from ..entities import Entity
from ..snapshot import JSON_TEXT, MANIFEST, sha256_file


def records_table(pages: Path, entity: Entity) -> pa.Table:
    """The records of every stored page of ``entity``, as one Arrow table."""
    for declared in (readers.typed_schema(entity), readers.text_schema(entity)):
        table = _read_pages(pages, declared)
        if table is None:
            continue  # a value not of its declared type, or types that differ across pages
        # pyarrow turns ISO-looking strings of fields we do not declare into timestamps,
        # dropping their Z or offset; the snapshot is evidence, so they stay the API's text.
        guessed = [
            pa.field(field.name, pa.string())
            for field in table.schema
            if field.name not in declared.names and readers.is_temporal(field.type)
        ]
        if guessed:
            table = _read_pages(pages, pa.schema([*declared, *guessed]))
            if table is None:
                continue
        return table
    return _from_python(
        record
        for line in pages.read_bytes().splitlines()
        if line.strip()
        for record in json.loads(line)["Records"]
    )


def _read_pages(pages: Path, declared: pa.Schema) -> pa.Table | None:
    schema = pa.schema([("Records", pa.list_(pa.struct(list(declared))))])
    try:
        envelopes = pajson.read_json(
            pages,
            read_options=pajson.ReadOptions(block_size=16 << 20),
            parse_options=pajson.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="infer"
            ),
        )
    except pa.ArrowInvalid:
        return None
    batches = [
        pa.RecordBatch.from_struct_array(chunk.flatten()) for chunk in envelopes["Records"].chunks
    ]
    return pa.Table.from_batches(batches) if batches else _empty(declared)


def keep_last_by_id(table: pa.Table) -> tuple[pa.Table, int]:
    """One row per Id (the last one), sorted by Id; rows without an integer Id are kept, last.

    Returns the table and how many rows were dropped.
    """
    if "Id" not in table.column_names or not pa.types.is_integer(table.schema.field("Id").type):
        return table, 0
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
    try:
        combined = pa.concat_tables([existing, fresh], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        combined = _from_python([*existing.to_pylist(), *fresh.to_pylist()])
    merged, _ = keep_last_by_id(combined)
    if live_ids is not None and "Id" in merged.column_names:
        alive = pc.is_in(merged.column("Id"), value_set=pa.array(sorted(live_ids), pa.int64()))
        merged = merged.filter(pc.fill_null(alive, False))
    return merged


def write_snapshot(
    out: Path, tables: dict[Entity, pa.Table], manifest: dict[str, Any]
) -> dict[str, Any]:
    """Write each table as ``STEM.parquet`` and the manifest into ``out``, all or nothing."""
    out.mkdir(parents=True, exist_ok=True)
    staged = []
    try:
        for entity, table in tables.items():
            temporary = out / f".{entity.stem}.parquet.tmp"
            pq.write_table(table, temporary, compression="zstd")
            manifest["entities"][entity.name].update(
                file=f"{entity.stem}.parquet", records=table.num_rows, sha256=sha256_file(temporary)
            )
            staged.append((temporary, out / f"{entity.stem}.parquet"))
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        (out / f".{MANIFEST}.tmp").write_text(text, encoding="utf-8")
    except BaseException:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise
    # From here on only renames: the old snapshot stops looking whole first.
    (out / MANIFEST).unlink(missing_ok=True)
    for temporary, final in staged:
        temporary.replace(final)
    (out / f".{MANIFEST}.tmp").replace(out / MANIFEST)
    return manifest


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
