"""``recon close``: audit a snapshot as of a period end, close the period, write the bundle.

The bundle is built in a staging directory beside ``--out`` (same file system) and renamed
into place last: an interrupted close leaves no directory that looks complete. The
snapshot is copied into the staging directory first and audited *there*, under the rule
set written beside it, so what the bundle holds is exactly what was audited and a close
made again from the bundle (``recon verify --rederive``) sees the same names and bytes.
Every time inside the bundle is the period end ``E`` at UTC.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..audit import load_ruleset_waivers
from ..baseline import load_baseline
from ..closing import Basis, CloseResult, close_snapshot, parse_basis, parse_period
from ..closing import breakage as breakage_table
from ..closing import maturity as maturity_table
from ..closing import rollforward as rollforward_table
from ..closing.ledger import EXCLUDED
from ..config import load_ruleset
from ..errors import OutputError, SnapshotError, UsageError
from ..exitcodes import FailOn
from ..materiality import require_thresholds
from ..snapshot import MANIFEST as FETCH_MANIFEST
from ..snapshot import UNFINISHED_FETCH, locate
from .manifest import MANIFEST, manifest_text
from .presentation import render_reports
from .previous import CLOSE_JSON, read_previous
from .rules_text import ruleset_toml

SNAPSHOT_DIR = "snapshot"
RULES_FILE = "rules.toml"
WAIVERS_FILE = "waivers.toml"
BASELINE_FILE = "baseline.json"
STAGING_MARK = ".recon-close-"


def close(
    snapshot: str | Path,
    *,
    period: str,
    out: str | Path,
    previous: str | Path | None = None,
    rules: str | Path | None = None,
    basis: str | Basis = Basis.RECORDED,
    fail_on: str | FailOn = FailOn.ERROR,
    waivers: str | Path | None = None,
    baseline: str | Path | None = None,
    fail_on_new: bool = False,
    progress: Callable[[str], None] | None = None,
) -> CloseResult:
    """Close ``period`` (``YYYY-MM``) on ``snapshot`` and write the evidence bundle ``out``.

    ``previous`` is the bundle of the month before (for ``opening_sealed`` and change after
    close); ``rules`` a rule-set file laid over the default one; ``basis`` when a use takes
    effect (``recorded`` or ``usage``); ``waivers`` a waiver file, copied whole into the
    bundle as ``waivers.toml``; ``baseline`` an earlier run's findings.json (or a report
    directory or bundle holding one), copied into the bundle as ``baseline.json``, with
    ``fail_on_new`` as for ``recon.audit``. Returns the roll-forward, breakage and maturity
    tables and the findings; raises a ``ReconError`` (exit 2) when the close cannot be made.
    """
    say = progress or (lambda stage: None)
    closing_period = parse_period(period, "--period" if isinstance(period, str) else "period")
    basis = parse_basis(basis)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out '{out}' exists and is not empty; give a new or empty directory")
    source = Path(snapshot)
    files = locate(source, purpose="close")
    if not (source / FETCH_MANIFEST).exists() and (source / UNFINISHED_FETCH).exists():
        # Only the entity files are copied and audited: refuse here what the loader would.
        raise SnapshotError(
            f"snapshot '{source}' holds an unfinished fetch ({UNFINISHED_FETCH}/) and no "
            f"{FETCH_MANIFEST}; run the same recon fetch again to finish it"
        )
    ruleset = load_ruleset(rules)  # a bad rule set is an error before anything is written
    if fail_on in tuple(FailOn):
        require_thresholds(ruleset, FailOn(fail_on))  # --fail-on material needs thresholds
    if waivers is not None:  # likewise a bad waiver file, or one the rule set's policy refuses
        load_ruleset_waivers(waivers, ruleset, closing_period.as_of, name="--waivers")
    earlier = None
    if baseline is not None:
        # likewise a bad baseline, or one of a run after this close
        earlier = load_baseline(baseline, "--baseline", before=closing_period.as_of).path
    elif fail_on_new:
        raise UsageError("--fail-on-new needs --baseline OLD (an earlier run's findings.json)")
    prior = None
    if previous is not None:
        say(f"reading the previous close {previous}")
        prior = read_previous(previous, closing_period, basis)

    staging = _staging(out)
    try:
        snapshot_dir = staging / SNAPSHOT_DIR
        snapshot_dir.mkdir()
        for file in files.values():
            shutil.copyfile(file.path, snapshot_dir / file.path.name)
        if (source / FETCH_MANIFEST).is_file():
            shutil.copyfile(source / FETCH_MANIFEST, snapshot_dir / FETCH_MANIFEST)
        rules_path = staging / RULES_FILE
        rules_path.write_text(ruleset_toml(load_ruleset(rules)), encoding="utf-8")
        waivers_path = None
        if waivers is not None:
            waivers_path = staging / WAIVERS_FILE
            shutil.copyfile(waivers, waivers_path)
        baseline_path = None
        if earlier is not None:
            baseline_path = staging / BASELINE_FILE
            shutil.copyfile(earlier, baseline_path)
        say(f"auditing and closing {closing_period} on {source}")
        result = close_snapshot(
            snapshot_dir,
            closing_period,
            basis,
            prior,
            rules=rules_path,
            fail_on=fail_on,
            baseline=baseline_path,
            fail_on_new=fail_on_new,
            waivers=waivers_path,
            progress=say,
        )
        result = dataclasses.replace(result, audit=_named_inputs(result.audit))
        say("writing the bundle")
        contents = _contents(result)
        for name, data in contents.items():
            (staging / name).write_bytes(data)
        (staging / MANIFEST).write_text(manifest_text(staging), encoding="utf-8")
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except OSError as exc:
        raise OutputError(
            f"cannot write the bundle '{out}': {exc.strerror or exc}; nothing was written"
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _staging(out: Path) -> Path:
    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = parent / f".{out.name}{STAGING_MARK}{os.getpid()}-{secrets.token_hex(4)}"
        staging.mkdir()
    except OSError as exc:
        raise OutputError(
            f"cannot write the bundle '{out}': {exc.strerror or exc}; choose another --out"
        ) from exc
    return staging


def _named_inputs(result: Any) -> Any:
    """The audit with its rule, waiver and baseline files named by their places in the
    bundle, not the staging paths: the same close gives the same bytes wherever it was
    staged."""
    sources = [dict(source) for source in result.ruleset.sources]
    sources[-1]["name"] = RULES_FILE
    ruleset = dataclasses.replace(result.ruleset, sources=tuple(sources))
    summary = dict(result.summary)
    summary["rule_set"] = ruleset.describe()
    if "waivers" in summary:  # likewise the waiver file: by its name in the bundle
        summary["waivers"] = {**summary["waivers"], "file": WAIVERS_FILE}
    if "baseline" in summary:
        summary["baseline"] = {**summary["baseline"], "file": BASELINE_FILE}
    return dataclasses.replace(result, ruleset=ruleset, summary=summary)


def _contents(result: CloseResult) -> dict[str, bytes]:
    contents = {
        "rollforward.csv": _csv(rollforward_table.as_text(result.rollforward)),
        "breakage.csv": _csv(breakage_table.as_text(result.breakage)),
        "maturity.csv": _csv(maturity_table.as_text(result.maturity)),
        CLOSE_JSON: _json(close_document(result)),
    }
    for name, data in render_reports(result).items():
        contents[name] = data.encode("utf-8") if isinstance(data, str) else data
    return contents


def close_document(result: CloseResult) -> dict[str, Any]:
    """What close.json holds."""
    summary = result.audit.summary
    ruleset = result.audit.ruleset
    totals = rollforward_table.as_text(
        result.rollforward[result.rollforward["business_id"] == rollforward_table.TOTAL]
    )
    return {
        "period": result.period.label,
        "basis": result.basis.value,
        "as_of": summary["as_of"],
        "period_start": str(np.datetime_as_string(result.period.start, unit="s")),
        "period_end": str(np.datetime_as_string(result.period.end, unit="s")),
        "time_zones": {
            "default": ruleset.default_zone,
            "by_business_id": {str(key): zone for key, zone in sorted(ruleset.zones.items())},
            "note": "period_start and period_end are wall-clock times in each location's zone",
        },
        "excluded": {reason: result.excluded.get(reason, 0) for reason in EXCLUDED},
        "excluded_reasons": EXCLUDED,
        "totals": totals.drop(columns=["business_id"]).to_dict("records"),
        "verdict": {
            "status": summary["status"],
            "exit_code": summary["exit_code"],
            "fail_on": summary["fail_on"],
            "only_new": summary["gate"]["only_new"],
            "findings": summary["findings"],
            "by_severity": summary["by_severity"],
        },
        "recon_version": __version__,
        "previous": None
        if result.previous is None
        else {
            "period": result.previous.period.label,
            "manifest_sha256": result.previous.manifest_sha256,
        },
    }


def _csv(table: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    table.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _json(document: dict[str, Any]) -> bytes:
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
