"""breakage.csv and maturity.csv by their definitions (contract section 6b)."""

from __future__ import annotations

from decimal import Decimal

from builders import MISSING, credit, manual_use, use
from closes import close_records, row

from recon.closing import breakage, maturity


def _cohorts(result):
    table = breakage.as_text(result.breakage)
    return {record["cohort"]: record for record in table.to_dict("records")}


def test_a_cohort_foots_and_has_a_rate_once_every_credit_has_expired(tmp_path):
    credits = [
        credit(1, CreatedOn="2025-01-05T09:00:00Z", ExpireDate="2025-01-31T00:00:00"),
        credit(2, CreatedOn="2025-01-06T09:00:00Z", ExpireDate="2025-02-28T00:00:00"),
        credit(3, CreatedOn="2025-02-06T09:00:00Z", ExpireDate="2025-06-30T00:00:00"),
    ]
    uses = [
        use(10, 1, CreatedOn="2025-01-10T09:00:00Z", CreditUsed=30.0),
        use(11, 2, CreatedOn="2025-02-10T09:00:00Z", CreditUsed=20.0),
        use(12, 3, CreatedOn="2025-02-10T09:00:00Z", CreditUsed=40.0),
    ]
    uses.append({**manual_use(13, 2, 5.0, "no-show fee"), "CreatedOn": "2025-01-20T09:00:00Z"})
    january = _cohorts(close_records(tmp_path, "2025-01", credits=credits, uses=uses))["2025-01"]
    assert january["breakage_rate"] == ""  # credit 2 has not expired by 1 February
    february = _cohorts(close_records(tmp_path, "2025-02", credits=credits, uses=uses))
    cohort = february["2025-01"]
    assert [cohort[name] for name in ("credits", "issued", "used", "adjusted", "expired")] == [
        "2",
        "200.00",
        "50.00",
        "5.00",
        "145.00",
    ]
    assert cohort["outstanding"] == "0.00"
    assert cohort["breakage_rate"] == "0.725000"
    later = february["2025-02"]
    assert [later[name] for name in ("issued", "used", "outstanding", "breakage_rate")] == [
        "100.00",
        "40.00",
        "60.00",
        "",
    ]


def test_every_cohort_row_foots_exactly(tmp_path):
    credits = [
        credit(i, CreatedOn=f"2025-0{1 + i % 3}-05T09:00:00Z", TotalCredit=10.0 + i / 3)
        for i in range(1, 10)
    ]
    uses = [
        use(100 + i, i, CreatedOn="2025-03-20T09:00:00Z", CreditUsed=i / 7) for i in range(1, 10)
    ]
    result = close_records(tmp_path, "2025-03", credits=credits, uses=uses)
    for record in result.breakage.to_dict("records"):
        parts = record["used"] + record["adjusted"] + record["expired"] + record["outstanding"]
        assert record["issued"] == parts
        assert isinstance(record["issued"], Decimal)


def test_maturity_buckets_by_days_from_the_period_end_and_sum_to_closing(tmp_path):
    def expiring(record_id, expire):
        return credit(record_id, CreatedOn="2025-03-02T09:00:00Z", ExpireDate=expire)

    credits = [
        expiring(1, "2025-04-30T00:00:00"),  # X = 1 May: 30 days from 1 April
        expiring(2, "2025-05-01T00:00:00"),  # 31 days
        expiring(3, "2025-06-29T00:00:00"),  # 90 days
        expiring(4, "2026-03-31T00:00:00"),  # 365 days
        expiring(5, "2026-04-01T00:00:00"),  # 366 days
        expiring(6, MISSING),
        expiring(7, "2025-03-31T00:00:00"),  # expired at E: not outstanding
    ]
    result = close_records(tmp_path, "2025-03", credits=credits)
    table = maturity.as_text(result.maturity)
    assert [(r["bucket"], r["credits"], r["outstanding"]) for r in table.to_dict("records")] == [
        ("0-30", "1", "100.00"),
        ("31-90", "2", "200.00"),
        ("91-365", "1", "100.00"),
        ("over-365", "1", "100.00"),
        ("no-expiry", "1", "100.00"),
    ]
    assert row(result)["closing"] == "600.00"
