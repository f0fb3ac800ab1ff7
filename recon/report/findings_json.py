"""findings.json: the summary and every finding, for machines (contract section 4)."""

from __future__ import annotations

import json
from typing import Any


def render(context: dict[str, Any]) -> str:
    document = {"summary": context["summary"], "findings": context["findings"]}
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
