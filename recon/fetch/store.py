"""The unfinished part of a fetch: pages as they arrive, and how far each walk got.

Kept in ``SNAPSHOT/.recon-fetch/`` until the snapshot is complete, so an
interrupted fetch loses nothing and the same command resumes it:

- ``<stem>.pages``: one page envelope per line, exactly as the API sent it
  (line breaks outside strings removed), appended as pages arrive;
- ``state.json``: the options of the fetch, when it started, and each
  entity's walk state, rewritten atomically after every page;
- ``<stem>.moment.pages``: the pages re-read to bring the entities to one
  moment (``moment``), rewritten by every run.

A page written but not yet recorded in the state is fetched again on
resume; records are deduplicated by Id when the snapshot is written, so that
costs nothing but the request.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from ..entities import Entity
from ..errors import FetchError
from ..snapshot import UNFINISHED_FETCH

DIRECTORY = UNFINISHED_FETCH
SAVE_EVERY = 0.5
"""Seconds between saves of a page's progress; everything else is saved at once."""


class FetchStore:
    """Pages and walk state of one unfinished fetch into ``snapshot``."""

    def __init__(self, snapshot: Path, options: dict[str, Any]) -> None:
        self.root = snapshot / DIRECTORY
        self._options = options
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"options": options, "entities": {}}
        self.resumed = False
        self._files: dict[str, int] = {}
        self._saved_at = float("-inf")

    def open(self, *, restart: bool = False) -> FetchStore:
        """Start, or resume when the directory holds a fetch with the same options. A fetch
        that fetched nothing is replaced without asking; ``restart`` discards any."""
        state_file = self.root / "state.json"
        if restart or (state_file.exists() and self._nothing_fetched()):
            shutil.rmtree(self.root, ignore_errors=True)
        if state_file.exists():
            try:
                previous = json.loads(state_file.read_text(encoding="utf-8"))
                if not isinstance(previous, dict):
                    raise ValueError("not a JSON object")
            except (OSError, ValueError) as exc:
                raise FetchError(
                    f"'{self.root}' holds an unreadable state.json ({exc}); run with "
                    "--restart to start the fetch afresh"
                ) from exc
            if previous.get("options") != self._options:
                raise FetchError(
                    f"'{self.root.parent}' holds an unfinished fetch with other options; run "
                    "it again with the same options to resume it, or add --restart to discard "
                    "what it fetched"
                )
            self._state = previous
            self.resumed = True
            for path in self.root.glob("*.pages"):
                _drop_torn_line(path)
        else:
            self.root.mkdir(parents=True, exist_ok=True)
            self._write_state()
        return self

    def _nothing_fetched(self) -> bool:
        """Whether the unfinished fetch here holds no page (then nothing is lost with it)."""
        return not any(path.stat().st_size for path in self.root.glob("*.pages"))

    def forget(self, entity: Entity) -> None:
        """Drop what was kept of ``entity`` (a walk refused before its first page)."""
        with self._lock:
            self._state["entities"].pop(entity.stem, None)
            descriptor = self._files.pop(entity.stem, None)
            if descriptor is not None:
                os.close(descriptor)
            self.pages_path(entity).unlink(missing_ok=True)
            self._write_state()

    def walk_state(self, entity: Entity) -> dict[str, Any]:
        """The entity's walk state (a live dict: change it, then ``save``)."""
        with self._lock:
            return self._state["entities"].setdefault(entity.stem, {})

    def started(self, now: str) -> str:
        """When this fetch began: ``now``, or the moment saved by the run it resumes (the
        passes that bring a fetch to one moment re-read what changed since then)."""
        with self._lock:
            started = self._state.setdefault("started", now)
        self.save()
        return started

    def pages_path(self, entity: Entity) -> Path:
        return self.root / f"{entity.stem}.pages"

    def append(self, entity: Entity, page_line: bytes) -> None:
        """Add one page (a single line). Written straight to the file, unbuffered: once the
        state says a page is done, its line is in the file even if the process is killed."""
        with self._lock:
            descriptor = self._files.get(entity.stem)
            if descriptor is None:
                descriptor = os.open(
                    self.pages_path(entity), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
                )
                self._files[entity.stem] = descriptor
            os.writev(descriptor, [page_line.rstrip(), b"\n"])

    def save(self, urgent: bool = True) -> None:
        """Rewrite state.json; a page's progress (``urgent=False``) at most every
        ``SAVE_EVERY`` seconds."""
        with self._lock:
            now = time.monotonic()
            if urgent or now - self._saved_at >= SAVE_EVERY:
                self._write_state()
                self._saved_at = now

    def close(self) -> None:
        """Save the state and close the page files (the directory stays, to resume from)."""
        with self._lock:
            for descriptor in self._files.values():
                os.close(descriptor)
            self._files.clear()
            if self.root.is_dir():
                self._write_state()

    def remove(self) -> None:
        self.close()
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
