"""The foot identities hold exactly on any ledger (a property over generated ledgers)."""

from __future__ import annotations

from builders import MISSING, credit, event_use, invoice_use, manual_use, use
from closes import close_records
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

DAYS = st.integers(min_value=0, max_value=119)  # days after 1 January 2025
CENTS = st.integers(min_value=-2_000, max_value=20_000)


def _day(offset: int, hour: int) -> str:
    import datetime as dt

    return (dt.datetime(2025, 1, 1, hour) + dt.timedelta(days=offset)).isoformat()


_credit = st.tuples(DAYS, st.one_of(st.none(), DAYS), st.integers(1, 50_000), st.booleans())
_use = st.tuples(st.integers(0, 5), DAYS, CENTS, st.sampled_from("bein"))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(credits=st.lists(_credit, min_size=1, max_size=6), uses=st.lists(_use, max_size=12))
def test_every_row_and_cohort_foots_exactly(tmp_path_factory, credits, uses):
    records = [
        credit(
            i + 1,
            CreatedOn=_day(created, 9) + "Z",
            ExpireDate=MISSING if expires is None else _day(expires, 0 if midnight else 15),
            TotalCredit=total / 100,
            BusinessId=1 + i % 2,
        )
        for i, (created, expires, total, midnight) in enumerate(credits)
    ]
    makers = {"b": use, "e": event_use, "i": invoice_use}
    ledger = []
    for j, (which, day, cents, kind) in enumerate(uses):
        target = which % len(credits) + 1
        when = {"CreatedOn": _day(day, 11) + "Z", "CreditUsed": cents / 100}
        if kind == "n":
            ledger.append({**manual_use(100 + j, target, cents / 100, "adjustment"), **when})
        else:
            ledger.append(makers[kind](100 + j, target, **when))
    result = close_records(
        tmp_path_factory.mktemp("ledger"), "2025-02", credits=records, uses=ledger
    )
    for row in result.rollforward.to_dict("records"):
        moved = (
            row["issued"]
            - row["used_bookings"]
            - row["used_events"]
            - row["used_invoice_lines"]
            - row["adjusted"]
            - row["expired"]
        )
        assert row["closing"] == row["opening"] + moved, row
    for cohort in result.breakage.to_dict("records"):
        parts = cohort["used"] + cohort["adjusted"] + cohort["expired"] + cohort["outstanding"]
        assert cohort["issued"] == parts, cohort
    for (business, currency), group in result.maturity.groupby(["business_id", "currency"]):
        closing = result.rollforward[
            (result.rollforward["business_id"] == business)
            & (result.rollforward["currency"] == currency)
        ]["closing"].iloc[0]
        assert sum(group["outstanding"]) == closing
