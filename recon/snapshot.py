"""Snapshot directories: which file holds each entity, its fingerprint, and the manifest.

A snapshot (contract section 2) is a directory holding, for each entity, at
most one file ``STEM.json``, ``STEM.jsonl`` or ``STEM.parquet``, and, when
``recon fetch`` wrote it, ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .entities import ENTITIES, Entity
from .errors import SnapshotError, SnapshotFileError

FORMATS: tuple[str, ...] = ("json", "jsonl", "parquet")
MANIFEST = "manifest.json"
UNFINISHED_FETCH = ".recon-fetch"
"""Where recon fetch keeps the pages of a fetch until the snapshot is complete."""
JSON_TEXT = b"recon.json_text"
"""Parquet field metadata key marking a column whose values had mixed JSON types (a number
here, a string there), which no Parquet type holds: it stores each value's JSON text."""


@dataclass(frozen=True)
class SnapshotFile:
    """The file that holds one entity in a snapshot."""

    entity: Entity
    path: Path
    format: str

    @property
    def name(self) -> str:
        return self.path.name


def locate(
    directory: Path, *, purpose: str = "audit", require: bool = True
) -> dict[Entity, SnapshotFile]:
    """The file of each entity present in ``directory``; with ``require``, the required
    ones must be there. ``purpose`` completes the error messages ("give the directory
    to audit")."""
    if not directory.exists():
        raise SnapshotError(
            f"snapshot '{directory}' does not exist; give the directory to {purpose}"
        )
    if not directory.is_dir():
        raise SnapshotError(
            f"snapshot '{directory}' is not a directory; give the directory to {purpose}"
        )
    files = {}
    for entity in ENTITIES:
        found = [directory / f"{entity.stem}.{fmt}" for fmt in FORMATS]
        found = [path for path in found if path.exists()]
        if len(found) > 1:
            names = " and ".join(path.name for path in found)
            raise SnapshotError(
                f"snapshot '{directory}' has both {names} for {entity.name}; keep only one"
            )
        if found:
            files[entity] = SnapshotFile(entity, found[0], found[0].suffix[1:])
        elif require and entity.required:
            raise SnapshotError(
                f"snapshot '{directory}' has no {entity.stem}.json, .jsonl or .parquet "
                f"({entity.name} is required)"
            )
    return files


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The snapshot's manifest, or None when it has none."""
    path = directory / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotFileError(f"{path}: cannot be read: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise SnapshotFileError(
            f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}; restore the manifest"
        ) from exc
    if not isinstance(manifest, dict):
        raise SnapshotFileError(f"{path}: is not a JSON object; restore the manifest")
    return manifest


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
