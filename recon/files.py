"""Reading files recon did not write: only regular files, never past a size limit.

A snapshot file, a manifest, a rule set or a waiver file may be a link to /dev/zero, a
FIFO, or gigabytes of something else: each is refused in one line before it is read
whole, the limit named with the environment variable that raises it.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import ReconError, SnapshotFileError

MAX_FILE_BYTES = 4 << 30
"""Default size limit of one snapshot file: ten million uses take about 2 GiB as JSON Lines."""
MAX_FILE_BYTES_VARIABLE = "RECON_MAX_FILE_BYTES"
"""The environment variable that sets another limit, in bytes."""


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
                raise error(too_large(path, total, limit, variable))
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
        raise error(too_large(path, status.st_size, limit, variable))
    # O_NONBLOCK: should the file be swapped for a FIFO after the check, opening cannot hang.
    handle = os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise error(f"{path}: is not a regular file; copy the data into a file")
    return handle


def too_large(path: Path, size: int, limit: int, variable: str) -> str:
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
