"""``recon verify``: does a bundle still hold what its close wrote?

- every file is listed in ``manifest-sha256.txt`` with its hash, and nothing else is
  there (the first difference, by path, is named);
- with a previous bundle: that one verifies too, and this bundle's ``close.json`` records
  the SHA-256 of its manifest (the chain);
- with ``rederive``: closing again from the bundle's own snapshot and rules (and the
  previous bundle, for a chained close) into a temporary directory gives every file
  byte for byte.

Exit 0 verified, 1 a difference, 2 could not verify (``BundleError``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..exitcodes import ExitCode
from .manifest import MANIFEST, files_of, parse_manifest, sha256_file
from .previous import BundleError, read_close_json


@dataclass(frozen=True)
class Verification:
    """What ``verify`` found: ``problem`` is the first difference (None when verified)."""

    bundle: Path
    files: int
    problem: str | None
    chained: bool
    rederived: bool

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.OK if self.problem is None else ExitCode.FINDINGS

    @property
    def verified(self) -> bool:
        return self.problem is None


def verify(
    bundle: str | Path, *, previous: str | Path | None = None, rederive: bool = False
) -> Verification:
    """Verify the bundle ``bundle`` (see the module); raises ``BundleError`` when it cannot."""
    bundle = Path(bundle)
    document = read_close_json(bundle, "BUNDLE")
    listed = _listed(bundle)

    def found(problem: str | None) -> Verification:
        return Verification(bundle, len(listed), problem, previous is not None, rederive)

    problem = verify_files(bundle)
    if problem is not None:
        return found(problem)
    if previous is not None:
        previous = Path(previous)
        read_close_json(previous, "--previous")
        problem = verify_files(previous)
        if problem is not None:
            return found(f"the previous bundle '{previous}' differs: {problem}")
        recorded = (document.get("previous") or {}).get("manifest_sha256")
        actual = sha256_file(previous / MANIFEST)
        if recorded != actual:
            return found(
                f"close.json: the chain is broken: it records the previous manifest as "
                f"{recorded or 'none'}, but '{previous}/{MANIFEST}' has SHA-256 {actual}"
            )
    if rederive:
        if document.get("previous") and previous is None:
            raise BundleError(
                f"'{bundle}' was closed with --previous; give --previous PREV_BUNDLE to rederive it"
            )
        return found(_rederive(bundle, document, previous))
    return found(None)


def verify_files(bundle: Path) -> str | None:
    """The first file that differs from the manifest (by path), or None."""
    listed_hashes, problem = parse_manifest(_manifest_text(bundle))
    if problem is not None:
        return problem
    present = set(files_of(bundle))
    for name in sorted(present | set(listed_hashes)):
        if name not in present:
            return f"{name}: listed in {MANIFEST} but missing (removed)"
        if name not in listed_hashes:
            return f"{name}: not listed in {MANIFEST} (added)"
        if sha256_file(bundle / name) != listed_hashes[name]:
            return f"{name}: its SHA-256 differs from {MANIFEST} (changed)"
    return None


def _manifest_text(bundle: Path) -> str:
    try:
        return (bundle / MANIFEST).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"'{bundle}': {MANIFEST} cannot be read ({exc})") from exc


def _listed(bundle: Path) -> dict[str, str]:
    return parse_manifest(_manifest_text(bundle))[0]


def _rederive(bundle: Path, document: dict, previous: Path | None) -> str | None:
    from .write import BASELINE_FILE, RULES_FILE, SNAPSHOT_DIR, WAIVERS_FILE, close

    verdict = document.get("verdict") or {}

    with tempfile.TemporaryDirectory(prefix="recon-rederive-") as scratch:
        again = Path(scratch) / "bundle"
        close(
            bundle / SNAPSHOT_DIR,
            period=document["period"],
            out=again,
            previous=previous,
            rules=bundle / RULES_FILE,
            basis=document["basis"],
            fail_on=verdict.get("fail_on", "error"),
            waivers=bundle / WAIVERS_FILE if (bundle / WAIVERS_FILE).is_file() else None,
            baseline=bundle / BASELINE_FILE if (bundle / BASELINE_FILE).is_file() else None,
            fail_on_new=verdict.get("only_new") is True,
        )
        # The manifest last: a difference in it follows from one in a file it lists.
        names = [*sorted(set(files_of(bundle)) | set(files_of(again))), MANIFEST]
        for name in names:
            mine, theirs = bundle / name, again / name
            if not theirs.exists():
                return f"{name}: closing again does not write it"
            if not mine.exists():
                return f"{name}: closing again writes it, but the bundle lacks it"
            if mine.read_bytes() != theirs.read_bytes():
                return f"{name}: closing again gives other bytes"
    return None
