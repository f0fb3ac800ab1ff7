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
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .entities import ENTITIES, Entity
from .errors import ReconError, SnapshotError, SnapshotFileError

FORMATS: tuple[str, ...] = ("json", "jsonl", "parquet")
MANIFEST = "manifest.json"
UNFINISHED_FETCH = ".recon-fetch"
"""Where recon fetch keeps the pages of a fetch until the snapshot is complete."""
MAX_FILE_BYTES = 4 << 30
"""Default size limit of one snapshot file: ten million uses take about 2 GiB as JSON Lines."""
MAX_FILE_BYTES_VARIABLE = "RECON_MAX_FILE_BYTES"
"""The environment variable that sets another limit, in bytes."""
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
        # lexists: a broken link is a file that is there and cannot be read, not an absence.
        found = [path for path in found if os.path.lexists(path)]
        if len(found) > 1:
            names = " and ".join(path.name for path in found)
            raise SnapshotError(
                f"snapshot '{directory}' has both {names} for {entity.name}; keep only one"
            )
        if found:
            size = regular_file(found[0], SnapshotFileError).st_size
            if size > file_limit():
                raise SnapshotFileError(
                    _too_large(found[0], size, file_limit(), MAX_FILE_BYTES_VARIABLE)
                )
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


def file_limit(variable: str = MAX_FILE_BYTES_VARIABLE, default: int = MAX_FILE_BYTES) -> int:
    """The size limit in bytes set by the environment ``variable``, else ``default``."""
    text = os.environ.get(variable)
    if text is None or not text.strip():
        return default
    try:
        limit = int(text)
    except ValueError:
        limit = 0
    if limit < 1:
        raise ReconError(f"{variable}={text!r} is not a size in bytes; unset it or give one")
    return limit


def regular_file(path: Path, error: type[ReconError]) -> os.stat_result:
    """The status of ``path`` (links followed); ``error`` unless it is a regular file.

    Devices (a link to /dev/zero), FIFOs and sockets would be read without end or
    block forever, so they are refused before they are opened.
    """
    try:
        status = path.stat()
    except FileNotFoundError as exc:
        if path.is_symlink():
            raise error(f"{path}: is a link to nothing ({path.readlink()}); restore it") from exc
        raise error(f"{path}: does not exist") from exc
    except OSError as exc:
        raise error(f"{path}: cannot be read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(status.st_mode):
        raise error(
            f"{path}: is {_kind_of(status.st_mode)}, not a regular file; "
            "copy the data into a file and run again"
        )
    return status


def _kind_of(mode: int) -> str:
    kinds = {
        stat.S_ISDIR: "a directory",
        stat.S_ISFIFO: "a FIFO (named pipe)",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a regular file")


def read_capped(
    path: Path,
    chunk: int = 1 << 20,
    *,
    error: type[ReconError] = SnapshotFileError,
    limit: int | None = None,
    variable: str = MAX_FILE_BYTES_VARIABLE,
) -> Iterator[bytes]:
    """The bytes of the regular file ``path``, ``chunk`` at a time, refused past ``limit``
    (default: ``file_limit()``) with an ``error`` that names the limit and ``variable``."""
    limit = file_limit() if limit is None else limit
    with open_capped(path, error=error, limit=limit, variable=variable) as handle:
        total = 0
        while block := handle.read(chunk):
            total += len(block)
            if total > limit:
                raise error(_too_large(path, total, limit, variable))
            yield block


def open_capped(
    path: Path,
    *,
    error: type[ReconError] = SnapshotFileError,
    limit: int | None = None,
    variable: str = MAX_FILE_BYTES_VARIABLE,
) -> BinaryIO:
    """The regular file ``path`` opened for reading, refused (``error``) when it is not a
    regular file or is over ``limit`` bytes (default: ``file_limit()``); a caller that
    reads on past the size it had now checks ``limit`` itself."""
    limit = file_limit() if limit is None else limit
    status = regular_file(path, error)
    if status.st_size > limit:
        raise error(_too_large(path, status.st_size, limit, variable))
    # O_NONBLOCK: should the file be swapped for a FIFO after the check, opening cannot hang.
    handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise error(f"{path}: is not a regular file; copy the data into a file")
    return handle


def _too_large(path: Path, size: int, limit: int, variable: str) -> str:
    return (
        f"{path}: holds {_bytes(size)} or more, over recon's limit of {_bytes(limit)} for this "
        f"file; set {variable} to a larger number of bytes to read it"
    )


def _bytes(count: int) -> str:
    """``count`` exactly, and roughly in the largest binary unit it reaches."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count:,} bytes ({count / scale:.1f} {unit})"
    return f"{count:,} bytes"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
