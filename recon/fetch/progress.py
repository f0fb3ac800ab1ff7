"""The progress bar of one entity's walk: whole records, ending at the records fetched.

A walk sees rows more than once: a keyset page starts at the last Id of the page
before it, an offset walk is walked again until two agree, and ``TotalItems`` may
be off. Counting rows as they come made bars end at ``375/369``, and tqdm's unit
scaling showed ``50.0/3.70k``. So the bar counts each page's new rows once, in
whole numbers, against the entity's ``TotalItems`` (raised when more records
come), and at the end of the walk shows the records fetched, each Id once, as
``N/N``.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import numpy as np
from tqdm import tqdm

from ..entities import Entity


class RecordBar:
    """One entity's bar on stderr (nothing when ``enabled`` is false)."""

    def __init__(self, entity: Entity, state: dict[str, Any], *, enabled: bool) -> None:
        self._state = state
        self._enabled = enabled
        self._lock = threading.Lock()
        # Ids of the pages of this run; a resumed walk's earlier pages are not in memory.
        self._ids: list[np.ndarray] = []
        self._without_id = 0
        self._resumed = bool(state.get("pages"))
        counted, total = state.get("accounted", 0), state.get("total_first")
        self._bar = tqdm(
            desc=f"{entity.name:<32}",
            unit=" records",
            disable=not enabled,
            file=sys.stderr,
            total=None if total is None else max(total, counted),
            initial=counted,
            dynamic_ncols=True,
            leave=True,
        )

    @property
    def shown(self) -> tuple[int, int | None]:
        """(records counted, total) as the bar shows them."""
        return int(self._bar.n), None if self._bar.total is None else int(self._bar.total)

    def page(self, ids: np.ndarray, count: int, repeated: int, total_items: int | None) -> None:
        """Count a page: its rows but the first ``repeated`` (fetched already); none in an
        offset walk after the first (it confirms records counted already)."""
        if not self._enabled:
            return
        with self._lock:
            self._ids.append(ids)
            self._without_id += count - ids.size
            if self._bar.total is None and total_items is not None:
                # The first page has no Id range: its TotalItems is the entity's.
                self._bar.total = total_items
            new = 0 if self._state.get("walk", 1) > 1 else max(0, count - repeated)
            if self._bar.total is not None and self._bar.n + new > self._bar.total:
                self._bar.total = self._bar.n + new  # more records than TotalItems said
            self._bar.update(new)
            self._bar.set_postfix(pages=self._state.get("pages", 0) + 1, refresh=False)

    def finish(self) -> None:
        """End at the records fetched, each Id once: ``N/N``."""
        if not self._enabled:
            return
        with self._lock:
            fetched = self._bar.n if self._resumed else _distinct(self._ids) + self._without_id
            self._bar.total = fetched
            self._bar.n = fetched
            self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


def _distinct(ids: list[np.ndarray]) -> int:
    """How many distinct Ids the pages held."""
    return int(np.unique(np.concatenate(ids)).size) if ids else 0
