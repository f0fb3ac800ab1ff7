"""Rule-set files: defaults, layering, and an error naming every key that cannot be used."""

import os
from pathlib import Path

import pandas as pd
import pytest
from builders import rules_file

import recon
from recon.exitcodes import Severity


def test_default_rule_set():
    ruleset = recon.load_ruleset()
    assert ruleset.tolerance == 0.005
    assert ruleset.default_zone == "UTC"
    assert len(ruleset.rules) == 17
    assert ruleset.rules["manual_adjustment"].severity is Severity.WARNING
    assert ruleset.sources[0]["name"] == "default"


def test_a_users_file_is_laid_over_the_default(tmp_path):
    path = rules_file(
        tmp_path,
        """
[amounts]
tolerance = 0.01

[time]
default_zone = "Europe/London"

[time.zones]
1203 = "Europe/Dublin"

[rules.manual_adjustment]
severity = "info"

[rules.premature_credit_use]
enabled = false
""",
    )
    ruleset = recon.load_ruleset(path)
    assert ruleset.tolerance == 0.01
    assert ruleset.default_zone == "Europe/London"
    assert dict(ruleset.zones) == {1203: "Europe/Dublin"}
    assert ruleset.rules["manual_adjustment"].severity is Severity.INFO
    assert ruleset.rules["manual_adjustment"].enabled
    assert not ruleset.rules["premature_credit_use"].enabled
    assert ruleset.rules["balance_mismatch"].severity is Severity.ERROR
    assert [source["name"] for source in ruleset.sources] == ["default", str(path)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[rules.balance_mismach]\nseverity = 'error'\n",
            "unknown key 'rules.balance_mismach'; did you mean 'rules.balance_mismatch'?",
        ),
        (
            "[rules.orphan_use]\nseverity = 'error'\ntolerance = 1\n",
            "unknown key 'rules.orphan_use.tolerance'",
        ),
        (
            "[amounts]\ntolerence = 0.01\n",
            "unknown key 'amounts.tolerence'; did you mean 'amounts.tolerance'?",
        ),
        ("[reports]\nformat = 'html'\n", "unknown key 'reports'"),
        (
            "[rules.orphan_use]\nseverity = 'fatal'\n",
            "'rules.orphan_use.severity' must be one of error, warning, info, not 'fatal'",
        ),
        (
            "[rules.orphan_use]\nenabled = 'no'\n",
            "'rules.orphan_use.enabled' must be true or false",
        ),
        ("[amounts]\ntolerance = -1\n", "'amounts.tolerance' must be zero or more"),
        ("[amounts]\ntolerance = '0.01'\n", "'amounts.tolerance' must be a number"),
        (
            "[time]\ndefault_zone = 'Mars/Olympus'\n",
            "'time.default_zone' = 'Mars/Olympus' is not an IANA time zone",
        ),
        ("[time.zones]\nLondon = 'Europe/London'\n", "'time.zones.London' is not a BusinessId"),
        (
            "[time]\nz_is_local = ['Description']\n",
            "'time.z_is_local' names 'Description', which is not a date-time",
        ),
        ("rules = 3\n", "'rules' must be a table"),
        ("[amounts]\ntolerance = 1e308\n", "'amounts.tolerance' = 1e+308 is over 1e+12"),
        ("[amounts]\ntolerance = nan\n", "'amounts.tolerance' must be zero or more"),
        ("[amounts]\ntolerance = -inf\n", "'amounts.tolerance' must be zero or more"),
        ("[time]\nzones = 3\n", "'time.zones' must be a table"),
        ("[time.zones]\n'\u00b2' = 'UTC'\n", "'time.zones.\u00b2' is not a BusinessId"),
        ("[time.zones]\n99999999999999999999 = 'UTC'\n", "is not a BusinessId"),
        ("a = " + "[" * 5000 + "]" * 5000 + "\n", "nests arrays or tables too deep"),
        ("[amounts\n", "is not valid TOML"),
    ],
)
def test_unusable_rule_set_is_an_error_naming_file_and_key(tmp_path, text, message):
    path = rules_file(tmp_path, text)
    with pytest.raises(recon.ConfigError) as raised:
        recon.load_ruleset(path)
    assert message in str(raised.value)
    assert str(path) in str(raised.value)
    assert raised.value.exit_code == 2


def test_missing_rule_set_file(tmp_path):
    with pytest.raises(recon.ConfigError, match=r"rules file '.*nope\.toml' does not exist"):
        recon.load_ruleset(tmp_path / "nope.toml")


def test_zones_of_maps_business_ids_with_the_default_for_the_rest(tmp_path):
    ruleset = recon.load_ruleset(rules_file(tmp_path, '[time.zones]\n7 = "Asia/Tokyo"\n'))
    zones = ruleset.zones_of(pd.Series([7, 8, None], dtype="Int64"))
    assert [zones.names[code] for code in zones.codes] == ["Asia/Tokyo", "UTC", "UTC"]


def test_rule_set_that_is_not_utf8(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_bytes(b"[amounts]\ntolerance = 1\n# \xff\n")
    with pytest.raises(recon.ConfigError, match=r"rules.toml' is not UTF-8 text \(byte 26\)"):
        recon.load_ruleset(path)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_rule_set_that_is_a_device_is_refused_unread(tmp_path, device):
    link = tmp_path / "rules.toml"
    link.symlink_to(device)
    for path in (Path(device), link):
        with pytest.raises(recon.ConfigError, match="is a character device, not a regular file"):
            recon.load_ruleset(path)


def test_rule_set_that_is_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "rules.toml"
    os.mkfifo(fifo)
    with pytest.raises(recon.ConfigError, match=r"is a FIFO \(named pipe\), not a regular file"):
        recon.load_ruleset(fifo)


def test_rule_set_over_the_size_limit_names_the_limit(tmp_path, monkeypatch):
    path = rules_file(tmp_path, "[amounts]\ntolerance = 0.01\n" + "# padding\n" * 200)
    monkeypatch.setenv("RECON_MAX_RULES_BYTES", "1000")
    with pytest.raises(recon.ConfigError) as raised:
        recon.load_ruleset(path)
    assert "over recon's limit of 1,000 bytes" in str(raised.value)
    assert "set RECON_MAX_RULES_BYTES" in str(raised.value)
    monkeypatch.setenv("RECON_MAX_RULES_BYTES", "100000")
    assert recon.load_ruleset(path).tolerance == 0.01
