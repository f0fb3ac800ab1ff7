"""Waivers: exceptions an approver accepted, for a while, for an amount (contract section 7).

A waiver file (``--waivers FILE``, TOML) holds ``[[waiver]]`` tables::

    [[waiver]]
    id = "W-2025-014"          # unique
    rule = "balance_mismatch"
    record_id = 100000123      # or: fingerprint = "v1:..."
    reason = "Refund agreed with the member, ticket FIN-412"
    owner = "preparer@example.com"
    approved_by = "controller@example.com"   # must differ from owner
    expires = 2026-01-31       # required: a date (the waiver holds through that day, UTC)
    amount = "12.50"           # optional: the finding's |impact| must be exactly this
    approved = 2025-11-03      # optional: when it was approved (max_days counts from it)

A waiver *holds* for the findings of its rule on its record (or with its fingerprint)
while the audit's ``as_of`` is not past ``expires`` and, when it names an ``amount``,
while the finding's impact is that amount (its absolute value: a waiver accepts a
difference, whichever way it runs). A finding a waiver holds for keeps its place in
findings.json with ``waiver`` set, and does not count toward the exit status. A waiver
that has lapsed holds for nothing: its findings gate again, and the audit adds a
``waiver_expired`` or ``waiver_amount_changed`` finding saying why; a waiver that matches
no finding adds ``waiver_unused``. A malformed file is one line naming the waiver and the
key, exit 2, checked before anything is audited (``recon waivers check FILE``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd

from . import findings as findings_module
from .errors import ConfigError
from .money import amount_of

MAX_BYTES = 4 * 1024**2
"""A waiver file larger than this is refused (thousands of waivers are a few hundred KiB)."""

WAIVER_ENTITY = "Waiver"
"""The entity of the findings about waivers themselves."""

WAIVER_RULES = ("waiver_expired", "waiver_amount_changed", "waiver_unused")
"""The findings a waiver file adds; each a warning."""

_REQUIRED = ("id", "rule", "reason", "owner", "approved_by", "expires")
_KNOWN = frozenset({*_REQUIRED, "record_id", "fingerprint", "amount", "approved"})


@dataclass(frozen=True)
class Waiver:
    id: str
    rule: str
    record_id: int | None
    fingerprint: str | None
    reason: str
    owner: str
    approved_by: str
    expires: dt.date
    amount: Decimal | None
    approved: dt.date | None = None
    """When it was approved (optional): where the rule set's ``max_days`` counts from."""


@dataclass(frozen=True)
class WaiverFile:
    path: Path
    sha256: str
    waivers: tuple[Waiver, ...]


def load_waivers(
    path: str | Path,
    *,
    rules: Sequence[str],
    approvers: Sequence[str] | None = None,
    max_days: int | None = None,
    today: dt.date | None = None,
    name: str = "--waivers",
) -> WaiverFile:
    """The waivers of ``path``, every one checked; ``ConfigError`` naming the waiver and the
    key at the first that is not right. ``rules`` are the rule ids a waiver may name;
    ``approvers`` (when given, the rule set's ``[waivers] approvers``) who may approve;
    ``max_days`` (the rule set's) the longest life of a waiver: from its ``approved`` date to
    ``expires``, or, for a waiver that gives no ``approved`` date, from ``today`` (the
    audit's as-of date) to ``expires``."""
    file = Path(path)
    if not file.is_file():
        raise ConfigError(f"{name} '{file}' is not a file; give the waiver file (TOML)")
    if file.stat().st_size > MAX_BYTES:
        raise ConfigError(f"{name} '{file}' is larger than {MAX_BYTES:,} bytes")
    data = file.read_bytes()
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise ConfigError(f"{name} '{file}' is not valid TOML: {exc}") from exc
    extra = sorted(set(document) - {"waiver"})
    if extra:
        raise ConfigError(
            f"{name} '{file}': unknown key '{extra[0]}'; a waiver file holds [[waiver]] tables"
        )
    tables = document.get("waiver", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{name} '{file}': 'waiver' must be [[waiver]] tables")
    waivers, seen = [], set()
    for number, table in enumerate(tables, start=1):
        waiver = _waiver(table, number, rules, approvers, max_days, today, f"{name} '{file}'")
        if waiver.id in seen:
            raise ConfigError(
                f"{name} '{file}': waiver '{waiver.id}': id is used twice; ids are unique"
            )
        seen.add(waiver.id)
        waivers.append(waiver)
    return WaiverFile(file, hashlib.sha256(data).hexdigest(), tuple(waivers))


def apply(
    found: pd.DataFrame, waivers: WaiverFile | None, as_of: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``found`` with ``waiver`` set where a waiver holds, and the findings about waivers
    that lapsed or matched nothing (``findings.COLUMNS``, unsorted)."""
    if waivers is None or not waivers.waivers:
        return found, findings_module.concat([], findings_module.COLUMNS)
    held = found["waiver"].to_numpy(dtype=object).copy()
    impact = found["impact"].to_numpy(dtype=object, na_value=None)
    day = as_of.tz_convert("UTC").date()
    # One pass over the findings indexes them both ways a waiver can name them: each
    # waiver is then a look-up, so 10,000 waivers cost what one does.
    by_print: dict[str, list[int]] = {}
    by_record: dict[tuple[str, int], list[int]] = {}
    record_ids = found["record_id"].to_numpy(dtype=object, na_value=None)
    for row, (rule, record_id, fingerprint) in enumerate(
        zip(found["rule"].tolist(), record_ids.tolist(), found["fingerprint"].tolist(), strict=True)
    ):
        by_print.setdefault(fingerprint, []).append(row)
        if record_id is not None:
            by_record.setdefault((rule, int(record_id)), []).append(row)
    notes = []
    for waiver in waivers.waivers:
        if waiver.fingerprint is not None:
            matches = by_print.get(waiver.fingerprint, [])
        else:
            matches = by_record.get((waiver.rule, waiver.record_id), [])
        if not len(matches):
            notes.append(
                (waiver, "waiver_unused", "holds for no finding: fixed, or mistyped?", None)
            )
            continue
        if day > waiver.expires:
            notes.append((waiver, "waiver_expired", f"expired on {waiver.expires}", None))
            continue
        if waiver.approved is not None and day < waiver.approved:
            # An audit as of a day before the approval speaks of a time it did not hold.
            why = f"approved on {waiver.approved}, after this audit's as-of: it holds for nothing"
            notes.append((waiver, "waiver_unused", why, None))
            continue
        for row in matches:
            if waiver.amount is not None and _magnitude(impact[row]) != waiver.amount:
                now = "none" if impact[row] is None else str(impact[row])
                notes.append(
                    (
                        waiver,
                        "waiver_amount_changed",
                        f"accepts {waiver.amount} but the finding is now {now}",
                        row,
                    )
                )
                continue
            held[row] = waiver.id
    # Object, not pandas' inferred string dtype, whose NaN would stand for "no waiver".
    return found.assign(waiver=pd.Series(held, index=found.index, dtype=object)), _notes(
        found, notes
    )


def _notes(found: pd.DataFrame, notes: list) -> pd.DataFrame:
    if not notes:
        return findings_module.concat([], findings_module.COLUMNS)
    rows = []
    for waiver, rule, why, row in notes:
        target = (
            f"fingerprint {waiver.fingerprint}"
            if waiver.fingerprint is not None
            else f"{waiver.rule} on record {waiver.record_id}"
        )
        key = "\x1f".join((rule, WAIVER_ENTITY, waiver.id))
        rows.append(
            {
                "rule": rule,
                "severity": "warning",
                "entity": WAIVER_ENTITY,
                "record_id": None if row is None else found["record_id"].iloc[row],
                "credit_id": None if row is None else found["credit_id"].iloc[row],
                "field": waiver.id,
                "row": 0,
                "message": (
                    f"waiver {waiver.id} ({target}, approved by {waiver.approved_by}): {why}"
                ),
                "expected": None,
                "actual": None,
                "impact": None if row is None else found["impact"].iloc[row],
                "currency": None if row is None else found["currency"].iloc[row],
                "fingerprint": f"v1:{hashlib.sha256(key.encode()).hexdigest()[:32]}",
                "baseline": None,
                "first_seen": None,
                "waiver": None,
            }
        )
    frame = pd.DataFrame(rows, columns=list(findings_module.COLUMNS))
    for name in ("record_id", "credit_id"):
        frame[name] = frame[name].astype("Int64")
    for name in ("expected", "actual", "impact"):
        frame[name] = frame[name].astype(pd.StringDtype())
    return frame


def _magnitude(text: object) -> Decimal | None:
    if text is None or text is pd.NA:
        return None
    return abs(Decimal(str(text)))


def _waiver(
    table: object,
    number: int,
    rules: Sequence[str],
    approvers: Sequence[str] | None,
    max_days: int | None,
    today: dt.date | None,
    where: str,
) -> Waiver:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: waiver {number} is not a table")
    label = f"{where}: waiver '{table.get('id', number)}'"
    unknown = sorted(set(table) - _KNOWN)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(_KNOWN), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"{label}: unknown key '{unknown[0]}'{hint}")
    for key in _REQUIRED:
        if key not in table or table[key] in ("", None):
            raise ConfigError(f"{label}: '{key}' is required")
    for key in ("id", "rule", "reason", "owner", "approved_by"):
        if not isinstance(table[key], str) or not table[key].strip():
            raise ConfigError(f"{label}: '{key}' must be text")
    if table["rule"] not in rules:
        close = difflib.get_close_matches(table["rule"], list(rules), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ConfigError(f"{label}: 'rule' names no rule '{table['rule']}'{hint}")
    has_record, has_print = "record_id" in table, "fingerprint" in table
    if has_record == has_print:
        raise ConfigError(f"{label}: give exactly one of 'record_id' and 'fingerprint'")
    record_id = table.get("record_id")
    if has_record and (not isinstance(record_id, int) or isinstance(record_id, bool)):
        raise ConfigError(f"{label}: 'record_id' must be a whole number (the record's Id)")
    fingerprint = table.get("fingerprint")
    if has_print and not (isinstance(fingerprint, str) and fingerprint.startswith("v1:")):
        raise ConfigError(f"{label}: 'fingerprint' must be a finding's fingerprint ('v1:...')")
    owner, approver = table["owner"].strip(), table["approved_by"].strip()
    if owner.casefold() == approver.casefold():
        raise ConfigError(f"{label}: 'approved_by' is the owner; a waiver needs a second person")
    if approvers is not None and approver.casefold() not in {a.casefold() for a in approvers}:
        raise ConfigError(
            f"{label}: 'approved_by' {approver} is not among the rule set's approvers "
            "(its [waivers] approvers)"
        )
    expires = table["expires"]
    if isinstance(expires, dt.datetime):
        expires = expires.date()
    if not isinstance(expires, dt.date):
        raise ConfigError(f"{label}: 'expires' must be a date, e.g. expires = 2026-01-31")
    approved = table.get("approved")
    if isinstance(approved, dt.datetime):
        approved = approved.date()
    if approved is not None and not isinstance(approved, dt.date):
        raise ConfigError(f"{label}: 'approved' must be a date, e.g. approved = 2025-11-03")
    if approved is not None and approved > expires:
        raise ConfigError(f"{label}: 'approved' {approved} is after 'expires' {expires}")
    start = approved if approved is not None else today
    if max_days is not None and start is not None and (expires - start).days > max_days:
        since = (
            f"'approved' {approved}"
            if approved is not None
            else f"the audit's as-of date {today} (the waiver gives no 'approved' date)"
        )
        raise ConfigError(
            f"{label}: 'expires' {expires} is {(expires - start).days} days after {since}; "
            f"the rule set allows at most {max_days} days ([waivers] max_days)"
        )
    amount = None
    if "amount" in table:
        amount = amount_of(table["amount"])
        if amount is not None:
            amount = abs(amount)
        else:
            raise ConfigError(
                f"{label}: 'amount' must be a decimal amount, e.g. amount = \"12.50\""
            )
    return Waiver(
        id=table["id"].strip(),
        rule=table["rule"],
        record_id=record_id,
        fingerprint=fingerprint,
        reason=table["reason"],
        owner=owner,
        approved_by=approver,
        expires=expires,
        amount=amount,
        approved=approved,
    )
