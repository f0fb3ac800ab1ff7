"""``manifest-sha256.txt``: the SHA-256 of every file of a bundle, as ``sha256sum -c`` reads it.

One line per file, ``<sha256>  <path>`` (two spaces: binary-safe text mode of coreutils),
paths relative to the bundle with ``/``, sorted by path; the manifest does not list itself.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

MANIFEST = "manifest-sha256.txt"
_LINE = re.compile(r"([0-9a-f]{64})  (\S.*)")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_of(directory: Path) -> list[str]:
    """Every file under ``directory`` but the manifest, as sorted relative paths."""
    found = [
        path.relative_to(directory).as_posix()
        for path in directory.rglob("*")
        if path.is_file() or path.is_symlink()
    ]
    return sorted(name for name in found if name != MANIFEST)


def manifest_text(directory: Path) -> str:
    return "".join(f"{sha256_file(directory / name)}  {name}\n" for name in files_of(directory))


def parse_manifest(text: str) -> tuple[dict[str, str], str | None]:
    """The hash of each listed path, and the first problem with the text (None when fine)."""
    listed: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.fullmatch(line)
        if not match:
            return listed, f"{MANIFEST}: line {number} is not '<sha256>  <path>'"
        if match.group(2) in listed:
            return listed, f"{MANIFEST}: '{match.group(2)}' is listed twice"
        listed[match.group(2)] = match.group(1)
    return listed, None
