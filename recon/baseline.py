"""Findings over time: an earlier run's findings as the baseline of this one.

``--baseline OLD`` names an earlier ``findings.json``, or a directory holding one (a
report directory, or the evidence bundle of ``recon close``). Each finding of this run
is then ``new`` (its fingerprint is not in the baseline), ``unchanged`` (it is, with the
same ``expected`` and ``actual``) or ``updated`` (it is, with other values: a difference
that grew, say); the fingerprints of the baseline's findings that are gone are
``resolved``. ``first_seen`` is the ``as_of`` of the earliest run a finding was seen in:
the baseline's own ``first_seen`` when it has one, else the baseline's ``as_of``, and this
run's ``as_of`` for a new finding; so it is carried from run to run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import UsageError
from .findings import json_value
from .moments import parse_moment

FINDINGS_FILE = "findings.json"
MAX_BYTES = 2 * 1024**3
"""A baseline larger than this is refused rather than read into memory."""


class Change(StrEnum):
    NEW = "new"
    UNCHANGED = "unchanged"
    UPDATED = "updated"


@dataclass(frozen=True)
class Baseline:
    """An earlier run's findings, by fingerprint."""

    path: Path
    as_of: str
    values: dict[str, tuple[str, str]]
    """Fingerprint -> (expected, actual) as JSON text, to compare exactly."""
    first_seen: dict[str, str]

    @property
    def fingerprints(self) -> set[str]:
        return set(self.values)


def load_baseline(
    path: str | Path, name: str = "baseline", *, before: pd.Timestamp | None = None
) -> Baseline:
    """The baseline in ``path`` (a findings.json, or a directory with one); ``name`` is how
    the user gave it, for the error line. With ``before`` (this run's as-of), one from a
    later run is refused (``require_earlier``)."""
    given = Path(path)
    file = given / FINDINGS_FILE if given.is_dir() else given
    if not file.is_file():
        raise UsageError(
            f"{name} '{given}' is not a findings.json nor a directory holding one; give the "
            "findings.json (or report directory, or close bundle) of an earlier run"
        )
    if file.stat().st_size > MAX_BYTES:
        raise UsageError(f"{name} '{file}' is larger than {MAX_BYTES:,} bytes; give a smaller one")
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise UsageError(f"{name} '{file}' is not a readable findings.json: {exc}") from exc
    summary = document.get("summary") if isinstance(document, dict) else None
    found = document.get("findings") if isinstance(document, dict) else None
    if not isinstance(summary, dict) or not isinstance(found, list):
        raise UsageError(f"{name} '{file}' is not a findings.json (no summary and findings)")
    as_of = summary.get("as_of")
    if not isinstance(as_of, str):
        raise UsageError(f"{name} '{file}' has no as_of in its summary; is it recon's?")
    values, first_seen = {}, {}
    for index, finding in enumerate(found):
        fingerprint = finding.get("fingerprint") if isinstance(finding, dict) else None
        if not isinstance(fingerprint, str):
            raise UsageError(
                f"{name} '{file}': finding {index + 1} has no fingerprint; it was written by "
                "a recon before fingerprints (0.1): run that audit again with this recon"
            )
        values[fingerprint] = (_text(finding.get("expected")), _text(finding.get("actual")))
        seen = finding.get("first_seen")
        first_seen[fingerprint] = seen if isinstance(seen, str) else as_of
    baseline = Baseline(file, as_of, values, first_seen)
    if before is not None:
        require_earlier(baseline, before, name)
    return baseline


def require_earlier(baseline: Baseline, as_of: pd.Timestamp, name: str = "baseline") -> None:
    """Refuse a baseline whose run is later than this one's ``as_of``: its findings are not
    this run's history, and every finding it knows would be first seen after this run
    (an old snapshot audited against this month's findings.json, by mistake). A baseline
    of the same moment is a run again, and holds."""
    try:
        then = parse_moment(baseline.as_of, "as_of")
    except UsageError:
        raise UsageError(
            f"{name} '{baseline.path}': its summary's as_of '{baseline.as_of}' is not a "
            "date-time; is it recon's?"
        ) from None
    if then > as_of:
        raise UsageError(
            f"{name} '{baseline.path}' is of a run as of {baseline.as_of}, later than this "
            f"run's as-of {as_of.strftime('%Y-%m-%dT%H:%M:%SZ')}; give an earlier run's "
            "findings.json, or a later --as-of"
        )


def compare(
    found: pd.DataFrame, baseline: Baseline | None, as_of: str
) -> tuple[pd.Series, pd.Series, list[str]]:
    """Each finding's change against ``baseline`` (None without one), its ``first_seen``,
    and the baseline fingerprints that are resolved."""
    prints = found["fingerprint"].to_numpy(dtype=object)
    if baseline is None:
        empty = pd.Series([None] * len(found), index=found.index, dtype=object)
        return empty, pd.Series([as_of] * len(found), index=found.index, dtype=object), []
    known = np.array([fingerprint in baseline.values for fingerprint in prints], dtype=bool)
    # The frame holds expected/actual as the JSON text _text writes (findings.as_json_text:
    # the same dumps), null as NA: compared as they are, not parsed and written again.
    now = zip(_as_text(found["expected"]), _as_text(found["actual"]), strict=True)
    same = np.array(
        [
            is_known and baseline.values[fingerprint] == values
            for fingerprint, is_known, values in zip(prints, known, now, strict=True)
        ],
        dtype=bool,
    )
    change = np.where(
        ~known, Change.NEW.value, np.where(same, Change.UNCHANGED.value, Change.UPDATED.value)
    )
    first = [baseline.first_seen.get(fingerprint, as_of) for fingerprint in prints]
    resolved = sorted(baseline.fingerprints - set(prints))
    return (
        pd.Series(change, index=found.index, dtype=object),
        pd.Series(first, index=found.index, dtype=object),
        resolved,
    )


def _as_text(column: pd.Series) -> list[str]:
    return column.astype(object).fillna(_NULL).tolist()


_NULL = "null"


def _text(value: Any) -> str:
    """``value`` as findings.as_json_text writes it. The common kinds directly: json.dumps
    writes None, a bool, an int and a finite float exactly so, and a 100,000-finding
    baseline calls this 200,000 times."""
    if value is None:
        return _NULL
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int or (kind is float and math.isfinite(value)):
        return repr(value)
    return json.dumps(json_value(value), sort_keys=True, ensure_ascii=False)
