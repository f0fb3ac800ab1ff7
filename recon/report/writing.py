"""Writing a run's outputs into a directory: all of them, or none.

Every file is first written into one staging directory inside the output
directory (same file system, so the moves are renames). Only when all are
written are they moved into place; the files they replace are kept aside until
every move has succeeded, and put back if one fails. recon's own outputs that
this run did not write (``report.html`` of an earlier run with every format,
beside a new ``--format json``) are removed, so nothing in the directory speaks
for another run; any other file is left alone. A staging directory left by a run
that died (killed, power lost) is removed by the next run into the same directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..errors import OutputError

STAGING_PREFIX = ".recon-staging-"


def write_atomically(
    out_dir: Path, contents: Mapping[str, str | bytes], *, owned: Iterable[str] = ()
) -> list[Path]:
    """Write every file of ``contents`` into ``out_dir``, all or none.

    ``owned`` names the files recon writes there: those of them this run did not write
    are removed once the new ones are in place. Returns the files written.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out '{out_dir}' is a file, not a directory; choose another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        remove_dead_staging(out_dir)
        staging = out_dir / f"{STAGING_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        staging.mkdir()
    except OSError as exc:
        raise OutputError(
            f"cannot write into report directory '{out_dir}': {exc.strerror or exc}; "
            "check its permissions or choose another --out"
        ) from exc
    try:
        new = staging / "new"
        new.mkdir()
        for name, text in contents.items():
            # os.open with 0o666 lets the umask decide permissions, as for any file the user writes.
            descriptor = os.open(new / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(text.encode("utf-8") if isinstance(text, str) else text)
        stale = [name for name in owned if name not in contents and (out_dir / name).is_file()]
        _swap_in(out_dir, staging, list(contents), stale)
    except OSError as exc:
        raise OutputError(
            f"cannot write reports into '{out_dir}': {exc.strerror or exc}; nothing was changed"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out_dir / name for name in contents]


def remove_dead_staging(out_dir: Path) -> None:
    """Remove staging directories of runs that are no longer running."""
    for path in out_dir.glob(f"{STAGING_PREFIX}*"):
        pid = path.name.removeprefix(STAGING_PREFIX).partition("-")[0]
        if pid.isdigit() and not _running(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _swap_in(out_dir: Path, staging: Path, names: list[str], stale: list[str]) -> None:
    """Move the staged files into place; on any failure put every replaced file back."""
    old = staging / "old"
    old.mkdir()
    moved_aside: list[str] = []
    placed: list[str] = []
    try:
        for name in [*names, *stale]:
            if (out_dir / name).is_file():
                (out_dir / name).replace(old / name)
                moved_aside.append(name)
        for name in names:
            (staging / "new" / name).replace(out_dir / name)
            placed.append(name)
    except OSError:
        for name in placed:
            (out_dir / name).unlink(missing_ok=True)
        for name in moved_aside:
            (old / name).replace(out_dir / name)
        raise


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True
