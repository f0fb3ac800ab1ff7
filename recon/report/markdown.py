"""report.md: a short summary for a CI step summary or a pull-request comment.

Errors come before warnings, entities go by their short names so the message
column fits, and every piece of API text is escaped (``templates.markdown_cell``).
"""

from __future__ import annotations

from typing import Any

from ..entities import BY_NAME
from ..exitcodes import Severity
from . import context as report_context
from .templates import render_template


def render(context: dict[str, Any]) -> str:
    limit = report_context.MARKDOWN_ROW_LIMIT
    ordered = sorted(context["findings"], key=lambda finding: Severity(finding["severity"]).rank)
    listed = [{**finding, "entity_short": _short(finding["entity"])} for finding in ordered[:limit]]
    return render_template(
        "report.md",
        {**context, "listed": listed, "total": len(ordered)},
        row_limit=limit,
    )


def _short(name: str) -> str:
    entity = BY_NAME.get(name)
    return entity.short if entity is not None else name
