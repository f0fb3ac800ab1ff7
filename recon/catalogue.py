"""The rule catalogue: every rule with its settings, what the documentation says of it,
and the default rule set to copy. The library side of ``recon rules``."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from .checks import BY_ID, RULES
from .config import load_ruleset
from .errors import UsageError
from .resources import default_rules_file, resource_dir


@dataclass(frozen=True)
class RuleEntry:
    rule: str
    severity: str
    enabled: bool
    requires: tuple[str, ...]
    summary: str
    """The first line of the rule's docstring."""


def rule_entries(rules: str | Path | None = None) -> list[RuleEntry]:
    """Every rule, in the contract's order, with its settings under ``rules`` laid over
    the default rule set."""
    ruleset = load_ruleset(rules)
    entries = []
    for rule in RULES:
        setting = ruleset.rules[rule.id]
        doc = (rule.function.__doc__ or "").strip().splitlines()
        entries.append(
            RuleEntry(
                rule=rule.id,
                severity=setting.severity.value,
                enabled=setting.enabled,
                requires=tuple(entity.stem for entity in rule.requires),
                summary=" ".join(doc[0].split()) if doc else "",
            )
        )
    return entries


def explain(rule: str) -> str:
    """What ``docs/rules.md`` says of ``rule``: its whole section, as Markdown."""
    if rule not in BY_ID:
        close = difflib.get_close_matches(rule, list(BY_ID), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; 'recon rules' lists them"
        raise UsageError(f"no rule '{rule}'{hint}")
    text = rules_doc().read_text(encoding="utf-8")
    match = re.search(rf"^### `{re.escape(rule)}`\n(.*?)(?=^##+ |\Z)", text, re.M | re.S)
    if match is None:  # the docs and the code disagree: a bug of recon's, say so plainly
        raise UsageError(f"docs/rules.md has no section for '{rule}'; please report it")
    return f"### `{rule}`\n{match.group(1).rstrip()}\n"


def default_rules_text() -> str:
    """The default rule set, whole, to copy and tune."""
    return default_rules_file().read_text(encoding="utf-8")


def rules_doc() -> Path:
    return resource_dir("docs") / "rules.md"
