"""The import graph flows one way (docs/architecture.md): each module imports only from
its own layer or the layers below it, and the commands that print a version or help
load none of the heavy libraries."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import recon

PACKAGE = Path(recon.__file__).resolve().parent

LAYERS: tuple[tuple[str, ...], ...] = (
    # 0: facts and small tools every layer may use
    (
        "_version",
        "entities",
        "fields",
        "findings",
        "config",
        "exitcodes",
        "errors",
        "money",
        "datetimes",
        "nexudus",
        "resources",
        "byte_matrix",
        "rows",
        "moments",
        "argtypes",
        "files",
    ),
    # 1: reading and typing a snapshot
    ("snapshot", "stored_datetimes", "readers", "odd_lines", "exact", "schemas", "load"),
    # 2: the derived values
    ("derived",),
    # 3: the rules
    ("checks",),
    # 4: an audit, and what is computed from its result
    (
        "audit",
        "reconciliation",
        "catalogue",
        "fingerprints",
        "baseline",
        "impact",
        "waivers",
        "materiality",
        "closing",
    ),
    # 5: presenting an audit; fetching a snapshot; the API simulator; a close's bundle
    ("report", "fetch", "sandbox", "bundle"),
    # 6: the command line and the package's public face
    ("cli", "__main__", "__init__"),
)
LAYER_OF = {name: layer for layer, names in enumerate(LAYERS) for name in names}


def _top(module: str) -> str:
    """``recon.report.html`` -> ``report``; ``recon`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(module: str, path: Path) -> set[str]:
    """Every recon module ``module`` imports, at its top or inside a function."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [f"{target}.{alias.name}" for alias in node.names]
            targets.update(name if name in _MODULES else target for name in names)
        elif isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
    return {target for target in targets if target == "recon" or target.startswith("recon.")}


_MODULES = _modules()


def test_every_module_has_a_layer():
    assert {_top(name) for name in _MODULES} <= set(LAYER_OF)


@pytest.mark.parametrize("module", sorted(_MODULES))
def test_imports_flow_down_the_layers(module):
    own = LAYER_OF[_top(module)]
    upward = {
        target for target in _imports(module, _MODULES[module]) if LAYER_OF[_top(target)] > own
    }
    assert not upward, f"{module} (layer {own}) imports from a layer above it: {upward}"


def test_rules_never_import_fetching_reporting_or_the_cli():
    for module, path in _MODULES.items():
        if _top(module) in ("checks", "derived"):
            reached = {_top(target) for target in _imports(module, path)}
            assert not reached & {"fetch", "report", "sandbox", "cli"}, module


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["--help"], ["audit", "--help"], ["close", "--help"], ["verify", "--help"]],
)
def test_version_and_help_load_no_heavy_library(argv):
    probe = (
        "import sys, runpy\n"
        f"sys.argv = ['recon', *{argv!r}]\n"
        "try:\n"
        "    runpy.run_module('recon', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in ('pandas', 'pyarrow', 'httpx', 'pandera', 'numpy', 'jinja2')"
        " if m in sys.modules)\n"
        "print('LOADED', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stderr.strip().splitlines()[-1] == "LOADED []", done.stderr
