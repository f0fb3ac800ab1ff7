"""Break one in-process ``recon audit`` down by stage, and optionally profile it with cProfile.

    .venv/bin/python benchmarks/profile_audit.py benchmarks/data/large/parquet
    .venv/bin/python benchmarks/profile_audit.py benchmarks/data/large/jsonl \
        --cprofile /tmp/jsonl.pstats

Stages are timed by wrapping recon's own functions at run time (recon's source
is not touched): reading each file, coercing each entity (and within it each
column, date-time parsing apart), time-zone localisation, pandera validation,
each rule, each shared derived view of the rule context (charged where first
used, and shown as its own line), findings concatenation and sorting, the
summary (file hashes included) and each report output. The tree shows
inclusive seconds, the exclusive seconds of each node, and the call count.
With ``--cprofile`` the run is also profiled (cProfile adds overhead, roughly
10-30%; the stage tree then includes it) and the top functions by cumulative
and by own time are printed.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import importlib
import pstats
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

# ``recon.audit`` is the function the package exports, not the module: look modules up by name.
recon = SimpleNamespace(
    **{
        name: importlib.import_module(f"recon.{name}")
        for name in (
            "audit",
            "datetimes",
            "findings",
            "load",
            "readers",
            "report",
            "schemas",
            "snapshot",
            "stored_datetimes",
        )
    }
)
context_module = importlib.import_module("recon.derived")

AS_OF = "2025-12-31T00:00:00Z"


class StageTimer:
    """Inclusive and exclusive wall time per path of nested stage labels."""

    def __init__(self) -> None:
        self.stack: list[list] = []  # [label, started, child_seconds]
        self.inclusive: dict[tuple[str, ...], float] = defaultdict(float)
        self.exclusive: dict[tuple[str, ...], float] = defaultdict(float)
        self.calls: dict[tuple[str, ...], int] = defaultdict(int)
        self.order: list[tuple[str, ...]] = []

    def wrap(self, label, function):
        """``function`` timed under ``label`` (a string, or a callable of the arguments)."""

        @functools.wraps(function)
        def timed(*args, **kwargs):
            name = label(*args, **kwargs) if callable(label) else label
            self.stack.append([name, time.perf_counter(), 0.0])
            try:
                return function(*args, **kwargs)
            finally:
                name, started, children = self.stack.pop()
                elapsed = time.perf_counter() - started
                path = (*(frame[0] for frame in self.stack), name)
                if path not in self.calls:
                    self.order.append(path)
                self.inclusive[path] += elapsed
                self.exclusive[path] += elapsed - children
                self.calls[path] += 1
                if self.stack:
                    self.stack[-1][2] += elapsed

        return timed

    def patch(self, owner, name: str, label=None) -> None:
        setattr(owner, name, self.wrap(label or name, getattr(owner, name)))

    def report(self, total: float) -> str:
        lines = [f"{'stage':<62} {'incl s':>8} {'excl s':>8} {'%':>6} {'calls':>6}"]
        for path in sorted(
            self.order,
            key=lambda p: [
                self.order.index(p[: i + 1]) if p[: i + 1] in self.calls else 0
                for i in range(len(p))
            ],
        ):
            label = "  " * (len(path) - 1) + path[-1]
            lines.append(
                f"{label[:62]:<62} {self.inclusive[path]:8.2f} {self.exclusive[path]:8.2f} "
                f"{100 * self.inclusive[path] / total:6.1f} {self.calls[path]:6d}"
            )
        return "\n".join(lines)


def categories(
    inclusive: dict[tuple[str, ...], float], exclusive: dict[tuple[str, ...], float]
) -> list[tuple[str, float]]:
    """Seconds per stage of the brief: reading, coercion, parsing, zones, validation, each rule
    (with the shared views it was first to use), gathering, summary, reports."""
    totals: dict[str, float] = defaultdict(float)
    for path, seconds in exclusive.items():
        label, parents = path[-1], path[:-1]
        top = parents[1] if len(parents) > 1 and parents[0] == "audit" else None
        if label.startswith("read "):
            totals["reading files"] += seconds
        elif label in (
            "datetimes.parse_iso",
            "datetimes.from_timestamps",
            "stored_datetimes.parse",
        ):
            totals["date-time parsing (datetimes.parse_iso)"] += seconds
        elif label.startswith(("coerce ", "column ", "free columns")):
            totals["schema coercion, other than date-times"] += seconds
        elif label in ("zones of records", "datetimes.localise") or label.startswith(
            "localise_datetimes"
        ):
            totals["time-zone localisation"] += seconds
        elif label == "pandera validate (lazy)":
            totals["pandera validation"] += seconds
        elif label.startswith("validate ") or label == "merge violations":
            totals["typed frame + violations (schemas.validate, not pandera)"] += seconds
        elif top is not None and top.startswith("rule "):
            totals[top] += seconds
        elif label.startswith("rule "):
            totals[label] += seconds
        elif label in ("findings.concat", "findings.sort") and parents == ("audit",):
            totals["findings concat + sort"] += seconds
        elif label == "summary" or (parents[-1:] == ("summary",)):
            totals["summary (SHA-256 of inputs)"] += seconds
        elif path[0] == "write_reports":
            totals["reports (findings.json etc.)"] += seconds
        else:
            totals["other (load_snapshot glue, ruleset, audit)"] += seconds
    return sorted(totals.items(), key=lambda item: -item[1])


def parse_report(text: str):
    """The inclusive/exclusive seconds of a saved stage tree (the output of ``report``)."""
    inclusive: dict[tuple[str, ...], float] = defaultdict(float)
    exclusive: dict[tuple[str, ...], float] = defaultdict(float)
    stack: list[str] = []
    for line in text.splitlines():
        match = re.match(r"^( *)(\S.*?)\s+(-?[0-9.]+)\s+(-?[0-9.]+)\s+(-?[0-9.]+)\s+(\d+)$", line)
        if not match:
            continue
        depth = len(match.group(1)) // 2
        stack[depth:] = [match.group(2).strip()]
        inclusive[tuple(stack)] += float(match.group(3))
        exclusive[tuple(stack)] += float(match.group(4))
    return inclusive, exclusive


def format_categories(rows: list[tuple[str, float]], total: float | None = None) -> str:
    total = total if total is not None else sum(seconds for _, seconds in rows)
    lines = [f"{'stage':<58} {'seconds':>8} {'%':>6}"]
    lines += [
        f"{name[:58]:<58} {seconds:8.2f} {100 * seconds / total:6.1f}" for name, seconds in rows
    ]
    lines.append(f"{'total':<58} {total:8.2f}")
    return "\n".join(lines)


def _entity_label(entity, *args, **kwargs):
    return f"{entity.name}"


def instrument(timer: StageTimer) -> None:
    # Loading
    timer.patch(recon.readers, "read", lambda file, **k: f"read {file.path.name}")
    timer.patch(recon.schemas, "coerce", lambda entity, raw, **k: f"coerce {entity.name}")
    timer.patch(
        recon.schemas,
        "_coerce_column",
        lambda column, spec, *_, **k: f"column {spec.name} ({spec.kind.name.lower()})",
    )
    timer.patch(recon.schemas, "_free_column", "free columns")
    timer.patch(recon.datetimes, "parse_iso", "datetimes.parse_iso")
    timer.patch(recon.datetimes, "from_timestamps", "datetimes.from_timestamps")
    timer.patch(recon.stored_datetimes, "parse", "stored_datetimes.parse")
    timer.patch(recon.load, "_zones", "zones of records")
    timer.patch(
        recon.schemas,
        "localise_datetimes",
        lambda coerced, zones: f"localise_datetimes {coerced.entity.name}",
    )
    timer.patch(recon.datetimes, "localise", "datetimes.localise")
    timer.patch(recon.schemas, "validate", lambda coerced: f"validate {coerced.entity.name}")
    timer.patch(recon.schemas, "_pandera_violations", "pandera validate (lazy)")
    timer.patch(recon.schemas, "_merge_violations", "merge violations")
    timer.patch(recon.audit, "load_snapshot", "load_snapshot")
    timer.patch(recon.audit, "load_ruleset", "load_ruleset")
    # Rules and the shared views they use
    timer.patch(recon.audit, "_run", lambda rule, ctx: f"rule {rule.id}")
    for name, attribute in vars(context_module.Derived).items():
        if hasattr(attribute, "func") and hasattr(attribute, "attrname"):  # cached_property
            attribute.func = timer.wrap(f"ctx.{name}", attribute.func)
    original = context_module._OccurrenceCache.__missing__
    context_module._OccurrenceCache.__missing__ = timer.wrap(
        lambda self, key: f"ctx.occurrences {key[0].name}.{key[1]}", original
    )
    if not hasattr(vars(context_module.Derived).get("credit_ids_of_uses"), "attrname"):
        # A method in older recon (a cached_property now, wrapped by the loop above).
        timer.patch(context_module.Derived, "credit_ids_of_uses", "ctx.credit_ids_of_uses")
    timer.patch(recon.findings, "make", "findings.make")
    # Gathering
    timer.patch(recon.findings, "concat", "findings.concat")
    timer.patch(recon.findings, "sort", "findings.sort")
    timer.patch(recon.audit, "_summary", "summary")
    timer.patch(recon.snapshot, "sha256_file", lambda path: f"sha256 {path.name}")
    # Reports
    context = importlib.import_module("recon.report.context")
    templates = importlib.import_module("recon.report.templates")
    timer.patch(context, "build_context", "report.build_context")
    timer.patch(context, "findings_records", "findings_records")
    timer.patch(importlib.import_module("recon.report.findings_json"), "render", "findings.json")
    timer.patch(templates, "render_template", lambda name, *a, **k: f"render {name}")
    timer.patch(recon.report, "write_atomically", "write files")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("snapshot", type=Path, nargs="?")
    parser.add_argument(
        "--summarise", type=Path, help="print the stage summary of a saved stage tree and stop"
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/recon-profile-out"))
    parser.add_argument("--outputs", choices=("json", "all"), default="json")
    parser.add_argument("--rules", type=Path)
    parser.add_argument(
        "--cprofile", type=Path, help="also run under cProfile; write the stats here"
    )
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--no-stages", action="store_true", help="cProfile only, no stage wrappers")
    args = parser.parse_args(argv)
    if args.summarise:
        print(format_categories(categories(*parse_report(args.summarise.read_text()))))
        return 0
    if args.snapshot is None:
        parser.error("give a SNAPSHOT directory (or --summarise FILE)")

    timer = StageTimer()
    if not args.no_stages:
        instrument(timer)
    formats = ("json",) if args.outputs == "json" else tuple(recon.report.FORMATS)

    def run():
        result = timer.wrap("audit", recon.audit.audit)(
            args.snapshot, rules=args.rules, as_of=AS_OF
        )
        timer.wrap("write_reports", recon.report.write_reports)(result, args.out, formats)
        return result

    profiler = cProfile.Profile() if args.cprofile else None
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    result = run()
    if profiler:
        profiler.disable()
    total = time.perf_counter() - started

    bench = importlib.import_module("bench_audit")
    print(f"recon source {bench.source_fingerprint()}")
    print(
        f"{args.snapshot}: {result.summary['findings']:,} findings, exit {int(result.exit_code)}, "
        f"{total:.2f} s in process{' under cProfile' if profiler else ''}"
    )
    if not args.no_stages:
        print(timer.report(total))
        print()
        print(format_categories(categories(timer.inclusive, timer.exclusive), total))
    if profiler:
        profiler.dump_stats(args.cprofile)
        stats = pstats.Stats(profiler, stream=sys.stdout)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
