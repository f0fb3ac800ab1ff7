"""Where the default rule set and the report templates are.

They live at the top of a source checkout (``rules/``, ``reports/``, ``docs/rules.md``,
``sample_data/``), where users find and copy them; the wheel carries them in
``recon/_bundled/``.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ReconError

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The ``rules``, ``reports``, ``docs`` or ``sample_data`` directory of this installation."""
    for candidate in (_PACKAGE / "_bundled" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise ReconError(f"recon is installed without its {name}/ directory; reinstall recon")


def default_rules_file() -> Path:
    return resource_dir("rules") / "default.toml"


def templates_dir() -> Path:
    return resource_dir("reports")


def sample_dir() -> Path:
    """The sample snapshot shipped with recon (four files with known discrepancies)."""
    return resource_dir("sample_data")
