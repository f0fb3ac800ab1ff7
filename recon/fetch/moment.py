"""Bringing the entities of a fetch to one moment: re-reading what changed during the walks.

The entities are walked one after another, each right on its own, but a
credit read before a use of it was recorded (and its ``RemainingCredit``
lowered) sits in the snapshot beside the new use: the snapshot mixes two
moments, and its audit reports balance findings that exist neither before
nor after. So, after every walk, the records of every entity updated since
the fetch started (``from_<Entity>_UpdatedOn``, floored to the minute as the
API takes it, less ``CLOCK_MARGIN`` for a server clock behind ours) are read
again; then, pass after pass, those updated since the previous pass began,
until a pass finds no record that differs (by ``UpdatedOn``) from the one
held. Then every record held is as it was between the last two passes: a
record that changed after its pass would have shown up in the next.

At most ``MAX_PASSES`` passes; an API that keeps changing through all of them
stops the fetch (``NotOneMoment``, exit 2), what was walked kept, because a CI
gate run on a snapshot of mixed moments fails (or passes) on findings nobody
can reproduce. Deletions are invisible to ``UpdatedOn`` (use histories cannot
be deleted through the API; ``--find-deletions`` finds the rest).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import readers
from ..entities import Entity
from .client import NexudusClient, Page
from .errors import KEPT, NotOneMoment
from .walk import Walk

MAX_PASSES = 4
CLOCK_MARGIN = dt.timedelta(minutes=1)


@dataclass
class Settled:
    """What the passes did, and each entity's records re-read (the last version of each)."""

    since: str
    """``from_<Entity>_UpdatedOn`` of the first pass."""
    passes: int = 0
    reread: dict[str, int] = field(default_factory=dict)
    """Rows re-read per entity, over every pass."""
    changed: dict[str, int] = field(default_factory=dict)
    """Records per entity found new or changed since the walk read them."""
    pages: dict[Entity, Path] = field(default_factory=dict)
    """Per entity with records re-read: the pages re-read, in order, one envelope a line
    (appended to the walk's pages, the last version of each record wins)."""

    def manifest(self) -> dict[str, Any]:
        return {
            "one_moment": True,
            "method": "after every walk, re-read the records of every entity updated since "
            "the fetch started (from_<Entity>_UpdatedOn), then since each pass began, until a "
            "pass found nothing new; merged by Id",
            "updated_since": self.since,
            "passes": self.passes,
            "records_reread": dict(self.reread),
            "records_changed_during_fetch": dict(self.changed),
        }


def api_minute(moment: dt.datetime) -> str:
    """``moment`` less the clock margin, floored to the minute, as the API takes a filter."""
    return (moment - CLOCK_MARGIN).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M")


def settle(
    client: NexudusClient,
    entities: Mapping[Entity, dict[str, str]],
    started: dt.datetime,
    held: Callable[[Entity, list[int]], dict[int, Any]],
    pages_dir: Path,
    *,
    size: int,
    concurrency: int,
    max_requests: int,
    now: Callable[[], dt.datetime],
) -> Settled:
    """Re-read, pass after pass, what changed since ``started`` in each of ``entities``
    (name filters of each); ``held(entity, ids)`` gives the ``UpdatedOn`` the walk read for
    those Ids. Raises ``NotOneMoment`` when no pass of ``MAX_PASSES`` found nothing new."""
    since = api_minute(started)
    settled = Settled(since=since)
    known: dict[Entity, dict[int, Any]] = {entity: {} for entity in entities}
    paths = {entity: pages_dir / f"{entity.stem}.moment.pages" for entity in entities}
    for path in paths.values():
        path.write_bytes(b"")
    for number in range(1, MAX_PASSES + 1):
        began = now()
        found = {
            entity: _reread(
                client, entity, filters, since, paths[entity], size, concurrency, max_requests
            )
            for entity, filters in entities.items()
        }
        settled.passes = number
        new = 0
        for entity, records in found.items():
            settled.reread[entity.name] = settled.reread.get(entity.name, 0) + len(records)
            unseen = [record_id for record_id in records if record_id not in known[entity]]
            known[entity].update(held(entity, unseen))
            changed = [
                record_id
                for record_id, updated in records.items()
                if known[entity].get(record_id, _ABSENT) != updated
            ]
            if changed:
                settled.changed[entity.name] = settled.changed.get(entity.name, 0) + len(changed)
            new += len(changed)
            known[entity].update(records)
        if new == 0:
            break
        since = api_minute(began)
    else:
        raise NotOneMoment(
            f"records kept changing while they were fetched: each of {MAX_PASSES} passes "
            f"re-reading what changed (from_<Entity>_UpdatedOn) found more, so the entities "
            "cannot be brought to one moment and the audit could report findings that exist at "
            f"no moment; run again when the API is quieter ({KEPT}: only the passes are redone)"
        )
    settled.pages = {
        entity: path for entity, path in paths.items() if settled.reread.get(entity.name)
    }
    return settled


_ABSENT = object()


def _reread(
    client: NexudusClient,
    entity: Entity,
    filters: dict[str, str],
    since: str,
    path: Path,
    size: int,
    concurrency: int,
    max_requests: int,
) -> dict[int, Any]:
    """One entity's records updated since ``since``: Id -> UpdatedOn (pages kept in ``path``)."""
    found: dict[int, Any] = {}
    lock = threading.Lock()

    def sink(page: Page, repeated: int) -> None:
        # Few records change during a fetch: a Python look at each is cheap here.
        records = json.loads(page.body)["Records"]
        with lock, path.open("ab") as handle:
            handle.write(page.body.rstrip() + b"\n")
            for record in records:
                if isinstance(record, dict) and isinstance(record.get("Id"), int):
                    found[record["Id"]] = record.get("UpdatedOn")

    Walk(
        client,
        entity,
        state={},
        sink=sink,
        filters={**filters, f"from_{entity.name}_UpdatedOn": since},
        size=size,
        concurrency=concurrency,
        ranges_per_thread=1,
        records_schema=readers.typed_schema(entity),
        max_requests=max_requests,
    ).run()
    return found
