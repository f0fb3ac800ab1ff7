"""Each finding's impact follows its rule's declaration (``Rule.impact``), in the credit's
currency, exactly."""

from decimal import Decimal
from pathlib import Path

import pandas as pd

import recon
from recon.checks import BY_ID, Impact

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def test_impact_is_set_exactly_for_the_rules_that_declare_one():
    found = recon.audit(SAMPLE, as_of="2025-12-31").findings
    for row in found.itertuples():
        kind = BY_ID[row.rule].impact
        if kind is Impact.NONE:
            assert pd.isna(row.impact), row
            continue
        if pd.isna(row.impact):
            assert kind is Impact.USE_AMOUNT  # a use whose CreditUsed failed its schema
            continue
        Decimal(row.impact)  # exact decimal text
        if row.rule in ("orphan_use",):
            assert row.currency is None  # no credit, so no currency to name
        else:
            assert row.currency in ("GBP", "EUR"), row
    mismatch = found[found["rule"] == "balance_mismatch"].set_index("record_id")
    assert mismatch.loc[10124, "impact"] == "-12.50"  # RemainingCredit 12.50 too high
