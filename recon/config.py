"""The rule set: which rules run, how severe their findings are, how amounts and times compare.

A rule-set file (TOML) is parsed once into a frozen ``RuleSet``. The shipped
``rules/default.toml`` declares every rule and setting; a file given with
``--rules`` is laid over it and may name only keys the default declares, so a
typo is an error naming the file and the key rather than a silently lost
setting.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import math
import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .datetimes import Zones
from .errors import ConfigError
from .exitcodes import Severity
from .fields import DATETIME_FIELDS
from .files import file_limit, read_capped
from .money import amount_of
from .resources import default_rules_file

_SECTIONS: dict[str, frozenset[str]] = {
    "amounts": frozenset({"tolerance"}),
    "time": frozenset({"default_zone", "z_is_local", "zones"}),
    "rules": frozenset(),  # rule ids, checked against the default file
    "materiality": frozenset(),  # currency codes, each a table of _MATERIALITY_KEYS
    "waivers": frozenset({"approvers", "max_days"}),
}
_RULE_KEYS = frozenset({"enabled", "severity"})
_MATERIALITY_KEYS = ("clearly_trivial", "performance", "overall")
"""The thresholds of one currency, from the smallest (what is too small to matter even in
sum) to the largest (what the whole misstatement must stay below)."""
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")

MAX_RULES_BYTES = 1 << 20
"""Default size limit of a rule-set file: the shipped one is a few KiB."""
MAX_RULES_BYTES_VARIABLE = "RECON_MAX_RULES_BYTES"
"""The environment variable that sets another limit, in bytes."""
MAX_TOLERANCE = 1e12
"""The largest tolerance: amounts beyond it are not judged today, so a larger one means
nothing (and 1e308 would overflow the arithmetic)."""


@dataclass(frozen=True)
class RuleSetting:
    enabled: bool
    severity: Severity


@dataclass(frozen=True)
class Thresholds:
    """The materiality of one currency (``[materiality.GBP]``): exact amounts,
    ``clearly_trivial <= performance <= overall``."""

    currency: str
    clearly_trivial: Decimal
    performance: Decimal
    overall: Decimal

    def describe(self) -> dict[str, str]:
        return {key: str(getattr(self, key)) for key in _MATERIALITY_KEYS}


@dataclass(frozen=True)
class WaiverPolicy:
    """Who may approve a waiver and how long one may live (``[waivers]``); None: any."""

    approvers: tuple[str, ...] | None = None
    max_days: int | None = None


@dataclass(frozen=True)
class RuleSet:
    """Everything an audit is configured by, read from one or two rule-set files."""

    tolerance: float
    default_zone: str
    zones: Mapping[int, str]
    z_is_local: frozenset[str]
    rules: Mapping[str, RuleSetting]
    sources: tuple[dict[str, str], ...] = field(default=())
    """Each file the set was read from (``name`` and ``sha256``), the default first."""
    materiality: Mapping[str, Thresholds] = field(default_factory=lambda: MappingProxyType({}))
    """The thresholds of each currency the rule set names (``[materiality.GBP]``)."""
    waiver_policy: WaiverPolicy = field(default_factory=WaiverPolicy)

    def zones_of(self, business_ids: pd.Series) -> Zones:
        """The zone of each ``BusinessId`` (the default zone where unknown or null)."""
        if not self.zones:
            return Zones.uniform(len(business_ids), self.default_zone)
        names = (self.default_zone, *sorted(set(self.zones.values())))
        code_of = {business: names.index(zone) for business, zone in self.zones.items()}
        codes = business_ids.map(code_of).fillna(0).to_numpy(dtype=np.int16)
        return Zones(codes, names)

    def describe(self) -> dict[str, Any]:
        """The effective settings as plain data, for reports."""
        return {
            "sources": [dict(source) for source in self.sources],
            "tolerance": self.tolerance,
            "default_zone": self.default_zone,
            "zones": {str(key): value for key, value in sorted(self.zones.items())},
            "z_is_local": sorted(self.z_is_local),
            **(
                {
                    "materiality": {
                        code: thresholds.describe()
                        for code, thresholds in sorted(self.materiality.items())
                    }
                }
                if self.materiality
                else {}
            ),
            **(
                {
                    "waivers": {
                        "approvers": None
                        if self.waiver_policy.approvers is None
                        else list(self.waiver_policy.approvers),
                        "max_days": self.waiver_policy.max_days,
                    }
                }
                if self.waiver_policy != WaiverPolicy()
                else {}
            ),
        }


def load_ruleset(path: str | Path | None = None) -> RuleSet:
    """The default rule set, with the file at ``path`` (if any) laid over it."""
    default_path = default_rules_file()
    default = _read(default_path, label="default rule set")
    _check_keys(default, default_path.name, known_rules=None)
    merged, sources = default, [_source("default", default_path)]
    if path is not None:
        path = Path(path)
        overlay = _read(path, label="rules file")
        _check_keys(overlay, str(path), known_rules=frozenset(default["rules"]))
        merged = _merge(default, overlay)
        sources.append(_source(str(path), path))
    return _build(merged, sources[-1]["name"], tuple(sources))


def _read(path: Path, *, label: str) -> dict[str, Any]:
    if not os.path.lexists(path):
        raise ConfigError(f"{label} '{path}' does not exist")
    try:
        data = b"".join(
            read_capped(
                path,
                error=ConfigError,
                limit=file_limit(MAX_RULES_BYTES_VARIABLE, MAX_RULES_BYTES),
                variable=MAX_RULES_BYTES_VARIABLE,
            )
        )
        text = data.decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"{label} '{path}' cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{label} '{path}' is not UTF-8 text (byte {exc.start})") from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{label} '{path}' is not valid TOML: {exc}") from exc
    except RecursionError as exc:
        # tomllib parses nested arrays and inline tables recursively.
        raise ConfigError(f"{label} '{path}' nests arrays or tables too deep to read") from exc


def _source(name: str, path: Path) -> dict[str, str]:
    return {"name": name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _check_keys(data: dict[str, Any], name: str, *, known_rules: frozenset[str] | None) -> None:
    """Reject any key the rule-set format does not declare, naming it."""
    _reject_unknown(data, frozenset(_SECTIONS), name, prefix="")
    for section, keys in _SECTIONS.items():
        value = data.get(section, {})
        if not isinstance(value, dict):
            raise ConfigError(f"rules file '{name}': '{section}' must be a table")
        if section == "rules":
            if known_rules is not None:
                _reject_unknown(value, known_rules, name, prefix="rules.")
            for rule_id, setting in value.items():
                if not isinstance(setting, dict):
                    raise ConfigError(f"rules file '{name}': 'rules.{rule_id}' must be a table")
                _reject_unknown(setting, _RULE_KEYS, name, prefix=f"rules.{rule_id}.")
        elif section == "materiality":
            for code, thresholds in value.items():
                where = f"materiality.{code}"
                if not _CURRENCY_CODE.fullmatch(code):
                    raise ConfigError(
                        f"rules file '{name}': '{where}' is not a currency code "
                        "(three capital letters, e.g. [materiality.GBP])"
                    )
                if not isinstance(thresholds, dict):
                    raise ConfigError(f"rules file '{name}': '{where}' must be a table")
                _reject_unknown(thresholds, frozenset(_MATERIALITY_KEYS), name, prefix=f"{where}.")
        else:
            _reject_unknown(value, keys, name, prefix=f"{section}.")


def _reject_unknown(
    table: dict[str, Any], known: frozenset[str], name: str, *, prefix: str
) -> None:
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean '{prefix}{close[0]}'?" if close else ""
            raise ConfigError(f"rules file '{name}': unknown key '{prefix}{key}'{hint}")


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = _merge(base[key], value)
        else:
            merged[key] = value
    return merged


def _build(data: dict[str, Any], name: str, sources: tuple[dict[str, str], ...]) -> RuleSet:
    tolerance = data.get("amounts", {}).get("tolerance")
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
        raise ConfigError(f"rules file '{name}': 'amounts.tolerance' must be a number")
    if not math.isfinite(tolerance) or tolerance < 0:
        raise ConfigError(f"rules file '{name}': 'amounts.tolerance' must be zero or more")
    if tolerance > MAX_TOLERANCE:
        raise ConfigError(
            f"rules file '{name}': 'amounts.tolerance' = {tolerance!r} is over {MAX_TOLERANCE:g}, "
            "the largest amount recon judges; give a smaller tolerance"
        )

    time = data.get("time", {})
    default_zone = _zone(time.get("default_zone", "UTC"), name, "time.default_zone")
    zones = {}
    listed = time.get("zones", {})
    if not isinstance(listed, dict):
        raise ConfigError(f"rules file '{name}': 'time.zones' must be a table of BusinessId = zone")
    for key, value in listed.items():
        business_id = _business_id(key)
        if business_id is None:
            raise ConfigError(f"rules file '{name}': 'time.zones.{key}' is not a BusinessId")
        zones[business_id] = _zone(value, name, f"time.zones.{key}")
    z_is_local = time.get("z_is_local", [])
    if not isinstance(z_is_local, list) or not all(isinstance(f, str) for f in z_is_local):
        raise ConfigError(f"rules file '{name}': 'time.z_is_local' must be a list of field names")
    for field_name in z_is_local:
        if field_name not in DATETIME_FIELDS:
            raise ConfigError(
                f"rules file '{name}': 'time.z_is_local' names '{field_name}', "
                f"which is not a date-time field ({', '.join(sorted(DATETIME_FIELDS))})"
            )

    rules = {}
    for rule_id, setting in data.get("rules", {}).items():
        enabled = setting.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(
                f"rules file '{name}': 'rules.{rule_id}.enabled' must be true or false"
            )
        severity = setting.get("severity")
        try:
            severity = Severity(severity)
        except ValueError as exc:
            raise ConfigError(
                f"rules file '{name}': 'rules.{rule_id}.severity' must be one of "
                f"{', '.join(level.value for level in Severity)}, not {severity!r}"
            ) from exc
        rules[rule_id] = RuleSetting(enabled=enabled, severity=severity)

    return RuleSet(
        tolerance=float(tolerance),
        default_zone=default_zone,
        zones=MappingProxyType(zones),
        z_is_local=frozenset(z_is_local),
        rules=MappingProxyType(rules),
        sources=sources,
        materiality=MappingProxyType(
            {
                code: _thresholds(code, table, name)
                for code, table in sorted(data.get("materiality", {}).items())
            }
        ),
        waiver_policy=_waiver_policy(data.get("waivers", {}), name),
    )


def _thresholds(code: str, table: dict[str, Any], name: str) -> Thresholds:
    """One currency's thresholds, each an exact non-negative amount, in ascending order."""
    amounts = {}
    for key in _MATERIALITY_KEYS:
        where = f"materiality.{code}.{key}"
        if key not in table:
            raise ConfigError(
                f"rules file '{name}': '{where}' is required "
                f"([materiality.{code}] sets {', '.join(_MATERIALITY_KEYS)})"
            )
        amounts[key] = _money(table[key], name, where)
    for smaller, larger in itertools.pairwise(_MATERIALITY_KEYS):
        if amounts[smaller] > amounts[larger]:
            raise ConfigError(
                f"rules file '{name}': 'materiality.{code}.{smaller}' = {amounts[smaller]} "
                f"is above '{larger}' = {amounts[larger]}; "
                "clearly_trivial <= performance <= overall"
            )
    return Thresholds(code, **amounts)


def _money(value: Any, name: str, where: str) -> Decimal:
    """An amount as its exact decimal: text (``"500.00"``) as written, a number as the
    shortest decimal that reads back as it (what ``docs/money-and-time.md`` says of amounts)."""
    amount = amount_of(value)
    if amount is None:
        raise ConfigError(
            f"rules file '{name}': '{where}' = {value!r} is not an amount; "
            'give a decimal, e.g. "500.00"'
        )
    if amount < 0:
        raise ConfigError(f"rules file '{name}': '{where}' = {value!r} must be zero or more")
    return amount


def _waiver_policy(table: dict[str, Any], name: str) -> WaiverPolicy:
    approvers = table.get("approvers")
    if approvers is not None:
        if (
            not isinstance(approvers, list)
            or not approvers
            or not all(isinstance(a, str) and a.strip() for a in approvers)
        ):
            raise ConfigError(
                f"rules file '{name}': 'waivers.approvers' must be a list of the people who "
                'may approve a waiver, e.g. approvers = ["controller@example.com"]'
            )
        approvers = tuple(approver.strip() for approver in approvers)
    max_days = table.get("max_days")
    if max_days is not None and (
        not isinstance(max_days, int) or isinstance(max_days, bool) or max_days < 1
    ):
        raise ConfigError(
            f"rules file '{name}': 'waivers.max_days' = {max_days!r} must be a whole number "
            "of days, 1 or more"
        )
    return WaiverPolicy(approvers=approvers, max_days=max_days)


def _business_id(key: str) -> int | None:
    """The BusinessId a key of ``time.zones`` names (ASCII digits within int64), else None."""
    if not (key.isascii() and key.isdigit()) or len(key.lstrip("0")) > 19:
        return None
    value = int(key)
    return value if value < 2**63 else None


def _zone(value: Any, name: str, key: str) -> str:
    if isinstance(value, str):
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
        else:
            return value
    raise ConfigError(f"rules file '{name}': '{key}' = {value!r} is not an IANA time zone")
