"""The rules of the contract, registered in one place.

A rule is a pure function from the ``AuditContext`` to an ``Evaluation``
(findings plus the number of records judged); its name is its rule id.
``requires`` lists the entities it cannot run without: when one is absent
from the snapshot the rule is reported as skipped, with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE, Entity
from . import balances, extra_services, integrity, links, validity
from .context import AuditContext, Evaluation


@dataclass(frozen=True)
class Rule:
    function: Callable[[AuditContext], Evaluation]
    requires: tuple[Entity, ...]

    @property
    def id(self) -> str:
        return self.function.__name__


_CREDIT_LEDGER = (CREDIT, CREDIT_USE)
_ALLOWANCE_LEDGER = (ALLOWANCE, ALLOWANCE_USE)

RULES: tuple[Rule, ...] = (
    Rule(integrity.schema_violation, requires=()),
    Rule(integrity.duplicate_record, requires=()),
    Rule(links.orphan_use, requires=_CREDIT_LEDGER),
    Rule(links.unlinked_use, requires=_CREDIT_LEDGER),
    Rule(links.manual_adjustment, requires=_CREDIT_LEDGER),
    Rule(links.multi_linked_use, requires=_CREDIT_LEDGER),
    Rule(balances.balance_mismatch, requires=_CREDIT_LEDGER),
    Rule(balances.overdrawn_credit, requires=_CREDIT_LEDGER),
    Rule(validity.expired_credit_use, requires=_CREDIT_LEDGER),
    Rule(validity.premature_credit_use, requires=_CREDIT_LEDGER),
    Rule(links.ineligible_use, requires=_CREDIT_LEDGER),
    Rule(links.non_positive_use, requires=_CREDIT_LEDGER),
    Rule(links.denormalisation_mismatch, requires=_CREDIT_LEDGER),
    Rule(extra_services.extra_service_unlinked, requires=(ALLOWANCE_USE,)),
    Rule(extra_services.extra_service_orphan, requires=_ALLOWANCE_LEDGER),
    Rule(extra_services.extra_service_balance_mismatch, requires=_ALLOWANCE_LEDGER),
    Rule(extra_services.extra_service_expired_use, requires=_ALLOWANCE_LEDGER),
)

RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in RULES)

__all__ = ["RULES", "RULE_IDS", "AuditContext", "Evaluation", "Rule"]
