"""Loading a snapshot: each file read, typed, placed in its location's time and validated.

Date-times are compared in the wall clock of the credit's location, so the
loader needs to know where each record is: a credit where its ``BusinessId``
is, a booking-credit use where its credit is, an allowance where its
``BusinessId`` (a free field) is, an extra-service use where its allowance is.
Records whose location cannot be found use the rule set's default zone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from . import readers, schemas
from .config import RuleSet
from .datetimes import Zones
from .entities import ALLOWANCE, CREDIT, ENTITIES, Entity
from .errors import SnapshotError
from .snapshot import MANIFEST, UNFINISHED_FETCH, SnapshotFile, locate, read_manifest, sha256_file


@dataclass(frozen=True)
class Snapshot:
    """A loaded snapshot: the typed records of each entity present, and where they came from."""

    path: Path
    files: dict[Entity, SnapshotFile]
    entities: dict[Entity, schemas.TypedEntity]
    manifest: dict[str, Any] | None
    fingerprints: dict[Entity, Future[str]]
    """The SHA-256 of each entity's file, computed in the background: see ``sha256``."""

    def __contains__(self, entity: object) -> bool:
        return entity in self.entities

    def __getitem__(self, entity: Entity) -> schemas.TypedEntity:
        return self.entities[entity]

    def sha256(self, entity: Entity) -> str:
        """The SHA-256 of ``entity``'s file (waits for it if it is still being computed)."""
        return self.fingerprints[entity].result()

    def check_manifest(self) -> None:
        """Raise unless every file is the one ``recon fetch`` recorded in the manifest."""
        if self.manifest is None:
            return
        recorded = self.manifest.get("entities")
        if not isinstance(recorded, dict):
            raise SnapshotError(
                f"snapshot '{self.path}': {MANIFEST} lists no entities; fetch again"
            )
        entries = {
            name: _manifest_entry(self.path, name, entry) for name, entry in recorded.items()
        }
        for entity, file in self.files.items():
            entry = entries.get(entity.name, {})
            if entry.get("file") != file.name:
                raise SnapshotError(
                    f"snapshot '{self.path}': {file.name} is not the file its {MANIFEST} records "
                    f"for {entity.name}; fetch again or remove the file"
                )
            if entry.get("sha256") != self.sha256(entity):
                raise SnapshotError(
                    f"snapshot '{self.path}': {file.name} has changed since recon fetch wrote it "
                    f"(its SHA-256 differs from {MANIFEST}); fetch again or restore the file"
                )
        for name, entry in entries.items():
            listed = entry.get("file")
            if listed and not os.path.lexists(self.path / listed):
                raise SnapshotError(
                    f"snapshot '{self.path}': {listed}, listed in {MANIFEST} for {name}, "
                    "is missing; fetch again or restore it"
                )

    def frame(self, entity: Entity) -> pd.DataFrame:
        """The typed records of ``entity`` (Arrow dtypes, date-times in local wall clock)."""
        return self.entities[entity].frame


def _manifest_entry(path: Path, name: str, entry: Any) -> dict[str, Any]:
    """A manifest's entry for one entity, checked to be what recon fetch writes."""
    where = f"snapshot '{path}': {MANIFEST}"
    if not isinstance(entry, dict):
        raise SnapshotError(f"{where} entry for {name} is not an object; fetch again")
    for key in ("file", "sha256"):
        if key not in entry:
            raise SnapshotError(f"{where} entry for {name} has no '{key}'; fetch again")
        value = entry[key]
        if not isinstance(value, str) or not value or (key == "file" and _not_a_name(value)):
            raise SnapshotError(
                f"{where} entry for {name} has '{key}' = {json.dumps(value)[:60]}, not a "
                f"{'file name' if key == 'file' else 'SHA-256'}; fetch again"
            )
    return entry


def _not_a_name(value: str) -> bool:
    """Whether ``value`` is not a plain file name in the snapshot directory."""
    return value in (".", "..") or "/" in value or "\\" in value or "\0" in value


def load_snapshot(
    path: str | Path,
    ruleset: RuleSet,
    *,
    block_size: int | None = None,
    only: Collection[Entity] | None = None,
    fields: Mapping[Entity, Collection[str]] | None = None,
) -> Snapshot:
    """Read, type and validate every entity file of the snapshot directory ``path``.

    ``block_size`` is how many bytes of a JSON Lines file are read at a time
    (default ``readers.JSONL_BLOCK``). ``only`` loads just those entities, and ``fields``
    keeps of each entity only those fields and its required ones, dropping the rest as soon
    as a file is read: a previous close's snapshot is held beside the one being closed and
    needs neither the other entities nor most free text.
    """
    path = Path(path)
    manifest = read_manifest(path) if path.is_dir() else None
    if manifest is None and (path / UNFINISHED_FETCH).exists():
        raise SnapshotError(
            f"snapshot '{path}' holds an unfinished fetch ({UNFINISHED_FETCH}/) and no {MANIFEST}; "
            "run the same recon fetch again to finish it"
        )
    files = locate(path)
    if only is not None:
        files = {entity: file for entity, file in files.items() if entity in only}
    # Each file is hashed in one background thread once it has been read (it is then in
    # the page cache): the hash overlaps the single-threaded stages that follow instead
    # of competing with the readers, which use every core.
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-sha256")
    coerced, fingerprints = {}, {}
    try:
        for entity in ENTITIES:
            if entity in files:
                wanted = None if fields is None else fields.get(entity, ())
                raw = readers.read(files[entity], block_size=block_size, fields=wanted)
                fingerprints[entity] = hasher.submit(sha256_file, files[entity].path)
                coerced[entity] = schemas.coerce(entity, raw, z_is_local=ruleset.z_is_local)
                del raw  # the typed columns replace the text read: not both in memory
    finally:
        hasher.shutdown(wait=False)
    zones = _zones(coerced, ruleset)
    for entity, data in coerced.items():
        schemas.localise_datetimes(data, zones[entity])
    typed = {entity: schemas.validate(data) for entity, data in coerced.items()}
    return Snapshot(
        path=path, files=files, entities=typed, manifest=manifest, fingerprints=fingerprints
    )


def _zones(coerced: dict[Entity, schemas.CoercedEntity], ruleset: RuleSet) -> dict[Entity, Zones]:
    """The time zone of every record of every entity."""
    if not ruleset.zones:
        return {
            entity: Zones.uniform(data.num_rows, ruleset.default_zone)
            for entity, data in coerced.items()
        }
    business = {
        entity: _int_column(coerced[entity], "BusinessId")
        for entity in (CREDIT, ALLOWANCE)
        if entity in coerced
    }
    # A use is where its parent is (entities.py declares each use history's parent).
    for entity in ENTITIES:
        if entity.parent is None or entity not in coerced:
            continue
        foreign_key, parent = entity.parent.key, entity.parent.entity
        if parent in coerced:
            parent_business = pd.Series(
                business[parent].to_numpy(), index=_int_column(coerced[parent], "Id")
            )
            parent_business = parent_business[~parent_business.index.duplicated(keep="first")]
            business[entity] = _int_column(coerced[entity], foreign_key).map(parent_business)
        else:
            business[entity] = pd.Series(
                pd.NA, index=range(coerced[entity].num_rows), dtype="Int64"
            )
    return {entity: ruleset.zones_of(business[entity]) for entity in coerced}


def _int_column(data: schemas.CoercedEntity, name: str) -> pd.Series:
    """A column as pandas Int64; a free field that is not integer-typed is all null."""
    column = data.columns.get(name)
    if column is None or not pa.types.is_integer(column.type):
        return pd.Series(pd.NA, index=range(data.num_rows), dtype="Int64")
    return pd.Series(pd.arrays.ArrowExtensionArray(column)).astype("Int64")
