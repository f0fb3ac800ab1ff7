"""Search pages as Arrow: the envelope and its records, typed as the audit's loader types them.

One parse serves both the walk (Ids, ``TotalItems``) and the snapshot (the
records), for a page as it arrives or for a file of stored pages. Fields recon
declares get their declared types; others are inferred, but never as
timestamps: pyarrow turns ISO-looking strings into those, dropping their ``Z``
or offset, and a snapshot is evidence, so such a field stays the API's text.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.json as pajson

from .. import readers


def typed_envelopes(source: Path | pa.Buffer, declared: pa.Schema) -> pa.Table | None:
    """The page envelopes of ``source`` (one per line), or None when a record does not fit
    ``declared`` or two pages type a field differently."""
    envelopes = _read(source, declared)
    if envelopes is None:
        return None
    guessed = [
        pa.field(field.name, pa.string())
        for field in envelopes.schema.field("Records").type.value_type
        if field.name not in declared.names and readers.is_temporal(field.type)
    ]
    if guessed:
        envelopes = _read(source, pa.schema([*declared, *guessed]))
    return envelopes


def records_of(envelopes: pa.Table, declared: pa.Schema) -> pa.Table:
    """The records of every envelope, one table."""
    batches = [
        pa.RecordBatch.from_struct_array(chunk.flatten()) for chunk in envelopes["Records"].chunks
    ]
    return pa.Table.from_batches(batches) if batches else declared.empty_table()


def _read(source: Path | pa.Buffer, declared: pa.Schema) -> pa.Table | None:
    schema = pa.schema([("Records", pa.list_(pa.struct(list(declared))))])
    try:
        return pajson.read_json(
            source if isinstance(source, Path) else pa.BufferReader(source),
            read_options=pajson.ReadOptions(block_size=16 << 20),
            parse_options=pajson.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="infer"
            ),
        )
    except pa.ArrowInvalid:
        return None
