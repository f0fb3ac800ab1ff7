"""Reading the previous close's bundle: checked, then its period, basis, closing and snapshot.

A previous bundle that is not a bundle, fails ``verify``, closed another month than the one
before, or used another basis, is a ``UsageError`` (exit 2) naming the problem.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ..closing import Basis, Period, Previous, parse_period
from ..closing.amounts import parse
from ..closing.rollforward import TOTAL
from ..config import load_ruleset
from ..errors import UsageError
from .manifest import MANIFEST, sha256_file

CLOSE_JSON = "close.json"


class BundleError(UsageError):
    """A bundle that cannot be read or verified (exit 2)."""


def read_close_json(bundle: Path, option: str) -> dict[str, Any]:
    path = bundle / CLOSE_JSON
    if not bundle.is_dir() or not (bundle / MANIFEST).is_file() or not path.is_file():
        raise BundleError(
            f"{option} '{bundle}' is not a close bundle (no {MANIFEST} and {CLOSE_JSON}); "
            "give a directory written by recon close"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        parse_period(document["period"], f"{option} {CLOSE_JSON} period")
        Basis(document["basis"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{option} '{bundle}': {CLOSE_JSON} cannot be read ({exc})") from exc
    return document


def read_previous(bundle: str | Path, period: Period, basis: Basis) -> Previous:
    """The close of the month before ``period`` in ``bundle``, verified."""
    from .verify import verify_files

    bundle = Path(bundle)
    document = read_close_json(bundle, "--previous")
    problem = verify_files(bundle)
    if problem is not None:
        raise BundleError(f"--previous '{bundle}' fails verify: {problem}")
    previous_period = parse_period(document["period"])
    if previous_period != period.preceding():
        raise BundleError(
            f"--previous '{bundle}' closed {previous_period}, not {period.preceding()}, the "
            f"month before --period {period}; give the close of {period.preceding()}"
        )
    if document["basis"] != basis.value:
        raise BundleError(
            f"--previous '{bundle}' was closed with --basis {document['basis']}, not "
            f"{basis.value}; close with the same basis"
        )
    return Previous(
        period=previous_period,
        basis=basis,
        sealed=_sealed(bundle),
        snapshot=bundle / "snapshot",
        rules=load_ruleset(bundle / "rules.toml"),
        manifest_sha256=sha256_file(bundle / MANIFEST),
    )


def _sealed(bundle: Path) -> dict[tuple[str, str], Any]:
    path = bundle / "rollforward.csv"
    sealed = {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                if row["business_id"] == TOTAL:
                    continue
                sealed[row["business_id"], row["currency"]] = parse(
                    row["closing"], f"{path}, line {number}"
                )
    except (OSError, KeyError, ValueError) as exc:
        raise BundleError(f"--previous '{bundle}': rollforward.csv cannot be read ({exc})") from exc
    return sealed
