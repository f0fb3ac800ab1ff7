"""Records and snapshots for tests: clean defaults, and the overrides a test names inline.

``credit(1, RemainingCredit=60.0)`` is a valid CoworkerBookingCredit except
for what the test changes; ``MISSING`` removes a key altogether.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import recon
from recon import stored_datetimes
from recon.entities import ENTITIES
from recon.fields import DATETIME_NAMES
from recon.findings import from_json_text

MISSING = object()
AS_OF = "2025-12-31T00:00:00Z"

STEMS = {
    "credits": "coworkerbookingcredits",
    "uses": "coworkerbookingcreditusehistories",
    "allowances": "coworkerextraservices",
    "allowance_uses": "coworkerextraserviceusehistories",
}


def _record(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    record = {**defaults, **overrides}
    return {key: value for key, value in record.items() if value is not MISSING}


def _base(prefix: str, record_id: int) -> dict[str, Any]:
    return {
        "Id": record_id,
        "UniqueId": f"{prefix}-{record_id:0>8}",
        "CreatedOn": "2025-03-01T08:00:00Z",
        "UpdatedOn": "2025-03-01T08:00:00Z",
        "UpdatedBy": "admin@example.com",
        "IsNew": False,
        "SystemId": None,
    }


def credit(record_id: int, **overrides: Any) -> dict[str, Any]:
    """A booking credit of 100.00, untouched, valid for all of March 2025 (GBP, location 1)."""
    return _record(
        {
            **_base("credit", record_id),
            "CoworkerId": 500,
            "BusinessId": 1,
            "BusinessName": "Shoreditch",
            "BusinessCurrencyCode": "GBP",
            "Description": "Monthly meeting-room credit",
            "TotalCredit": 100.0,
            "RemainingCredit": 100.0,
            "ValidFrom": "2025-03-01T00:00:00",
            "ExpireDate": "2025-03-31T00:00:00",
            "CaneBeUsedForBookings": True,
            "CaneBeUsedForEvents": True,
            "IsUniversalCredit": False,
        },
        overrides,
    )


def use(record_id: int, credit_id: int, **overrides: Any) -> dict[str, Any]:
    """A booking use of 10.00 on 14 March 2025, 10:00-11:00 local."""
    return _record(
        {
            **_base("use", record_id),
            "CoworkerBookingCreditId": credit_id,
            "CreditUsed": 10.0,
            "Description": None,
            "BookingId": 9000 + record_id,
            "BookingFromTime": "2025-03-14T10:00:00",
            "BookingToTime": "2025-03-14T11:00:00",
            "BookingResourceName": "Meeting Room 1",
            "EventAttendeeId": None,
            "CoworkerInvoiceLineId": None,
            "CoworkerInvoiceLineCoworkerInvoiceId": None,
        },
        overrides,
    )


_NO_BOOKING = {
    "BookingId": None,
    "BookingFromTime": None,
    "BookingToTime": None,
    "BookingResourceName": None,
}


def event_use(record_id: int, credit_id: int, **overrides: Any) -> dict[str, Any]:
    return use(
        record_id,
        credit_id,
        **{
            **_NO_BOOKING,
            "EventAttendeeId": 7000 + record_id,
            "EventAttendeeFullName": "Ada Lovelace",
            **overrides,
        },
    )


def invoice_use(record_id: int, credit_id: int, **overrides: Any) -> dict[str, Any]:
    return use(
        record_id,
        credit_id,
        **{
            **_NO_BOOKING,
            "CoworkerInvoiceLineId": 8000 + record_id,
            "CoworkerInvoiceLineCoworkerInvoiceId": 800,
            **overrides,
        },
    )


def manual_use(record_id: int, credit_id: int, amount: float, note: str | None) -> dict[str, Any]:
    """An administrator's adjustment: no link, the admin's note in Description."""
    return use(record_id, credit_id, **{**_NO_BOOKING, "CreditUsed": amount, "Description": note})


def allowance(record_id: int, **overrides: Any) -> dict[str, Any]:
    """An extra-service allowance of 600 minutes, untouched, valid for March 2025."""
    return _record(
        {
            **_base("allowance", record_id),
            "BusinessId": 1,
            "TotalUses": 600,
            "RemainingUses": 600,
            "ValidFrom": "2025-03-01T00:00:00",
            "ExpireDate": "2025-03-31T00:00:00",
        },
        overrides,
    )


def allowance_use(record_id: int, allowance_id: int, **overrides: Any) -> dict[str, Any]:
    """An extra-service use of 60 minutes by a booking on 14 March 2025."""
    return _record(
        {
            **_base("xuse", record_id),
            "CoworkerExtraServiceId": allowance_id,
            "BookingId": 9500 + record_id,
            "CreditUsed": 60,
            "BookingFromTime": "2025-03-14T10:00:00",
            "BookingToTime": "2025-03-14T11:00:00",
        },
        overrides,
    )


def write_file(directory: Path, stem: str, records: list[dict[str, Any]], fmt: str) -> Path:
    """Write ``records`` as ``stem.fmt``: json (array), envelope, envelopes, jsonl, parquet
    (date-times as text) or fetched (Parquet as recon fetch stores it: date-times typed)."""
    directory.mkdir(parents=True, exist_ok=True)
    if fmt in ("parquet", "fetched"):
        path = directory / f"{stem}.parquet"
        # from_pylist takes its columns from the first record alone: give it every key.
        names = dict.fromkeys(name for record in records for name in record)
        table = pa.Table.from_pylist([{n: r.get(n) for n in names} for r in records])
        if fmt == "fetched":
            entity = next(entity for entity in ENTITIES if entity.stem == stem)
            table = stored_datetimes.store(table, DATETIME_NAMES[entity])
        pq.write_table(table, path)
        return path
    if fmt == "jsonl":
        path = directory / f"{stem}.jsonl"
        path.write_text("".join(json.dumps(record) + "\n" for record in records))
        return path
    path = directory / f"{stem}.json"
    if fmt == "json":
        document: Any = records
    elif fmt == "envelope":
        document = {"Records": records, "CurrentPage": 1, "TotalItems": len(records)}
    elif fmt == "envelopes":
        document = [
            {"Records": records[start : start + 2], "CurrentPage": page}
            for page, start in enumerate(range(0, max(len(records), 1), 2), start=1)
        ]
    else:
        raise ValueError(fmt)
    path.write_text(json.dumps(document, indent=1))
    return path


def write_snapshot(
    directory: Path,
    *,
    credits: list[dict[str, Any]] | None = None,
    uses: list[dict[str, Any]] | None = None,
    allowances: list[dict[str, Any]] | None = None,
    allowance_uses: list[dict[str, Any]] | None = None,
    fmt: str = "jsonl",
) -> Path:
    """A snapshot directory; the two booking-credit files are always written (maybe empty)."""
    given = {
        "credits": credits or [],
        "uses": uses or [],
        "allowances": allowances,
        "allowance_uses": allowance_uses,
    }
    for name, records in given.items():
        if records is not None:
            write_file(directory, STEMS[name], records, fmt)
    return directory


def audit(directory: Path, **kwargs: Any) -> recon.AuditResult:
    kwargs.setdefault("as_of", AS_OF)
    return recon.audit(directory, **kwargs)


def audit_records(tmp_path: Path, **records: Any) -> recon.AuditResult:
    """Audit a snapshot of ``records`` (keyword names as in ``write_snapshot``)."""
    rules = records.pop("rules", None)
    return audit(write_snapshot(tmp_path / "snapshot", **records), rules=rules)


def found(result: recon.AuditResult, rule: str) -> list[int | None]:
    """The record Ids ``rule`` found, sorted (None for records without a usable Id)."""
    ids = result.findings.loc[result.findings["rule"] == rule, "record_id"]
    values = [None if pd.isna(value) else int(value) for value in ids]
    return sorted(values, key=lambda value: (value is not None, value or 0))


def finding(result: recon.AuditResult, rule: str) -> dict[str, Any]:
    """The one finding of ``rule``; fails unless there is exactly one."""
    rows = result.findings[result.findings["rule"] == rule]
    assert len(rows) == 1, (
        f"expected one {rule} finding, got {len(rows)}: {rows.to_dict('records')}"
    )
    found = rows.iloc[0].to_dict()
    # As findings.json shows them: the frame holds expected/actual as JSON text.
    for name in ("expected", "actual"):
        found[name] = from_json_text(found[name])
    return found


def outcome(result: recon.AuditResult, rule: str) -> recon.RuleOutcome:
    return next(o for o in result.outcomes if o.rule == rule)


def assert_clean(result: recon.AuditResult, rule: str, *, evaluated: int) -> None:
    """``rule`` ran, found nothing, and judged exactly ``evaluated`` records.

    "No finding" alone cannot tell a clean record from one the rule never looked at
    (skipped, disabled, or a record left out because a field it needs failed): the
    count of records judged is what says which.
    """
    ran = outcome(result, rule)
    assert ran.outcome == "ran", f"{rule} did not run: {ran.outcome} ({ran.reason})"
    assert found(result, rule) == [], f"{rule} found {found(result, rule)}"
    assert ran.findings == 0, f"{rule} reports {ran.findings} findings"
    assert ran.evaluated == evaluated, (
        f"{rule} judged {ran.evaluated} records, expected {evaluated}"
    )


def rules_file(directory: Path, text: str) -> Path:
    path = directory / "rules.toml"
    path.write_text(text)
    return path


def on_a_terminal(
    args: list[Any], *, env: dict[str, str] | None = None, columns: int = 100, timeout: int = 180
) -> tuple[subprocess.CompletedProcess, str]:
    """Run ``python -m recon ARGS`` with stderr on a pseudo-terminal ``columns`` wide (as a
    user's would be; a bare pty says 0): the finished process (stdout captured) and what
    the terminal got."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    try:
        process = subprocess.run(
            [sys.executable, "-m", "recon", *map(str, args)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=timeout,
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal closed: everything has been read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
    return process, b"".join(chunks).decode("utf-8", "replace")


def interruptible() -> None:
    """``preexec_fn`` of a child a test stops with Ctrl-C (SIGINT): a test run started as a
    shell's background job inherits SIGINT ignored, and the child would never stop."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt(process: subprocess.Popen, timeout: float = 30) -> None:
    """Ctrl-C ``process`` and wait for it to stop; kill it if it does not, never hang."""
    import signal

    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
