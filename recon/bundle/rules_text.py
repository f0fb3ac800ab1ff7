"""The rule set in force, whole, as the TOML a bundle keeps (``rules.toml``).

Written from the parsed ``RuleSet``, not copied from the files it came from: a bundle
must hold every setting its close used, and reading this file back over the default rule
set gives the same rule set (so ``recon verify --rederive`` closes under the same rules).
"""

from __future__ import annotations

import json

from ..config import RuleSet


def ruleset_toml(ruleset: RuleSet) -> str:
    lines = [
        "# The rule set in force for this close, whole (recon close writes it).",
        "",
        "[amounts]",
        f"tolerance = {ruleset.tolerance!r}",
        "",
        "[time]",
        f"default_zone = {json.dumps(ruleset.default_zone)}",
        f"z_is_local = {json.dumps(sorted(ruleset.z_is_local))}",
        "",
        "[time.zones]",
        *(f"{business} = {json.dumps(zone)}" for business, zone in sorted(ruleset.zones.items())),
    ]
    policy = ruleset.waiver_policy
    if policy.approvers is not None or policy.max_days is not None:
        lines += ["", "[waivers]"]
        if policy.approvers is not None:
            lines.append(f"approvers = {json.dumps(list(policy.approvers))}")
        if policy.max_days is not None:
            lines.append(f"max_days = {policy.max_days}")
    for code, thresholds in sorted(ruleset.materiality.items()):
        lines += ["", f"[materiality.{code}]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in thresholds.describe().items()]
    for rule, setting in ruleset.rules.items():
        lines += [
            "",
            f"[rules.{rule}]",
            f"enabled = {'true' if setting.enabled else 'false'}",
            f'severity = "{setting.severity.value}"',
        ]
    return "\n".join(lines) + "\n"
