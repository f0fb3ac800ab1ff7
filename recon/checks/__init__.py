"""The rules of the contract, declared in one place.

A rule is a pure function from the ``Derived`` views of a snapshot to an
``Evaluation`` (findings plus the number of records judged); its name is its
rule id. Its declaration says what else the audit and the reports need to know
of it, so that nothing downstream keeps lists of rule ids:

- ``requires``: the entities it cannot run without (when one is absent from the
  snapshot the rule is reported as skipped, with the reason);
- ``subject``: the entity its findings are about (None when any entity);
- ``evidence``: what a report shows beside each finding;
- ``values``: what its findings' ``expected`` and ``actual`` hold (amounts are in
  the unit of the subject's ledger: money of the credit's currency, or an
  allowance's quantities);
- ``impact``: what each of its findings does to money.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ..derived import Derived, Evaluation
from ..entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE, Entity, Unit
from . import balances, extra_services, integrity, links, validity


class Evidence(StrEnum):
    """What a report shows beside a finding, to prove it."""

    LEDGER = "ledger"
    """The parent's balance arithmetic and its ledger of uses."""
    WINDOW = "window"
    """The parent's validity window beside the use's usage time."""
    LINKS = "links"
    """The use's link fields, and whether its parent exists."""
    RECORD = "record"
    """The record itself (and, for a repeated key, the records sharing it)."""


class Values(StrEnum):
    """What a rule's ``expected`` and ``actual`` hold."""

    AMOUNT = "amount"
    """Amounts in the unit of the subject's ledger (see ``Rule.unit``)."""
    TIME = "time"
    COUNT = "count"
    ID = "id"
    FLAG = "flag"
    RAW = "raw"
    """The value as sent, whatever its type (a schema violation's)."""


class Impact(StrEnum):
    """What a finding of the rule does to money (``recon.impact`` works it out)."""

    NONE = "none"
    """Nothing a sum can show: schema, duplicates, denormalised fields, allowances."""
    DIFFERENCE = "difference"
    """The credit's balance difference, TotalCredit - RemainingCredit - uses."""
    OVERDRAWN = "overdrawn"
    """How far the credit is overdrawn."""
    USE_AMOUNT = "use amount"
    """The CreditUsed of the use the finding is about."""


@dataclass(frozen=True)
class Rule:
    function: Callable[[Derived], Evaluation]
    requires: tuple[Entity, ...]
    subject: Entity | None
    evidence: Evidence
    values: Values
    impact: Impact = Impact.NONE

    @property
    def id(self) -> str:
        return self.function.__name__

    @property
    def unit(self) -> Unit | None:
        """The unit of its amounts: money or quantity; None when its values are no amounts."""
        if self.values is not Values.AMOUNT or self.subject is None:
            return None
        return self.subject.unit


_CREDIT_LEDGER = (CREDIT, CREDIT_USE)
_ALLOWANCE_LEDGER = (ALLOWANCE, ALLOWANCE_USE)
_LEDGER, _WINDOW, _LINKS, _RECORD = Evidence

RULES: tuple[Rule, ...] = (
    Rule(integrity.schema_violation, (), None, _RECORD, Values.RAW),
    Rule(integrity.duplicate_record, (), None, _RECORD, Values.COUNT),
    Rule(links.orphan_use, _CREDIT_LEDGER, CREDIT_USE, _LINKS, Values.ID, impact=Impact.USE_AMOUNT),
    Rule(
        links.unlinked_use,
        _CREDIT_LEDGER,
        CREDIT_USE,
        _LINKS,
        Values.COUNT,
        impact=Impact.USE_AMOUNT,
    ),
    Rule(
        links.manual_adjustment,
        _CREDIT_LEDGER,
        CREDIT_USE,
        _LINKS,
        Values.AMOUNT,
        impact=Impact.USE_AMOUNT,
    ),
    Rule(
        links.multi_linked_use,
        _CREDIT_LEDGER,
        CREDIT_USE,
        _LINKS,
        Values.COUNT,
        impact=Impact.USE_AMOUNT,
    ),
    Rule(
        balances.balance_mismatch,
        _CREDIT_LEDGER,
        CREDIT,
        _LEDGER,
        Values.AMOUNT,
        impact=Impact.DIFFERENCE,
    ),
    Rule(
        balances.overdrawn_credit,
        _CREDIT_LEDGER,
        CREDIT,
        _LEDGER,
        Values.AMOUNT,
        impact=Impact.OVERDRAWN,
    ),
    Rule(
        validity.expired_credit_use,
        _CREDIT_LEDGER,
        CREDIT_USE,
        _WINDOW,
        Values.TIME,
        impact=Impact.USE_AMOUNT,
    ),
    Rule(
        validity.premature_credit_use,
        _CREDIT_LEDGER,
        CREDIT_USE,
        _WINDOW,
        Values.TIME,
        impact=Impact.USE_AMOUNT,
    ),
    Rule(
        links.ineligible_use,
        _CREDIT_LEDGER,
        CREDIT_USE,
        _LINKS,
        Values.FLAG,
        impact=Impact.USE_AMOUNT,
    ),
    Rule(
        links.non_positive_use,
        _CREDIT_LEDGER,
        CREDIT_USE,
        _LINKS,
        Values.AMOUNT,
        impact=Impact.USE_AMOUNT,
    ),
    Rule(links.denormalisation_mismatch, _CREDIT_LEDGER, CREDIT_USE, _LINKS, Values.RAW),
    Rule(
        extra_services.extra_service_unlinked, (ALLOWANCE_USE,), ALLOWANCE_USE, _LINKS, Values.RAW
    ),
    Rule(extra_services.extra_service_orphan, _ALLOWANCE_LEDGER, ALLOWANCE_USE, _LINKS, Values.ID),
    Rule(
        extra_services.extra_service_balance_mismatch,
        _ALLOWANCE_LEDGER,
        ALLOWANCE,
        _LEDGER,
        Values.AMOUNT,
    ),
    Rule(
        extra_services.extra_service_expired_use,
        _ALLOWANCE_LEDGER,
        ALLOWANCE_USE,
        _WINDOW,
        Values.TIME,
    ),
)

RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in RULES)

BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}

__all__ = [
    "BY_ID",
    "RULES",
    "RULE_IDS",
    "Derived",
    "Evaluation",
    "Evidence",
    "Impact",
    "Rule",
    "Values",
]
