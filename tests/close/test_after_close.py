"""Two consecutive closes: the chain of openings, and change after close (contract 6c)."""

from __future__ import annotations

import pytest
from builders import MISSING, credit, use, write_snapshot

import recon

OCTOBER_SNAPSHOT = {
    "credits": [
        credit(1, CreatedOn="2025-09-15T09:00:00Z", ExpireDate=MISSING, RemainingCredit=55.0),
        credit(
            2,
            CreatedOn="2025-10-02T09:00:00Z",
            ExpireDate=MISSING,
            TotalCredit=50.0,
            RemainingCredit=50.0,
        ),
        credit(
            3,
            CreatedOn="2025-11-03T09:00:00Z",
            ExpireDate=MISSING,
            TotalCredit=30.0,
            RemainingCredit=30.0,
        ),
    ],
    "uses": [
        use(10, 1, CreatedOn="2025-10-05T09:00:00Z"),
        use(11, 1, CreatedOn="2025-10-06T09:00:00Z"),
        use(12, 1, CreatedOn="2025-10-07T09:00:00Z"),
        use(13, 1, CreatedOn="2025-10-08T09:00:00Z"),
        use(14, 1, CreatedOn="2025-10-09T09:00:00Z", CreditUsed=5.0),
        # A bare NaN amount (a schema violation, left out) is the same NaN in both snapshots.
        use(15, 1, CreatedOn="2025-10-09T10:00:00Z", CreditUsed=float("nan")),
    ],
}


def _november_snapshot() -> dict:
    credits = [dict(record) for record in OCTOBER_SNAPSHOT["credits"]]
    uses = {record["Id"]: dict(record) for record in OCTOBER_SNAPSHOT["uses"]}
    moved = "2025-11-20T10:00:00Z"
    # Planted defects:
    credits[1].update(TotalCredit=60.0, RemainingCredit=60.0, UpdatedOn=moved)  # changed
    uses[10]["CreditUsed"] = 12.0  # silent: UpdatedOn stays
    del uses[11]  # deleted after close
    uses[20] = use(20, 1, CreatedOn="2025-10-20T09:00:00Z", CreditUsed=3.0)  # backdated
    # Ordinary activity, none of them a finding:
    uses[21] = use(21, 1, CreatedOn="2025-11-10T09:00:00Z", CreditUsed=7.0)  # a new use ...
    credits[0]["RemainingCredit"] = 53.0  # ... moves the closed credit's balance
    uses[12].update(UpdatedOn=moved, BookingResourceName="Room 2")  # no judged field
    credits[2].update(TotalCredit=35.0, RemainingCredit=35.0, UpdatedOn=moved)  # open period
    return {"credits": credits, "uses": list(uses.values())}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("closes")
    october_snapshot = write_snapshot(root / "october-snapshot", **OCTOBER_SNAPSHOT)
    november_snapshot = write_snapshot(root / "november-snapshot", **_november_snapshot())
    october = recon.close(october_snapshot, period="2025-10", out=root / "close-2025-10")
    november = recon.close(
        november_snapshot,
        period="2025-11",
        out=root / "close-2025-11",
        previous=root / "close-2025-10",
    )
    return root, october, november


def _row(result, business="1", currency="GBP"):
    table = result.rollforward
    return table[(table["business_id"] == business) & (table["currency"] == currency)].iloc[0]


def test_the_second_close_opens_at_the_first_ones_closing(bundles, tmp_path):
    root, october, _ = bundles
    again = recon.close(
        root / "october-snapshot",
        period="2025-11",
        out=tmp_path / "november-unchanged",
        previous=root / "close-2025-10",
    )
    first, second = _row(october), _row(again)
    assert second["opening_sealed"] == first["closing"] == second["opening"]
    assert second["opening_restatement"] == 0
    changes = {"changed_after_close", "silent_change", "deleted_after_close", "backdated_entry"}
    assert not changes & set(again.findings["rule"])


def test_each_change_after_close_is_found_once_with_its_impact(bundles):
    _, _, november = bundles
    found = november.findings[
        november.findings["rule"].isin(
            ["changed_after_close", "silent_change", "deleted_after_close", "backdated_entry"]
        )
    ]
    got = {
        (rule, entity, int(record_id)): impact
        for rule, entity, record_id, impact in zip(
            found["rule"], found["entity"], found["record_id"], found["impact"], strict=True
        )
    }
    assert got == {
        ("changed_after_close", "CoworkerBookingCredit", 2): "10.00",
        ("silent_change", "CoworkerBookingCreditUseHistory", 10): "-2.00",
        ("deleted_after_close", "CoworkerBookingCreditUseHistory", 11): "10.00",
        ("backdated_entry", "CoworkerBookingCreditUseHistory", 20): "-3.00",
    }
    messages = dict(zip(found["rule"], found["message"], strict=True))
    assert "TotalCredit 50.0 -> 60.0" in messages["changed_after_close"]
    assert "CreditUsed 10.0 -> 12.0" in messages["silent_change"]
    assert "without UpdatedOn moving" in messages["silent_change"]
    assert set(found["severity"]) == {"error"}


def test_the_restatement_is_the_sum_of_the_impacts(bundles):
    _, october, november = bundles
    row = _row(november)
    assert row["opening_sealed"] == _row(october)["closing"]
    impacts = november.findings["impact"].dropna()
    changes = november.findings["rule"].str.contains("close|silent|backdated")
    total = sum(float(value) for value in impacts[changes[impacts.index]])
    assert float(row["opening_restatement"]) == total == 15.0


def test_ordinary_activity_is_no_change_after_close(bundles):
    _, _, november = bundles
    flagged = set(
        zip(november.findings["rule"], november.findings["record_id"].astype(object), strict=True)
    )
    for record_id in (1, 3, 12, 21):  # new use, moved balance, UpdatedOn alone, open period
        assert not {rule for rule, rid in flagged if rid == record_id} & {
            "changed_after_close",
            "silent_change",
            "deleted_after_close",
            "backdated_entry",
        }, record_id
    assert _row(november)["unexplained"] == 0


def test_change_findings_are_in_the_bundles_findings_json_and_exit_status(bundles):
    import json

    root, _, november = bundles
    document = json.loads((root / "close-2025-11" / "findings.json").read_text())
    rules = [finding["rule"] for finding in document["findings"]]
    assert rules.count("backdated_entry") == 1
    backdated = next(f for f in document["findings"] if f["rule"] == "backdated_entry")
    assert (backdated["impact"], backdated["currency"]) == ("-3.00", "GBP")
    assert document["summary"]["by_rule"]["silent_change"] == 1
    assert int(november.exit_code) == 1


def test_the_html_report_shows_breakage_maturity_and_the_changes_after_close(bundles):
    root, _, _ = bundles
    page = (root / "close-2025-11" / "report.html").read_text()
    names = ("rollforward", "breakage", "maturity", "after-close", "snapshot", "findings")
    sections = [page.index(f'id="{name}"') for name in names]
    assert sections == sorted(sections)  # the close's sections first, then the audit's
    assert 'aria-label="roll-forward waterfall, GBP"' in page
    after = page[page.index('id="after-close"') :]
    assert "Changes after the close of 2025-10" in after
    assert "CreditUsed 10.0 -&gt; 12.0" in after.split("</section>")[0]


def test_the_workpaper_has_the_close_sheets_and_a_sign_off_block(bundles):
    import openpyxl

    root, _, _ = bundles
    book = openpyxl.load_workbook(root / "close-2025-11" / "report.xlsx", read_only=True)
    names = book.sheetnames
    assert names[3:8] == ["Roll-forward", "Breakage", "Maturity", "After-close", "Materiality"]
    top = list(book["Summary"].iter_rows(max_row=3, values_only=True))
    assert [row[0] for row in top] == ["Prepared by", "Reviewed by", "Date"]
    assert not any(row[1:] and any(row[1:]) for row in top)  # empty cells to fill in
    after = list(book["After-close"].iter_rows(values_only=True))
    assert after[0][:2] == ("rule", "entity")
    assert sorted(row[0] for row in after[1:]) == [
        "backdated_entry",
        "changed_after_close",
        "deleted_after_close",
        "silent_change",
    ]
    opening = next(book["Roll-forward"].iter_rows(min_row=2, max_row=2, values_only=True))[3]
    assert opening == 120.0  # a number the workpaper can add, not text


CHANGES = ("changed_after_close", "silent_change", "deleted_after_close", "backdated_entry")


def test_a_close_baselines_its_own_findings_and_gates_only_on_new_ones(bundles):
    import json
    import subprocess
    import sys

    root, _, november = bundles
    snapshot = root / "november-snapshot"
    options = {"period": "2025-11", "previous": root / "close-2025-10", "fail_on_new": True}
    # Against October's close, the changes after it are new: they gate.
    against_october = recon.close(
        snapshot, out=root / "again-vs-october", baseline=root / "close-2025-10", **options
    )
    found = against_october.findings
    classes = dict(zip(found["rule"], found["baseline"], strict=True))
    assert {classes[rule] for rule in CHANGES} == {"new"}
    assert int(against_october.exit_code) == 1
    # Against November's own close, nothing is new: the same close passes the gate.
    bundle = root / "again-vs-november"
    again = recon.close(snapshot, out=bundle, baseline=root / "close-2025-11", **options)
    assert set(again.findings["baseline"]) == {"unchanged"}
    assert len(again.findings) == len(november.findings)
    assert int(again.exit_code) == 0
    document = json.loads((bundle / "findings.json").read_text())
    assert document["summary"]["baseline"]["file"] == "baseline.json"
    assert document["summary"]["baseline"]["resolved"] == []
    assert (bundle / "baseline.json").read_bytes() == (
        root / "close-2025-11" / "findings.json"
    ).read_bytes()
    assert json.loads((bundle / "close.json").read_text())["verdict"]["only_new"] is True
    verify = ["verify", bundle, "--rederive", "--previous", root / "close-2025-10"]
    done = subprocess.run(
        [sys.executable, "-m", "recon", *verify],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_waiver_holds_for_a_change_after_close(bundles, tmp_path):
    root, _, _ = bundles
    waivers = tmp_path / "accepted.toml"
    waivers.write_text(
        "".join(
            f'[[waiver]]\nid = "W-{rule}"\nrule = "{rule}"\nrecord_id = {record}\n'
            'reason = "restated with the controller"\nowner = "a@example.com"\n'
            'approved_by = "b@example.com"\nexpires = 2026-06-30\n'
            for rule, record in zip(CHANGES, (2, 10, 11, 20), strict=True)
        )
    )
    result = recon.close(
        root / "november-snapshot",
        period="2025-11",
        out=tmp_path / "bundle",
        previous=root / "close-2025-10",
        waivers=waivers,
    )
    found = result.findings
    held = found[found["rule"].isin(CHANGES)]
    assert sorted(held["waiver"]) == sorted(f"W-{rule}" for rule in CHANGES)
    assert "waiver_unused" not in set(found["rule"])
    assert result.audit.summary["waivers"]["held"] == 4
