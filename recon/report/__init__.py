"""Reports: what an audit found, presented in every format, never worked out again.

The package, by module:

- ``formats``: the registry of formats (name, file, renderer); the CLI's choices;
- ``context``: the one context every format renders from, built from the audit
  result (its findings, summary and ``Derived`` views);
- ``templates``: the Jinja environment (autoescape for HTML, ``StrictUndefined``)
  and its filters, Markdown escaping among them;
- ``findings_json``, ``markdown``, ``html`` (with ``evidence`` and ``charts``),
  ``junit``, ``xlsx`` (with ``spreadsheet``, the .xlsx file format): one renderer each;
- ``writing``: every output of a run written together or not at all.

Reports read the audit's derived values (``recon.derived``) and the rules'
declarations (``recon.checks``: each rule's evidence kind and the unit of its
amounts); no report re-derives a rule's semantics.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import OutputError
from .formats import BY_NAME, DEFAULT_FORMATS, FORMATS, OUTPUT_FILES
from .writing import write_atomically

if TYPE_CHECKING:
    from ..audit import AuditResult

__all__ = ["FORMATS", "write_atomically", "write_reports"]


def write_reports(
    result: AuditResult,
    out_dir: str | Path,
    formats: Iterable[str] = DEFAULT_FORMATS,
    *,
    title: str | None = None,
) -> list[Path]:
    """Write the chosen formats into ``out_dir`` (created if needed); returns the files written.

    All of them appear together or none does; recon's outputs of an earlier run that this
    run did not write are removed (see ``writing``). ``title`` names the run in every
    report (default: ``recon audit of <snapshot>``).
    """
    from .context import build_context

    formats = list(dict.fromkeys(formats))
    unknown = [fmt for fmt in formats if fmt not in BY_NAME]
    if unknown:
        raise OutputError(f"unknown report format '{unknown[0]}'; choose from {', '.join(FORMATS)}")
    context = build_context(result, formats, title=title)
    # The workpaper is rendered in a thread of its own beside the others: its cells are
    # Arrow kernels and its deflate zlib, which release the GIL, while the HTML page is
    # Jinja, which holds it (10M uses: 2.8 s and 2.2 s one after the other).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="recon-workpaper") as beside:
        aside = {
            fmt: beside.submit(BY_NAME[fmt].render, context) for fmt in formats if fmt in _BESIDE
        }
        here = {fmt: BY_NAME[fmt].render(context) for fmt in formats if fmt not in aside}
        done = {**here, **{fmt: future.result() for fmt, future in aside.items()}}
    rendered = {BY_NAME[fmt].filename: done[fmt] for fmt in formats}
    return write_atomically(Path(out_dir), rendered, owned=OUTPUT_FILES)


_BESIDE = frozenset({"xlsx"})
"""The formats rendered in a second thread (see ``write_reports``)."""
