"""The one Jinja environment every template renders in, and its filters.

Autoescape is on for HTML and ``StrictUndefined`` everywhere. Markdown has no
autoescape of its own: ``md`` makes API text inert in a Markdown table cell, so a
``Description`` holding ``[x](javascript:...)``, an image, a bare link or an
``@mention`` shows as the text it is, never as a live link, picture or ping.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jinja2

from ..resources import templates_dir

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-!|~])")
_ZERO_WIDTH_SPACE = "\u200b"
# What GitHub turns into links or pings in plain text: a scheme's "://", "www.", "@name".
_AUTOLINKS = re.compile(r"(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?<=@)(?=\w)", re.IGNORECASE)


def render_template(name: str, context: dict[str, Any], **limits: int) -> str:
    return environment().get_template(name).render(**context, **limits)


def markdown_cell(value: Any) -> str:
    """Text safe inside a Markdown table cell: one line, every markup character escaped,
    HTML inert, autolinks and mentions broken by a zero-width space."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    return _AUTOLINKS.sub(_ZERO_WIDTH_SPACE, text)


def markdown_code(value: Any) -> str:
    """Text safe inside a Markdown code span in a table cell: one line, no backtick to end
    the span, pipes escaped (a code span shows everything else as it is, links included)."""
    text = " ".join(("" if value is None else str(value)).split())
    return text.replace("`", "'").replace("|", "\\|")


def number(value: int | float) -> str:
    """Thousands separators: ``1,234,567``."""
    return f"{value:,}"


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = markdown_cell
    env.filters["md_code"] = markdown_code
    env.filters["number"] = number
    return env
