"""Snapshot directories: which file holds each entity, its fingerprint, and the manifest.

A snapshot (contract section 2) is a directory holding, for each entity, at
most one file ``STEM.json``, ``STEM.jsonl`` or ``STEM.parquet``, and, when
``recon fetch`` wrote it, ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .entities import ENTITIES, Entity
from .errors import SnapshotError, SnapshotFileError
from .files import (
    MAX_FILE_BYTES_VARIABLE,
    file_limit,
    read_capped,
    regular_file,
    too_large,
)

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
    names = _names(directory)
    for entity in ENTITIES:
        found = [directory / f"{entity.stem}.{fmt}" for fmt in FORMATS]
        # lexists: a broken link is a file that is there and cannot be read, not an absence.
        found = [path for path in found if os.path.lexists(path)]
        # A file named like the entity but for its case (CoworkerBookingCredits.json) is
        # not read: say so rather than audit without it, or beside its twin.
        wanted = {f"{entity.stem}.{fmt}" for fmt in FORMATS}
        cased = sorted(name for name in names if name.lower() in wanted and name not in wanted)
        if cased:
            what = f"{cased[0]} differs from {entity.stem}.{cased[0].rsplit('.', 1)[-1].lower()}"
            raise SnapshotError(
                f"snapshot '{directory}': {what} only in case; file names are lower case "
                f"(the API path of {entity.name}): rename it"
                + (" or remove one of the two" if found else "")
            )
        if len(found) > 1:
            names = " and ".join(path.name for path in found)
            raise SnapshotError(
                f"snapshot '{directory}' has both {names} for {entity.name}; keep only one"
            )
        if found:
            size = regular_file(found[0], SnapshotFileError).st_size
            if size > file_limit():
                raise SnapshotFileError(
                    too_large(found[0], size, file_limit(), MAX_FILE_BYTES_VARIABLE)
                )
            files[entity] = SnapshotFile(entity, found[0], found[0].suffix[1:])
        elif require and entity.required:
            raise SnapshotError(
                f"snapshot '{directory}' has no {entity.stem}.json, .jsonl or .parquet "
                f"({entity.name} is required)"
            )
    return files


def _names(directory: Path) -> list[str]:
    try:
        return [entry.name for entry in os.scandir(directory)]
    except OSError as exc:
        raise SnapshotError(
            f"snapshot '{directory}' cannot be listed: {exc.strerror or exc}"
        ) from exc


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The snapshot's manifest, or None when it has none."""
    path = directory / MANIFEST
    if not os.path.lexists(path):
        return None
    try:
        manifest = json.loads(
            b"".join(read_capped(path)).decode("utf-8"),
            parse_constant=_not_json,
            parse_float=_finite_float,
        )
    except OSError as exc:
        raise SnapshotFileError(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SnapshotFileError(f"{path}: is not UTF-8 text; restore the manifest") from exc
    except RecursionError as exc:
        raise SnapshotFileError(f"{path}: nests too deep to read; restore the manifest") from exc
    except json.JSONDecodeError as exc:
        raise SnapshotFileError(
            f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}; restore the manifest"
        ) from exc
    except ValueError as exc:  # NaN, 1e400, an integer over Python's 4,300-digit limit
        raise SnapshotFileError(f"{path}: {exc}; restore the manifest") from exc
    if not isinstance(manifest, dict):
        raise SnapshotFileError(f"{path}: is not a JSON object; restore the manifest")
    if _depth(manifest) > MANIFEST_DEPTH:
        raise SnapshotFileError(f"{path}: nests deeper than a manifest does; restore it")
    try:
        # The manifest is copied into findings.json and the reports: it must be Unicode text.
        json.dumps(manifest, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SnapshotFileError(
            f"{path}: holds a lone UTF-16 surrogate escape, which is not Unicode text; "
            "restore the manifest"
        ) from exc
    return manifest


MANIFEST_DEPTH = 16
"""How deep a manifest's values may nest (recon fetch writes four levels)."""


def _not_json(token: str) -> None:
    raise ValueError(f"holds {token}, which is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"holds the number {text[:30]}, beyond any float")
    return value


def _depth(value: Any) -> int:
    depth, level = 0, [value]
    while level := [item for item in level if isinstance(item, dict | list)]:
        depth += 1
        if depth > MANIFEST_DEPTH:
            break
        level = [
            child for item in level for child in (item.values() if isinstance(item, dict) else item)
        ]
    return depth


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
