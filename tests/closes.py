"""Helpers of the close tests: a ledger closed in memory, or into a bundle on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from builders import rules_file, write_snapshot

import recon
from recon.closing import Basis, close_snapshot, parse_period

ZONES = """
[time.zones]
1201 = "Europe/London"
1204 = "Europe/Berlin"
"""


def close_records(
    tmp_path: Path,
    period: str,
    *,
    credits: list[dict[str, Any]],
    uses: list[dict[str, Any]] | None = None,
    basis: str = "recorded",
    zones: bool = False,
) -> recon.CloseResult:
    """Close ``period`` on an inline ledger without writing a bundle (the numbers only)."""
    snapshot = write_snapshot(tmp_path / f"snapshot-{period}", credits=credits, uses=uses or [])
    rules = rules_file(tmp_path, ZONES) if zones else None
    month = parse_period(period)
    return close_snapshot(snapshot, month, Basis(basis), None, rules=rules)


def row(result: recon.CloseResult, business: str = "1", currency: str = "GBP") -> dict[str, str]:
    """One roll-forward row as rollforward.csv writes it (text)."""
    from recon.closing.rollforward import as_text

    table = as_text(result.rollforward)
    rows = table[(table["business_id"] == business) & (table["currency"] == currency)]
    assert len(rows) == 1, table.to_dict("records")
    return rows.iloc[0].to_dict()


def amounts(record: dict[str, str], *names: str) -> tuple[str, ...]:
    return tuple(record[name] for name in names)
