"""Materiality: per currency, the findings below clearly trivial and the sum at or above it,
waived findings included, against performance and overall; --fail-on material; the rule
set's [materiality.CUR] tables checked like the rest of the rule set."""

import json
import subprocess
import sys
from decimal import Decimal

import pandas as pd
import pytest
from builders import allowance, allowance_use, audit, credit, rules_file, use, write_snapshot

import recon
from recon import findings as findings_module
from recon.materiality import materiality


def _snapshot(directory):
    """Four balance differences (TotalCredit - RemainingCredit - uses):

    - credit 1, GBP: 100 - 60 - 35 = 5.00 (exactly clearly trivial below)
    - credit 2, GBP: 100 - 90 - 14.99 = -4.99 (below it, whichever way it runs)
    - credit 3, GBP: 100 - 50 - 25 = 25.00
    - credit 4, EUR: 100 - 80 - 10 = 10.00 (a currency without thresholds)

    and an allowance off by 30 minutes, which is no money at all.
    """
    return write_snapshot(
        directory,
        credits=[
            credit(1, RemainingCredit=60.0),
            credit(2, RemainingCredit=90.0),
            credit(3, RemainingCredit=50.0),
            credit(4, RemainingCredit=80.0, BusinessCurrencyCode="EUR"),
        ],
        uses=[
            use(10, 1, CreditUsed=35.0),
            use(20, 2, CreditUsed=14.99),
            use(30, 3, CreditUsed=25.0),
            use(40, 4, CreditUsed=10.0),
        ],
        allowances=[allowance(50, TotalUses=600, RemainingUses=500)],
        allowance_uses=[allowance_use(51, 50, CreditUsed=70)],
    )


def _rules(directory, overall="30.00", performance="20", clearly_trivial="5.00", extra=""):
    return rules_file(
        directory,
        f"""
[materiality.GBP]
clearly_trivial = "{clearly_trivial}"
performance = {performance}
overall = "{overall}"
{extra}
""",
    )


def _waive_credit_3(path):
    path.write_text(
        """
[[waiver]]
id = "W-3"
rule = "balance_mismatch"
record_id = 3
reason = "agreed with the member"
owner = "preparer@example.com"
approved_by = "controller@example.com"
expires = 2026-01-31
"""
    )
    return path


def _by_currency(result):
    return {entry["currency"]: entry for entry in result.summary["materiality"]["by_currency"]}


def test_sums_per_currency_count_waived_findings_and_leave_out_allowances(tmp_path):
    snapshot = _snapshot(tmp_path / "s")
    result = audit(snapshot, rules=_rules(tmp_path), waivers=_waive_credit_3(tmp_path / "w.toml"))
    # the snapshot has the findings the sums are made of, one waived
    mismatches = result.findings[result.findings["rule"] == "balance_mismatch"]
    assert sorted(mismatches["impact"]) == ["-4.99", "10.00", "25.00", "5.00"]
    assert mismatches.loc[mismatches["record_id"] == 3, "waiver"].tolist() == ["W-3"]
    assert (result.findings["rule"] == "extra_service_balance_mismatch").sum() == 1

    gbp, eur = _by_currency(result)["GBP"], _by_currency(result)["EUR"]
    assert set(_by_currency(result)) == {"GBP", "EUR"}  # minutes are in no currency
    assert gbp["thresholds"] == {"clearly_trivial": "5.00", "performance": "20", "overall": "30.00"}
    assert (gbp["findings"], gbp["sum"]) == (3, "34.99")
    assert gbp["below_clearly_trivial"] == {"count": 1, "sum": "4.99"}
    # 5.00 is exactly clearly trivial: at or above it
    assert gbp["at_or_above_clearly_trivial"] == {"count": 2, "sum": "30.00"}
    assert gbp["waived"] == {"count": 1, "sum": "25.00"}
    # 30.00 is exactly overall: it reaches it
    assert gbp["standing"] == "reaches_overall"
    assert eur == {
        "currency": "EUR",
        "thresholds": None,
        "findings": 1,
        "sum": "10.00",
        "waived": {"count": 0, "sum": "0.00"},
        "below_clearly_trivial": None,
        "at_or_above_clearly_trivial": None,
        "standing": None,
    }
    assert result.summary["materiality"]["material"] is True
    assert result.materiality.material  # the object a workpaper reads
    assert [c.currency for c in result.materiality.currencies] == ["EUR", "GBP"]


def test_the_waiver_takes_the_finding_out_of_the_gate_but_not_out_of_the_sum(tmp_path):
    snapshot = _snapshot(tmp_path / "s")
    waived = audit(snapshot, rules=_rules(tmp_path), waivers=_waive_credit_3(tmp_path / "w.toml"))
    plain = audit(snapshot, rules=_rules(tmp_path))
    for entry in ("at_or_above_clearly_trivial", "below_clearly_trivial", "standing"):
        assert _by_currency(waived)["GBP"][entry] == _by_currency(plain)["GBP"][entry]
    assert _by_currency(plain)["GBP"]["waived"] == {"count": 0, "sum": "0.00"}


@pytest.mark.parametrize(
    ("overall", "performance", "standing"),
    [
        ("30.00", "20", "reaches_overall"),  # the sum is exactly overall
        ("30.01", "20", "reaches_performance"),
        ("30.01", "30", "reaches_performance"),  # exactly performance
        ("30.01", "30.01", "below_performance"),
    ],
)
def test_where_the_sum_stands_at_each_boundary(tmp_path, overall, performance, standing):
    rules = _rules(tmp_path, overall=overall, performance=f'"{performance}"')
    result = audit(_snapshot(tmp_path / "s"), rules=rules)
    assert _by_currency(result)["GBP"]["standing"] == standing
    assert result.materiality.material is (standing == "reaches_overall")


def test_clearly_trivial_a_cent_above_a_finding_puts_it_below(tmp_path):
    result = audit(_snapshot(tmp_path / "s"), rules=_rules(tmp_path, clearly_trivial="5.01"))
    gbp = _by_currency(result)["GBP"]
    assert gbp["below_clearly_trivial"] == {"count": 2, "sum": "9.99"}
    assert gbp["at_or_above_clearly_trivial"] == {"count": 1, "sum": "25.00"}


def test_without_any_table_every_currency_is_still_summed(tmp_path):
    result = audit(_snapshot(tmp_path / "s"))
    summary = result.summary["materiality"]
    assert summary["configured"] is False and summary["material"] is False
    assert {e["currency"]: (e["findings"], e["sum"]) for e in summary["by_currency"]} == {
        "GBP": (3, "34.99"),
        "EUR": (1, "10.00"),
    }
    assert all(e["standing"] is None for e in summary["by_currency"])


def _frame(rows):
    """Findings as the audit holds them, from (entity, impact, currency, waiver) rows."""
    frame = pd.DataFrame(
        [
            {
                **dict.fromkeys(findings_module.COLUMNS),
                "rule": "balance_mismatch",
                "entity": entity,
                "impact": impact,
                "currency": currency,
                "waiver": waiver,
            }
            for entity, impact, currency, waiver in rows
        ],
        columns=list(findings_module.COLUMNS),
    )
    return frame.astype({"waiver": object, "currency": object, "impact": object})


def test_sums_are_exact_at_any_size_and_any_scale():
    credit_entity = "CoworkerBookingCredit"
    found = _frame(
        [
            (credit_entity, "0.1", "GBP", None),
            (credit_entity, "0.2", "GBP", None),
            (credit_entity, "-0.004", "GBP", None),  # below 0.005
            (credit_entity, "0.005", "GBP", None),  # exactly 0.005
            (credit_entity, "123456789012345678901.01", "JPY", None),
            (credit_entity, "123456789012345678901.02", "JPY", "W-1"),
            (credit_entity, "9.99", None, None),  # a credit naming no currency
            ("CoworkerExtraService", "30", "GBP", None),  # minutes: never money
            ("Waiver", "0.1", "GBP", None),  # repeats a finding's impact: not counted
            (credit_entity, None, "GBP", None),  # no impact
        ]
    )
    ruleset = recon.load_ruleset()
    from recon.config import Thresholds

    ruleset = type(ruleset)(
        **{
            **ruleset.__dict__,
            "materiality": {"GBP": Thresholds("GBP", Decimal("0.005"), Decimal("1"), Decimal("2"))},
        }
    )
    described = {e["currency"]: e for e in materiality(found, ruleset).describe()["by_currency"]}
    assert list(described) == ["GBP", "JPY", None]
    gbp = described["GBP"]
    assert gbp["findings"] == 4 and gbp["sum"] == "0.309"
    assert gbp["below_clearly_trivial"] == {"count": 1, "sum": "0.004"}
    assert gbp["at_or_above_clearly_trivial"] == {"count": 3, "sum": "0.305"}
    assert described["JPY"]["sum"] == "246913578024691357802.03"
    assert described["JPY"]["waived"] == {"count": 1, "sum": "123456789012345678901.02"}
    assert described[None]["sum"] == "9.99"


# --- the command line ------------------------------------------------------------------


def _recon(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "recon", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


@pytest.mark.parametrize(
    ("overall", "status"),
    [("30.00", 1), ("30.01", 0)],
)
def test_fail_on_material_exit_status(tmp_path, overall, status):
    # the snapshot has errors either way: only materiality decides
    snapshot = _snapshot(tmp_path / "s")
    run = _recon(
        "audit",
        snapshot,
        "--out",
        tmp_path / "out",
        "--as-of",
        "2025-12-31",
        "--rules",
        _rules(tmp_path, overall=overall),
        "--waivers",
        _waive_credit_3(tmp_path / "w.toml"),
        "--fail-on",
        "material",
    )
    assert run.returncode == status, run.stderr
    document = json.loads((tmp_path / "out" / "findings.json").read_text())
    assert document["summary"]["fail_on"] == "material"
    assert document["summary"]["materiality"]["material"] is (status == 1)
    assert document["summary"]["by_severity"]["error"] >= 4
    assert "materiality: " in run.stdout and "GBP 30.00 in 2 findings" in run.stdout
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert "### Materiality (gates this run: `--fail-on material`" in markdown
    page = (tmp_path / "out" / "report.html").read_text()
    standing = "reaches_overall" if status else "reaches_performance"
    assert f'<tr data-currency="GBP" data-standing="{standing}">' in page
    junit = (tmp_path / "out" / "junit.xml").read_text()
    assert '<testcase classname="recon.rules" name="materiality">' in junit
    assert ('message="overall materiality reached in GBP' in junit) is (status == 1)


def test_fail_on_material_without_a_table_is_one_line_and_exit_2(tmp_path):
    run = _recon(
        "audit", _snapshot(tmp_path / "s"), "--out", tmp_path / "out", "--fail-on", "material"
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "--fail-on material needs materiality thresholds" in run.stderr
    assert "[materiality.<CURRENCY>]" in run.stderr
    assert not (tmp_path / "out").exists()


def test_fail_on_material_with_fail_on_new_is_refused(tmp_path):
    snapshot = _snapshot(tmp_path / "s")
    first = _recon("audit", snapshot, "--out", tmp_path / "first", "--format", "json")
    assert first.returncode == 1
    run = _recon(
        "audit",
        snapshot,
        "--out",
        tmp_path / "out",
        "--rules",
        _rules(tmp_path),
        "--baseline",
        tmp_path / "first",
        "--fail-on-new",
        "--fail-on",
        "material",
    )
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "--fail-on-new cannot be combined with --fail-on material" in run.stderr


def test_close_gates_on_materiality_and_rederives_under_it(tmp_path):
    snapshot = _snapshot(tmp_path / "s")
    rules = _rules(tmp_path, extra='[waivers]\napprovers = ["controller@example.com"]')
    bundle = tmp_path / "bundle"
    run = _recon(
        "close",
        snapshot,
        "--period",
        "2025-03",
        "--out",
        bundle,
        "--rules",
        rules,
        "--waivers",
        _waive_credit_3(tmp_path / "w.toml"),
        "--fail-on",
        "material",
    )
    assert run.returncode == 1, run.stderr
    assert "reaches overall 30.00" in run.stdout
    summary = json.loads((bundle / "findings.json").read_text())["summary"]
    assert summary["materiality"]["material"] is True
    assert json.loads((bundle / "close.json").read_text())["verdict"]["fail_on"] == "material"
    verified = _recon("verify", bundle, "--rederive")
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[materiality.gbp]\nclearly_trivial = 1\nperformance = 2\noverall = 3\n",
            "'materiality.gbp' is not a currency code",
        ),
        (
            "[materiality.POUND]\nclearly_trivial = 1\nperformance = 2\noverall = 3\n",
            "'materiality.POUND' is not a currency code",
        ),
        (
            "[materiality.GBP]\nclearly_trivial = 1\nperformance = 2\noverall = 3\noveral = 4\n",
            "unknown key 'materiality.GBP.overal'; did you mean 'materiality.GBP.overall'?",
        ),
        (
            "[materiality.GBP]\nclearly_trivial = 1\nperformance = 2\n",
            "'materiality.GBP.overall' is required",
        ),
        (
            "[materiality.GBP]\nclearly_trivial = 'five'\nperformance = 2\noverall = 3\n",
            "'materiality.GBP.clearly_trivial' = 'five' is not an amount",
        ),
        (
            "[materiality.GBP]\nclearly_trivial = 1\nperformance = true\noverall = 3\n",
            "'materiality.GBP.performance' = True is not an amount",
        ),
        (
            "[materiality.GBP]\nclearly_trivial = 1\nperformance = 2\noverall = nan\n",
            "'materiality.GBP.overall' = nan is not an amount",
        ),
        (
            "[materiality.GBP]\nclearly_trivial = '-1'\nperformance = 2\noverall = 3\n",
            "'materiality.GBP.clearly_trivial' = '-1' must be zero or more",
        ),
        (
            "[materiality.GBP]\nclearly_trivial = 5\nperformance = '4.99'\noverall = 10\n",
            "'materiality.GBP.clearly_trivial' = 5 is above 'performance' = 4.99",
        ),
        (
            "[materiality.GBP]\nclearly_trivial = 1\nperformance = 20\noverall = '19.99'\n",
            "'materiality.GBP.performance' = 20 is above 'overall' = 19.99",
        ),
        ("materiality = 3\n", "'materiality' must be a table"),
        ("[materiality]\nGBP = 3\n", "'materiality.GBP' must be a table"),
        ("[waivers]\napprovers = 'controller@example.com'\n", "'waivers.approvers' must be a list"),
        ("[waivers]\napprovers = []\n", "'waivers.approvers' must be a list"),
        ("[waivers]\nmax_days = 0\n", "'waivers.max_days' = 0 must be a whole number of days"),
        ("[waivers]\nmax_days = 30.5\n", "'waivers.max_days' = 30.5 must be a whole number"),
        (
            "[waivers]\nmax_day = 30\n",
            "unknown key 'waivers.max_day'; did you mean 'waivers.max_days'?",
        ),
    ],
)
def test_a_bad_materiality_or_waivers_table_is_one_line_and_exit_2(tmp_path, text, message):
    rules = rules_file(tmp_path, text)
    run = _recon("audit", _snapshot(tmp_path / "s"), "--out", tmp_path / "out", "--rules", rules)
    assert run.returncode == 2, run.stdout
    assert run.stderr.count("\n") == 1, run.stderr
    assert f"rules file '{rules}'" in run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists()


def test_amounts_may_be_text_or_numbers_and_keep_their_digits(tmp_path):
    rules = rules_file(
        tmp_path,
        "[materiality.EUR]\nclearly_trivial = 0.1\nperformance = 250\noverall = '1000.005'\n",
    )
    thresholds = recon.load_ruleset(rules).materiality["EUR"]
    assert thresholds.describe() == {
        "clearly_trivial": "0.1",
        "performance": "250",
        "overall": "1000.005",
    }


def test_recon_run_refuses_fail_on_material_without_a_table_before_fetching(tmp_path):
    # Nothing listens on the base URL and no credentials are set: the line is about the
    # rule set, so it was decided before any fetch was tried.
    run = _recon(
        "run", "--out", tmp_path / "out", "--base-url", "http://127.0.0.1:9",
        "--fail-on", "material", "--limits", "off",
    )  # fmt: skip
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "--fail-on material needs materiality thresholds" in run.stderr
    assert not (tmp_path / "out" / "snapshot").exists()


def test_the_workpaper_has_a_materiality_sheet_with_the_summarys_figures(tmp_path):
    import openpyxl

    snapshot = _snapshot(tmp_path / "s")
    out = tmp_path / "out"
    options = ["--rules", _rules(tmp_path), "--waivers", _waive_credit_3(tmp_path / "w.toml")]
    options += ["--out", out, "-q", "--as-of", "2025-12-31", "--fail-on", "material"]
    done = subprocess.run(
        [sys.executable, "-m", "recon", "audit", snapshot, *options],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1, done.stderr
    summary = json.loads((out / "findings.json").read_text())["summary"]["materiality"]
    book = openpyxl.load_workbook(out / "report.xlsx", read_only=True)
    assert book.sheetnames.index("Materiality") < book.sheetnames.index("balance_mismatch")
    rows = list(book["Materiality"].iter_rows(values_only=True))
    header, table = rows[0], {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:3]}
    assert header[:3] == ("currency", "findings", "sum |impact|")
    for entry in summary["by_currency"]:
        row = table[entry["currency"]]
        assert row["findings"] == entry["findings"]
        assert Decimal(str(row["sum |impact|"])) == Decimal(entry["sum"])
        assert Decimal(str(row["waived sum"])) == Decimal(entry["waived"]["sum"])
    assert table["GBP"]["standing"] == "reaches overall"
    assert table["GBP"]["at or above clearly trivial sum"] == 30.0
    assert table["EUR"]["standing"] == "no thresholds"
    assert any("Gates this run" in str(row[0]) for row in rows[3:] if row and row[0])


def test_a_mistyped_currency_table_is_named_and_the_ungated_currencies_said(tmp_path):
    rules = rules_file(
        tmp_path,
        '[materiality.GPB]\nclearly_trivial = "0"\nperformance = "0"\noverall = "0"\n',
    )
    options = ["--rules", rules, "--fail-on", "material", "--out", tmp_path / "out"]
    options += ["--as-of", "2025-12-31"]
    done = subprocess.run(
        [sys.executable, "-m", "recon", "audit", _snapshot(tmp_path / "s"), *options],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr  # nothing reaches overall: GBP has no table
    (line,) = [text for text in done.stdout.splitlines() if text.startswith("materiality:")]
    assert "GBP 34.99 in 3 findings (no thresholds: not gated)" in line
    assert "thresholds set for GPB, in which no finding is" in line


@pytest.mark.parametrize(
    "written",
    ["'1_000'", "'1e3'", "'\u0661\u0660\u0660'", "'Infinity'", "'0x10'", "'12,50'", "''", "inf"],
)
def test_an_amount_not_written_as_plain_decimal_digits_is_refused(tmp_path, written):
    # Python's Decimal reads '1_000', '1e3' and Arabic-Indic digits as numbers; a rule set's
    # threshold written so is far more likely a typo than meant, and is refused.
    rules = rules_file(
        tmp_path, f"[materiality.GBP]\nclearly_trivial = {written}\nperformance = 2\noverall = 3\n"
    )
    with pytest.raises(
        recon.ConfigError, match=r"'materiality\.GBP\.clearly_trivial' = .* is not an amount"
    ):
        recon.load_ruleset(rules)


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("' 12.50 '", "12.50"),
        ("'+5'", "5"),
        ("'.5'", "0.5"),
        ("'5.'", "5"),
        ("0.1", "0.1"),
        ("7", "7"),
    ],
)
def test_an_amount_in_plain_decimal_digits_is_read_exactly(tmp_path, written, read):
    rules = rules_file(
        tmp_path,
        f"[materiality.GBP]\nclearly_trivial = {written}\nperformance = 20\noverall = 30\n",
    )
    amount = recon.load_ruleset(rules).materiality["GBP"].clearly_trivial
    assert amount == Decimal(read)
