"""The registry of report formats: each name, the file it writes and what renders it.

Kept free of heavy imports: the CLI reads the format names for ``--help`` and its
choices without loading pandas, and a renderer is imported only when its format is
written. A new format is one entry here and one module with its ``render`` function.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Format:
    name: str
    """What ``--format`` calls it."""
    filename: str
    """The file it writes in the report directory."""
    renderer: str
    """``module:function`` under ``recon.report``; the function takes the report context
    and returns the file's text or bytes."""
    description: str
    default: bool = True
    """Written when no --format is given."""

    def render(self, context: dict[str, Any]) -> str | bytes:
        module, _, function = self.renderer.partition(":")
        render: Callable[[dict[str, Any]], str | bytes] = getattr(
            importlib.import_module(f"recon.report.{module}"), function
        )
        return render(context)


REGISTRY: tuple[Format, ...] = (
    Format("json", "findings.json", "findings_json:render", "every finding, for machines"),
    Format("md", "report.md", "markdown:render", "a summary for CI step summaries"),
    Format("html", "report.html", "html:render", "the report for people, with evidence"),
    Format("junit", "junit.xml", "junit:render_junit", "one test case per rule, for CI"),
    Format("xlsx", "report.xlsx", "xlsx:render_xlsx", "the Excel workpaper"),
    Format(
        "sarif",
        "findings.sarif",
        "sarif:render",
        "SARIF 2.1.0 for code-scanning views",
        default=False,
    ),
)

FORMATS: dict[str, str] = {fmt.name: fmt.filename for fmt in REGISTRY}
"""Each output format and the file it writes."""

DEFAULT_FORMATS: tuple[str, ...] = tuple(fmt.name for fmt in REGISTRY if fmt.default)
"""What a run writes when no --format is given (SARIF only when asked for)."""

BY_NAME: dict[str, Format] = {fmt.name: fmt for fmt in REGISTRY}

OUTPUT_FILES: frozenset[str] = frozenset(FORMATS.values())
"""Every file name recon writes into a report directory: a run removes those it did not
write this time, so no output of an earlier run sits beside the new ones."""
