"""Integrity rules: records that fail their schema, and records whose keys repeat."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import findings
from ..derived import Derived, Evaluation
from ..entities import CREDIT, CREDIT_USE, ENTITIES, Entity
from ..fields import FIELDS
from ..rows import at_rows
from ..schemas import describe_value
from . import text


def schema_violation(derived: Derived) -> Evaluation:
    """One finding per record and field that fails its entity's schema."""
    pieces, evaluated = [], 0
    for entity in ENTITIES:
        if entity not in derived.snapshot:
            continue
        data = derived[entity]
        evaluated += len(data.frame)
        violations = data.violations
        if not len(violations):
            continue
        phrase_of = {spec.name: spec.kind.phrase for spec in FIELDS[entity]}
        phrases = violations["field"].map(phrase_of).to_numpy(dtype=object)
        shown = [describe_value(value) for value in violations["actual"]]
        reason = violations["reason"].to_numpy(dtype=object)
        message = np.where(
            reason == "missing",
            text.concat(
                violations["field"].to_numpy(dtype=str), " is required but missing or null"
            ),
            text.concat(
                violations["field"].to_numpy(dtype=str),
                " must be ",
                phrases.astype(str),
                ", got ",
                np.asarray(shown, dtype=str),
            ),
        )
        rows = violations["row"].to_numpy(dtype=np.int64)
        pieces.append(
            findings.make(
                entity,
                data.frame,
                rows,
                message=message,
                field=violations["field"],
                expected=violations["expected"],
                actual=[findings.json_value(value) for value in violations["actual"]],
                credit_id=_credit_ids(derived, entity, rows),
            )
        )
    return Evaluation(findings.concat(pieces), evaluated)


def duplicate_record(derived: Derived) -> Evaluation:
    """Every record whose Id, or UniqueId, occurs more than once within its entity."""
    pieces, evaluated = [], 0
    for entity in ENTITIES:
        if entity not in derived.snapshot:
            continue
        data = derived[entity]
        frame = data.frame
        evaluated += len(frame)
        id_counts = derived.occurrences(entity, "Id")
        uid_counts = derived.occurrences(entity, "UniqueId")
        rows = np.flatnonzero((id_counts > 1) | (uid_counts > 1))
        if not len(rows):
            continue
        by_id = id_counts[rows] > 1
        by_uid = uid_counts[rows] > 1
        id_part = text.where(
            by_id,
            text.concat(
                "Id ",
                text.ids(at_rows(frame["Id"], rows)),
                " occurs ",
                text.ids(id_counts[rows]),
                " times",
            ),
        )
        uid_part = text.where(
            by_uid,
            text.concat(
                'UniqueId "',
                text.strings(at_rows(frame["UniqueId"], rows)),
                '" occurs ',
                text.ids(uid_counts[rows]),
                " times",
            ),
        )
        message = text.concat(text.join_present([id_part, uid_part]), " in ", entity.name)
        pieces.append(
            findings.make(
                entity,
                frame,
                rows,
                message=message,
                field=np.where(by_id, "Id", "UniqueId"),
                expected=1,
                actual=np.where(by_id, id_counts[rows], uid_counts[rows]),
                credit_id=_credit_ids(derived, entity, rows),
            )
        )
    return Evaluation(findings.concat(pieces), evaluated)


def _credit_ids(derived: Derived, entity: Entity, rows: np.ndarray) -> pd.Series | None:
    """The related credit of each finding: a credit's own Id, or a use's existing credit."""
    if entity is CREDIT:
        return at_rows(derived[CREDIT].frame["Id"], rows).where(derived[CREDIT].valid("Id")[rows])
    if entity is CREDIT_USE:
        return derived.credit_ids_of_uses(rows)
    return None
