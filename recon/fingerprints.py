"""The fingerprint of a finding: the same rule on the same record is the same finding.

``v1:`` and 32 hex digits of the SHA-256 of the rule, the entity, the record's identity
and what tells two findings of one rule on one record apart:

- the identity is the record's ``UniqueId`` (lower-cased: a UUID's case carries no
  meaning), else ``Id:<Id>`` when it has no usable UniqueId, else ``row:<n>`` (a record
  with neither has nothing stable to name it by: its fingerprint moves with the file);
- the discriminator is the field of a ``schema_violation``, and for a
  ``duplicate_record`` the duplicated key and its value; empty for every other rule.

So a fingerprint does not change when the files are re-ordered, renamed or converted to
another form, when messages are reworded, or when other findings come or go; it changes
when the record changes identity. The ``v1`` names this recipe, so a later one can be
told apart.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from .entities import BY_NAME
from .load import Snapshot
from .rows import at_rows

VERSION = "v1"
_SEPARATOR = "\x1f"  # the ASCII unit separator: in no field recon names


def fingerprints(found: pd.DataFrame, snapshot: Snapshot) -> pd.Series:
    """The fingerprint of each finding of ``found`` (aligned with it)."""
    identity = np.empty(len(found), dtype=object)
    discriminator = np.full(len(found), "", dtype=object)
    entities = found["entity"].to_numpy(dtype=object)
    rows = found["row"].to_numpy(dtype=np.int64) - 1
    for name in pd.unique(entities):
        mine = np.flatnonzero(entities == name)
        entity = BY_NAME.get(name)
        if entity is None or entity not in snapshot:
            identity[mine] = [f"row:{row + 1}" for row in rows[mine]]
            continue
        data = snapshot[entity]
        at = rows[mine]
        # Only the findings' rows become Python objects, never a whole column of millions;
        # taken chunk by chunk (``at_rows``), as a plain take first joins every chunk of the
        # column (400 MB of UUIDs at 10M uses, the peak of the audit's memory).
        uids = at_rows(data.frame["UniqueId"], at).to_numpy(dtype=object, na_value=None)
        uid_ok = data.valid("UniqueId")[at] & np.array(
            [isinstance(u, str) and u != "" for u in uids], dtype=bool
        )
        ids = at_rows(data.frame["Id"], at).to_numpy(dtype=object, na_value=None)
        id_ok = data.valid("Id")[at] & np.array([i is not None for i in ids], dtype=bool)
        identity[mine] = [
            str(uid).strip().lower() if has_uid else (f"Id:{int(i)}" if has_id else f"row:{r + 1}")
            for uid, has_uid, i, has_id, r in zip(uids, uid_ok, ids, id_ok, at, strict=True)
        ]
        duplicates = np.flatnonzero(
            found["rule"].to_numpy(dtype=object)[mine] == "duplicate_record"
        )
        for index in duplicates:
            field = found["field"].iloc[mine[index]]
            value = data.frame[field].iloc[at[index]] if field in data.frame else None
            shown = str(value).strip().lower() if field == "UniqueId" else str(value)
            discriminator[mine[index]] = f"{field}={shown}"
    schema = found["rule"].to_numpy(dtype=object) == "schema_violation"
    discriminator[schema] = found["field"].to_numpy(dtype=object)[schema]
    keys = (
        found["rule"].astype(str)
        + _SEPARATOR
        + found["entity"].astype(str)
        + _SEPARATOR
        + pd.Series(identity, index=found.index, dtype=object).astype(str)
        + _SEPARATOR
        + pd.Series(discriminator, index=found.index, dtype=object).fillna("").astype(str)
    )
    digests = [
        f"{VERSION}:{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()[:32]}"
        for key in keys.tolist()
    ]
    return pd.Series(digests, index=found.index, dtype=object)
