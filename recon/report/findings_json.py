"""findings.json: the summary and every finding, for machines (contract section 4)."""

from __future__ import annotations

from typing import Any

from .. import findings


def render(context: dict[str, Any]) -> str:
    document = {"summary": context["summary"], "findings": context["findings"]}
    return findings.dumps(document, indent=2, allow_nan=False) + "\n"
