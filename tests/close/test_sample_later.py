"""The sample closes over two months, and its later snapshot's planted changes are found."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import recon

ROOT = Path(__file__).resolve().parents[2]
CHANGES = ("changed_after_close", "silent_change", "deleted_after_close", "backdated_entry")


def test_the_later_sample_holds_exactly_the_documented_changes(tmp_path):
    later = tmp_path / "later"
    subprocess.run([sys.executable, ROOT / "docs" / "sample_later.py", later], check=True)
    july = recon.close(ROOT / "sample_data", period="2025-07", out=tmp_path / "close-2025-07")
    august = recon.close(
        later, period="2025-08", out=tmp_path / "close-2025-08", previous=tmp_path / "close-2025-07"
    )
    found = august.findings[august.findings["rule"].isin(CHANGES)]
    got = sorted(zip(found["rule"], found["record_id"].astype(int), found["impact"], strict=True))
    assert got == [
        ("backdated_entry", 509001, "-5.00"),
        ("changed_after_close", 10261, "10.00"),
        ("deleted_after_close", 502293, "0.00"),
        ("silent_change", 502291, "0.00"),
    ]
    # Nothing else is new: the later snapshot's balances all still tie out.
    assert len(august.findings) == len(july.findings) - 1 + len(got)  # July's unexplained cent
    table = august.rollforward.set_index(["business_id", "currency"])
    assert table.loc[("1201", "GBP"), "opening_restatement"] == Decimal("5.00")  # 10 - 5
    assert table.loc[("total", "EUR"), "opening_restatement"] == 0
