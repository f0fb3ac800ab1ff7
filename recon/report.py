"""Reports: one context built from an audit, rendered as findings.json, report.md, report.html,
junit.xml (``report_junit``) and report.xlsx (``report_xlsx``).

Templates (``reports/``) are fed plain data, lists and dicts, never frames,
from one Jinja environment with autoescape on for HTML and ``StrictUndefined``
everywhere. Every output file is written to a temporary name first and renamed
into place once all of them are written, so a failed run leaves the output
directory as it was.
"""

from __future__ import annotations

import functools
import json
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from . import findings as findings_module
from .audit import AuditResult
from .errors import OutputError
from .report_html import LazyHtmlContext
from .report_junit import render_junit
from .report_xlsx import credit_reconciliation, render_xlsx
from .resources import templates_dir

FORMATS: dict[str, str] = {
    "json": "findings.json",
    "md": "report.md",
    "html": "report.html",
    "junit": "junit.xml",
    "xlsx": "report.xlsx",
}
"""Each output format and the file it writes."""

HTML_ROW_LIMIT = 2_000
"""Findings listed in report.html; all of them are in findings.json."""
MARKDOWN_ROW_LIMIT = 50
"""Findings listed in report.md (a CI step summary has little room)."""


def findings_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The findings as JSON-ready dicts, in ``findings.COLUMNS`` order."""
    columns = {
        name: [findings_module.json_value(value) for value in frame[name].astype(object)]
        for name in findings_module.COLUMNS
    }
    return [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]


def build_context(result: AuditResult, formats: Iterable[str] = tuple(FORMATS)) -> dict[str, Any]:
    """The one context every format renders from. What only one format needs is computed
    only when that format is asked for: a million credits reconciled cost seconds."""
    records = findings_records(result.findings)
    context: dict[str, Any] = {
        "summary": result.summary,
        "findings": records,
        "title": f"recon audit of {result.summary['snapshot']['name']}",
        "html": LazyHtmlContext(result, records, HTML_ROW_LIMIT),  # what report.html adds
    }
    if "xlsx" in formats:
        context["reconciliation"] = credit_reconciliation(result)  # a DataFrame, one row a credit
    return context


def render_json(context: dict[str, Any]) -> str:
    document = {"summary": context["summary"], "findings": context["findings"]}
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_template(name: str, context: dict[str, Any], **limits: int) -> str:
    return _environment().get_template(name).render(**context, **limits)


def write_reports(
    result: AuditResult, out_dir: str | Path, formats: Iterable[str] = tuple(FORMATS)
) -> list[Path]:
    """Write the chosen formats into ``out_dir`` (created if needed); returns the files written."""
    formats = list(formats)
    unknown = [fmt for fmt in formats if fmt not in FORMATS]
    if unknown:
        raise OutputError(f"unknown report format '{unknown[0]}'; choose from {', '.join(FORMATS)}")
    context = build_context(result, formats)
    rendered = {FORMATS[fmt]: _render(fmt, context) for fmt in formats}
    return write_atomically(Path(out_dir), rendered)


def write_atomically(out_dir: Path, contents: dict[str, str | bytes]) -> list[Path]:
    """Write every file of ``contents`` into ``out_dir``, all or none."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"--out '{out_dir}' is a file, not a directory; choose another --out")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot create report directory '{out_dir}': {exc.strerror or exc}"
        ) from exc
    staged: list[tuple[Path, Path]] = []
    try:
        for name, text in contents.items():
            temporary = out_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
            staged.append((temporary, out_dir / name))
            # os.open with 0o666 lets the umask decide permissions, as for any file the user writes.
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(text.encode("utf-8") if isinstance(text, str) else text)
        for temporary, final in staged:
            temporary.replace(final)
    except OSError as exc:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
        raise OutputError(f"cannot write reports into '{out_dir}': {exc.strerror or exc}") from exc
    return [final for _, final in staged]


def _render(fmt: str, context: dict[str, Any]) -> str | bytes:
    if fmt == "json":
        return render_json(context)
    if fmt == "junit":
        return render_junit(context)
    if fmt == "xlsx":
        return render_xlsx(context)
    if fmt == "md":
        return render_template("report.md", context, row_limit=MARKDOWN_ROW_LIMIT)
    return render_template("report.html", context, row_limit=HTML_ROW_LIMIT)


def _md_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped, HTML inert."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return " ".join(text.split()).replace("|", "\\|")


def _number(value: int | float) -> str:
    return f"{value:,}"


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["md"] = _md_cell
    environment.filters["number"] = _number
    return environment
