"""The unfinished part of a fetch: pages as they arrive, and how far each walk got.

Kept in ``SNAPSHOT/.recon-fetch/`` until the snapshot is complete, so an
interrupted fetch loses nothing and the same command resumes it:

- ``<stem>.pages``: one page envelope per line, exactly as the API sent it
  (line breaks outside strings removed), appended as pages arrive;
- ``state.json``: the options of the fetch and each entity's walk state,
  rewritten atomically after every page.

A page written but not yet recorded in the state is fetched again on
resume; records are deduplicated by Id when the snapshot is written, so that
costs nothing but the request.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

from ..entities import Entity
from ..errors import FetchError
from ..snapshot import UNFINISHED_FETCH

DIRECTORY = UNFINISHED_FETCH


class FetchStore:
    """Pages and walk state of one unfinished fetch into ``snapshot``."""

    def __init__(self, snapshot: Path, options: dict[str, Any]) -> None:
        self.root = snapshot / DIRECTORY
        self._options = options
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"options": options, "entities": {}}
        self.resumed = False

    def open(self) -> FetchStore:
        """Start, or resume when the directory holds a fetch with the same options."""
        state_file = self.root / "state.json"
        if state_file.exists():
            try:
                previous = json.loads(state_file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise FetchError(
                    f"'{self.root}' holds an unreadable state.json ({exc}); remove that "
                    "directory to start the fetch afresh"
                ) from exc
            if previous.get("options") != self._options:
                raise FetchError(
                    f"'{self.root.parent}' holds an unfinished fetch with other options; run "
                    f"it again with the same options to resume it, or remove '{self.root}'"
                )
            self._state = previous
            self.resumed = True
            for path in self.root.glob("*.pages"):
                _drop_torn_line(path)
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            self._write_state()
        return self

    def walk_state(self, entity: Entity) -> dict[str, Any]:
        """The entity's walk state (a live dict: change it, then ``save``)."""
        with self._lock:
            return self._state["entities"].setdefault(entity.stem, {})

    def pages_path(self, entity: Entity) -> Path:
        return self.root / f"{entity.stem}.pages"

    def append(self, entity: Entity, page_line: bytes) -> None:
        with self._lock, self.pages_path(entity).open("ab") as handle:
            handle.write(page_line.rstrip() + b"\n")

    def save(self) -> None:
        with self._lock:
            self._write_state()

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    def _write_state(self) -> None:
        temporary = self.root / "state.json.tmp"
        temporary.write_text(json.dumps(self._state, indent=1, sort_keys=True), encoding="utf-8")
        temporary.replace(self.root / "state.json")


def _drop_torn_line(path: Path) -> None:
    """Cut a last line left half-written by an interruption."""
    with path.open("rb+") as handle:
        data = handle.read()
        end = data.rfind(b"\n") + 1
        if end != len(data):
            handle.truncate(end)
