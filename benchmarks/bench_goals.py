"""Every figure of issue 12's goal table, each beside its ratio to a DuckDB floor run alongside.

    .venv/bin/python benchmarks/bench_goals.py                       # 1M uses (small)
    .venv/bin/python benchmarks/bench_goals.py --sizes small --repeat 3
    .venv/bin/python benchmarks/bench_goals.py --sizes large         # 10M uses: opt-in, minutes

Needs the ``bench`` extra (``pip install -e '.[bench]'``: DuckDB, for the floor only).

For each size asked for, on the cached snapshots of ``bench_audit.py``
(``benchmarks/data/<size>/{parquet,jsonl}``, generated on first use), each row of
the goal table is measured as paired runs in child processes: ``recon audit`` (the
installed console script, ``--as-of 2025-12-31T00:00:00Z``) and then
``duckdb_floor.py`` on the same files. The floor is the contract's core rules
(balance tie-out, expiry, links) as DuckDB queries, reading the same files; on a
machine shared with other work an absolute time says little, and the ratio of two
runs made side by side says more.

Printed per row: recon's median wall time, CPU time (user and system, which what
else runs on the machine disturbs less) and peak RSS (``ru_maxrss``, the largest
over the runs), the floor's, the ratio of the median wall times, the
findings count against ``planted.json``, whether recon and the floor agree on the
count of each core rule's findings, and the issue's goal with a verdict. The goals
are set for 10M uses (``large``); for other sizes they are shown for reference, and
the ratio is the figure to compare.

The row "1M uses, JSON Lines, against an all-DuckDB implementation of every rule" is
measured twice. Against the floor of the core rules (row ``jsonl-ratio``): the floor
does less work than an every-rule implementation, so that ratio is an upper bound of
the goal's. And against ``duckdb_reference.py`` (row ``jsonl-reference``), every rule
of the default rule set as DuckDB SQL reading and judging every declared field of the
four entities: ``recon audit --format json`` and the reference run paired, alternating
which goes first, the floor columns then hold the reference's figures (marked
``ref``), the ratio is recon's median wall time over the reference's (goal: at most
0.5), and the agreement column says whether recon, the reference and ``planted.json``
count the same findings for every rule.

The row "JSON Lines, 0.05% of values untypeable" is measured against the clean
JSON Lines snapshot of the same size, not against the floor: ``make_snapshot.py
--untypeable 0.0005`` writes the same records (same seed) with 0.05% of the credits
and of the uses holding one value pyarrow cannot type (strings in amounts, bad
date-times, an object in an integer field), in ``benchmarks/data/<size>-untypeable/
jsonl`` (removed after a ``large`` run unless ``--keep-untypeable``: it is about 10
GB). ``recon audit --format json`` runs on the clean and the untypeable snapshot in
turn (alternating which goes first), and the row prints the untypeable run's figures,
the clean run's, their ratio (goal: at most 1.2) and whether the findings are exactly
right: every rule's count as ``planted.json`` expects, and the ``schema_violation``
findings counted per entity and field against what was planted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_audit  # noqa: E402  (the sibling script: snapshots, the child-process runner)
from duckdb_floor import RULES as FLOOR_RULES  # noqa: E402

GiB = 1024**3

SIZES = {**bench_audit.SIZES, "medium": (300_000, 3_000_000)}
"""bench_audit.py's sizes, and 3M uses for the scaling curve of docs/scale.md."""


@dataclass(frozen=True)
class Goal:
    """One row of the issue's goal table."""

    key: str
    figure: str
    fmt: str
    outputs: str  # "json" (--format json) or "all" (the five default outputs)
    seconds: float | None = None
    rss_gib: float | None = None
    ratio: float | None = None
    note: str = ""
    baseline: str = "floor"  # what recon runs beside: "floor" or "reference" (every rule)


GOALS = (
    Goal("parquet-json", "Parquet, --format json", "parquet", "json", seconds=9, rss_gib=3),
    Goal("parquet-all", "Parquet, all five outputs", "parquet", "all", seconds=15),
    Goal("jsonl-json", "JSON Lines, clean", "jsonl", "json", seconds=30, rss_gib=4),
    Goal(
        "jsonl-untypeable",
        "JSON Lines, 0.05% untypeable",
        "jsonl",
        "json",
        ratio=1.2,
        note="ratio and floor columns are against recon on the clean JSON Lines file, in the "
        "same run (goal: within 1.2x of clean)",
    ),
    Goal(
        "jsonl-ratio",
        "JSON Lines, ratio to DuckDB",
        "jsonl",
        "json",
        ratio=0.5,
        note="against the core-rule floor, not every rule: an upper bound of the goal's ratio "
        "(goal is for 1M uses)",
    ),
    Goal(
        "jsonl-reference",
        "JSON Lines, ratio to every-rule DuckDB",
        "jsonl",
        "json",
        ratio=0.5,
        note="against duckdb_reference.py, every default rule as DuckDB SQL (the 'ref' "
        "columns); agreement is every rule's count, recon = reference = planted.json "
        "(goal is for 1M uses)",
        baseline="reference",
    ),
)

BASELINES = {"floor": "duckdb_floor.py", "reference": "duckdb_reference.py"}
"""The DuckDB script each kind of baseline runs, in a child process."""


@dataclass
class Child:
    seconds: float
    cpu_seconds: float
    """User and system time: less sensitive than wall time to what else the machine runs."""
    max_rss_kb: int
    exit_status: int
    findings: int | None
    stderr: str


def run_child(command: list[str], stdout_path: Path) -> Child:
    """One child process: wall time from spawn to exit, CPU time and peak RSS (``wait4``)."""
    stderr_path = stdout_path.with_name(stdout_path.name + ".stderr")
    stdout_path.parent.mkdir(parents=True, exist_ok=True)
    with stdout_path.open("w+b") as stdout, stderr_path.open("w+b") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        stderr.seek(0)
        message = stderr.read().decode("utf-8", "replace").strip()
    return Child(
        seconds,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss,
        os.waitstatus_to_exitcode(status),
        None,
        message,
    )


def run_recon(snapshot: Path, out: Path, outputs: str) -> Child:
    """``recon audit`` as ``bench_audit.py`` runs it, with its CPU time."""
    shutil.rmtree(out, ignore_errors=True)
    command = [*bench_audit.recon_command(), "audit", str(snapshot), "--out", str(out)]
    command += ["--as-of", bench_audit.AS_OF, "-q"]
    if outputs == "json":
        command += ["--format", "json"]
    run = run_child(command, out.with_name(out.name + ".stdout"))
    with contextlib.suppress(OSError, ValueError, KeyError):
        run.findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))["summary"][
            "findings"
        ]
    return run


def ensure_snapshot(size: str, fmt: str, seed: int) -> Path:
    """The cached snapshot of ``size`` in ``fmt`` (``bench_audit.py``'s cache and layout),
    generated in both formats when missing."""
    credits, uses = SIZES[size]
    root = bench_audit.DATA / size
    target = root / fmt
    planted = root / "planted.json"
    if bench_audit._matches(planted, credits, uses, seed) and bench_audit._complete(target, fmt):
        return target
    print(f"generating {size} snapshot ({credits:,} credits, {uses:,} uses) in {root} ...")
    bench_audit.generate(credits, uses, root, "both", seed)
    return target


def run_floor(snapshot: Path, out: Path, baseline: str = "floor") -> tuple[Child, dict]:
    """The baseline's script (``duckdb_floor.py`` or ``duckdb_reference.py``) on ``SNAPSHOT
    --json`` in a child process, and what it found."""
    script = BASELINES[baseline]
    command = [sys.executable, str(HERE / script), str(snapshot), "--json"]
    stdout = out.with_name(f"{out.name}.{baseline}.json")
    run = run_child(command, stdout)
    if run.exit_status != 0:
        raise SystemExit(f"{script} failed on {snapshot}:\n{run.stderr}")
    return run, json.loads(stdout.read_text(encoding="utf-8"))


def recon_by_rule(out: Path) -> dict[str, int]:
    summary = json.loads((out / "findings.json").read_text(encoding="utf-8"))["summary"]
    return summary["by_rule"]


def measure(size: str, goal: Goal, repeat: int, seed: int) -> dict:
    """Paired runs of recon and the floor on one snapshot, alternating which goes first."""
    snapshot = ensure_snapshot(size, goal.fmt, seed)
    planted = json.loads((bench_audit.DATA / size / "planted.json").read_text(encoding="utf-8"))
    out = bench_audit.DATA / "out" / f"goals-{size}-{goal.key}"
    recon_runs, floor_runs, floor_result = [], [], None
    for index in range(repeat):
        order = ("recon", "floor") if index % 2 == 0 else ("floor", "recon")
        for which in order:
            if which == "recon":
                recon_runs.append(run_recon(snapshot, out, goal.outputs))
            else:
                run, floor_result = run_floor(snapshot, out, goal.baseline)
                floor_runs.append(run)
    last = recon_runs[-1]
    if last.exit_status == 2 or last.findings is None:
        raise SystemExit(f"recon audit failed on {snapshot}:\n{last.stderr}")
    by_rule = recon_by_rule(out)
    if goal.baseline == "floor":
        disagree = {
            rule: (by_rule.get(rule), floor_result["by_rule"][rule])
            for rule in FLOOR_RULES
            if by_rule.get(rule) != floor_result["by_rule"][rule]
        }
    else:  # every rule: recon, the reference and what was planted, (recon, ref, planted)
        expected = planted["expected_by_rule"]
        disagree = {
            rule: (
                by_rule.get(rule, 0),
                floor_result["by_rule"].get(rule, 0),
                expected.get(rule, 0),
            )
            for rule in sorted(set(by_rule) | set(floor_result["by_rule"]) | set(expected))
            if not by_rule.get(rule, 0)
            == floor_result["by_rule"].get(rule, 0)
            == expected.get(rule, 0)
        }
    recon_s = statistics.median(run.seconds for run in recon_runs)
    floor_s = statistics.median(run.seconds for run in floor_runs)
    return {
        "size": size,
        "uses": planted["records"]["uses"],
        "goal": goal.key,
        "recon_s": recon_s,
        "recon_times": [round(run.seconds, 3) for run in recon_runs],
        "recon_cpu_s": statistics.median(run.cpu_seconds for run in recon_runs),
        "recon_rss_gib": max(run.max_rss_kb for run in recon_runs) * 1024 / GiB,
        "floor_s": floor_s,
        "floor_times": [round(run.seconds, 3) for run in floor_runs],
        "floor_cpu_s": statistics.median(run.cpu_seconds for run in floor_runs),
        "floor_rss_gib": max(run.max_rss_kb for run in floor_runs) * 1024 / GiB,
        "ratio": recon_s / floor_s,
        "findings": last.findings,
        "expected": planted["expected_findings"],
        "baseline": goal.baseline,
        "core_rules": {rule: floor_result["by_rule"][rule] for rule in FLOOR_RULES},
        "baseline_by_rule": floor_result["by_rule"],
        "disagree": disagree,
        "floor_stages": floor_result["seconds"],
    }


def ensure_untypeable(size: str, seed: int, rate: float) -> Path:
    """The snapshot of ``size`` with ``rate`` of its credits and uses holding a value pyarrow
    cannot type (JSON Lines), generated when missing; ``planted.json`` is inside it."""
    credits, uses = SIZES[size]
    target = bench_audit.DATA / f"{size}-untypeable" / "jsonl"
    planted = target / "planted.json"
    with contextlib.suppress(OSError, ValueError, KeyError):
        info = json.loads(planted.read_text(encoding="utf-8"))
        same = bench_audit._matches(planted, credits, uses, seed)
        if same and info["untypeable"]["rate"] == rate and bench_audit._complete(target, "jsonl"):
            return target
    print(f"generating {size} snapshot with {rate:.4%} untypeable values in {target} ...")
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            str(HERE / "make_snapshot.py"),
            *("--credits", str(credits), "--uses", str(uses), "--out", str(target)),
            *("--format", "jsonl", "--seed", str(seed), "--untypeable", str(rate)),
        ],
        check=True,
    )
    return target


def findings_check(out: Path, planted: dict) -> dict:
    """Where recon's findings differ from what was planted: per rule, and the
    ``schema_violation`` findings per entity and field. Empty when exactly right."""
    document = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    wrong = {}
    by_rule = document["summary"]["by_rule"]
    for rule in sorted(set(by_rule) | set(planted["expected_by_rule"])):
        found, expected = by_rule.get(rule, 0), planted["expected_by_rule"].get(rule, 0)
        if found != expected:
            wrong[rule] = {"found": found, "expected": expected}
    per_field: dict[str, int] = {}
    for finding in document["findings"]:
        if finding["rule"] == "schema_violation":
            key = f"{finding['entity']}.{finding['field']}"
            per_field[key] = per_field.get(key, 0) + 1
    expected_fields = {
        f"{entity}.{name}": count
        for entity, fields in planted.get("expected_schema_violations_by_field", {}).items()
        for name, count in fields.items()
        if count
    }
    for key in sorted(set(per_field) | set(expected_fields)):
        if per_field.get(key, 0) != expected_fields.get(key, 0):
            wrong[f"schema_violation {key}"] = {
                "found": per_field.get(key, 0),
                "expected": expected_fields.get(key, 0),
            }
    return wrong


def measure_untypeable(size: str, repeat: int, seed: int, rate: float) -> dict:
    """Paired runs of ``recon audit --format json`` on the clean and the untypeable JSON Lines
    snapshots of ``size``, alternating which goes first."""
    snapshots = {
        "clean": ensure_snapshot(size, "jsonl", seed),
        "untypeable": ensure_untypeable(size, seed, rate),
    }
    planted = {
        "clean": json.loads((bench_audit.DATA / size / "planted.json").read_text("utf-8")),
        "untypeable": json.loads((snapshots["untypeable"] / "planted.json").read_text("utf-8")),
    }
    runs: dict[str, list[Child]] = {"clean": [], "untypeable": []}
    outs = {which: bench_audit.DATA / "out" / f"goals-{size}-{which}" for which in runs}
    for index in range(repeat):
        order = ("clean", "untypeable") if index % 2 == 0 else ("untypeable", "clean")
        for which in order:
            run = run_recon(snapshots[which], outs[which], "json")
            if run.exit_status not in (0, 1) or run.findings is None:
                raise SystemExit(f"recon audit failed on {snapshots[which]}:\n{run.stderr}")
            runs[which].append(run)
    row: dict = {"size": size, "uses": planted["clean"]["records"]["uses"], "rate": rate}
    for which, done in runs.items():
        row[which] = {
            "s": statistics.median(run.seconds for run in done),
            "times": [round(run.seconds, 3) for run in done],
            "cpu_s": statistics.median(run.cpu_seconds for run in done),
            "rss_gib": max(run.max_rss_kb for run in done) * 1024 / GiB,
            "findings": done[-1].findings,
            "expected": planted[which]["expected_findings"],
            "wrong": findings_check(outs[which], planted[which]),
        }
    row["untypeable"]["planted"] = planted["untypeable"]["untypeable"]
    row["ratio"] = row["untypeable"]["s"] / row["clean"]["s"]
    row["cpu_ratio"] = row["untypeable"]["cpu_s"] / row["clean"]["cpu_s"]
    row["rss_ratio"] = row["untypeable"]["rss_gib"] / row["clean"]["rss_gib"]
    return row


def print_untypeable(row: dict, goal: Goal) -> None:
    """The paired clean and untypeable runs, their ratios and the findings check."""
    planted = row["untypeable"]["planted"]
    fields = ", ".join(
        f"{name} {count}"
        for by_field in planted["by_field"].values()
        for name, count in by_field.items()
    )
    print(
        f"    untypeable against clean, {row['uses']:,} uses, JSON Lines, --format json: "
        f"{planted['values']:,} untypeable values planted ({fields})"
    )
    for which in ("clean", "untypeable"):
        run = row[which]
        right = "exactly right" if not run["wrong"] else f"WRONG {run['wrong']}"
        print(
            f"      {which:<10} {run['s']:7.2f} s  CPU {run['cpu_s']:7.2f} s  peak "
            f"{run['rss_gib']:.2f} GiB  findings {run['findings']:,}/{run['expected']:,} "
            f"({right}); runs {run['times']}"
        )
    met = "meets" if row["ratio"] <= goal.ratio else "misses"
    print(
        f"      ratio untypeable/clean: wall {row['ratio']:.2f}x, CPU {row['cpu_ratio']:.2f}x, "
        f"peak RSS {row['rss_ratio']:.2f}x; goal <= {goal.ratio:g}x (wall): {met}",
        flush=True,
    )


def verdict(goal: Goal, row: dict, size: str) -> str:
    checks = []
    if goal.seconds is not None:
        checks.append(row["recon_s"] <= goal.seconds)
    if goal.rss_gib is not None:
        checks.append(row["recon_rss_gib"] <= goal.rss_gib)
    if goal.ratio is not None:
        checks.append(row["ratio"] <= goal.ratio)
    if not checks:
        return ""
    word = "meets" if all(checks) else "misses"
    if goal.ratio is not None and not all(checks) and goal.baseline == "floor":
        word = "open (above the goal against the floor: says nothing of every rule)"
    target = "small" if goal.ratio is not None else "large"
    return word if size == target else f"({word} at this size)"


def goal_text(goal: Goal) -> str:
    parts = []
    if goal.seconds is not None:
        parts.append(f"<= {goal.seconds:g} s")
    if goal.rss_gib is not None:
        parts.append(f"<= {goal.rss_gib:g} GiB")
    if goal.ratio is not None:
        parts.append(f"ratio <= {goal.ratio:g}")
    return ", ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default="small",
        help="comma-separated: small (1M uses), medium (3M), large (10M, opt-in)",
    )
    parser.add_argument(
        "--goals",
        default=",".join(goal.key for goal in GOALS),
        help="comma-separated rows: " + ", ".join(goal.key for goal in GOALS),
    )
    parser.add_argument("--repeat", type=int, default=1, help="paired runs per row (median)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--results", type=Path, help="also write the rows as JSON here")
    parser.add_argument(
        "--untypeable-rate",
        type=float,
        default=0.0005,
        help="share of credits and uses holding an untypeable value (default 0.0005 = 0.05%%)",
    )
    parser.add_argument(
        "--keep-untypeable",
        action="store_true",
        help="keep the large untypeable snapshot (about 10 GB; removed after measuring)",
    )
    args = parser.parse_args(argv)
    sizes = [size for size in args.sizes.split(",") if size]
    keys = [key for key in args.goals.split(",") if key]
    unknown = [s for s in sizes if s not in SIZES] + [
        k for k in keys if k not in {goal.key for goal in GOALS}
    ]
    if unknown:
        parser.error(f"unknown size or goal {unknown[0]!r}")

    # The 10M-use JSON Lines file (8 GiB) is over recon's default cap on one file's size.
    os.environ.setdefault("RECON_MAX_FILE_BYTES", str(64 * GiB))
    fingerprint = bench_audit.source_fingerprint()
    load = os.getloadavg()
    print(
        f"issue 12 goals, {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M')}, load average "
        f"{load[0]:.1f} at start, repeat {args.repeat}, recon source {fingerprint}",
        flush=True,
    )
    header = (
        "uses",
        "figure",
        "recon s",
        "recon CPU s",
        "recon GiB",
        "floor s",
        "floor CPU s",
        "floor GiB",
        "ratio",
        "findings/expected",
        "core rules agree",
        "goal",
        "verdict",
    )
    rows, results, measured = [], [], {}
    for size in sizes:
        for goal in (goal for goal in GOALS if goal.key in keys):
            if goal.key == "jsonl-untypeable":
                row = measure_untypeable(size, args.repeat, args.seed, args.untypeable_rate)
                wrong = {**row["clean"]["wrong"], **row["untypeable"]["wrong"]}
                line = (
                    f"{row['uses']:,}",
                    goal.figure,
                    f"{row['untypeable']['s']:.2f}",
                    f"{row['untypeable']['cpu_s']:.2f}",
                    f"{row['untypeable']['rss_gib']:.2f}",
                    f"clean {row['clean']['s']:.2f}",
                    f"clean {row['clean']['cpu_s']:.2f}",
                    f"clean {row['clean']['rss_gib']:.2f}",
                    f"{row['ratio']:.2f}",
                    f"{row['untypeable']['findings']:,}/{row['untypeable']['expected']:,}",
                    "exact, per field" if not wrong else f"NO {wrong}",
                    f"<= {goal.ratio:g}x clean",
                    ("meets" if row["ratio"] <= goal.ratio else "misses")
                    + ("" if size == "large" else " (at this size)"),
                )
                rows.append(line)
                results.append(row | {"figure": goal.figure, "disagree": wrong})
                print("  " + " | ".join(line), flush=True)
                print_untypeable(row, goal)
                if size == "large" and not args.keep_untypeable:
                    shutil.rmtree(bench_audit.DATA / f"{size}-untypeable", ignore_errors=True)
                continue
            same = measured.get((size, goal.fmt, goal.outputs, goal.baseline))
            row = same or measure(size, goal, args.repeat, args.seed)
            measured[(size, goal.fmt, goal.outputs, goal.baseline)] = row
            agree = "yes" if not row["disagree"] else f"NO {row['disagree']}"
            mark = "ref " if goal.baseline == "reference" else ""
            if goal.baseline == "reference" and not row["disagree"]:
                agree = f"all {len(row['baseline_by_rule'])} rules (recon = ref = planted)"
            line = (
                f"{row['uses']:,}",
                goal.figure,
                f"{row['recon_s']:.2f}",
                f"{row['recon_cpu_s']:.2f}",
                f"{row['recon_rss_gib']:.2f}",
                f"{mark}{row['floor_s']:.2f}",
                f"{mark}{row['floor_cpu_s']:.2f}",
                f"{mark}{row['floor_rss_gib']:.2f}",
                f"{row['ratio']:.2f}",
                f"{row['findings']:,}/{row['expected']:,}",
                agree,
                goal_text(goal),
                verdict(goal, row, size),
            )
            rows.append(line)
            results.append(row | {"figure": goal.figure})
            print("  " + " | ".join(line), flush=True)
            if goal.note:
                print(f"    ({goal.note})", flush=True)
    for row in results:
        if "core_rules" not in row:
            continue
        if row["baseline"] == "reference":
            counts = ", ".join(f"{rule} {n}" for rule, n in row["baseline_by_rule"].items())
            stages = ", ".join(f"{name} {s:.2f}" for name, s in row["floor_stages"].items())
            print(
                f"  every-rule findings, {row['uses']:,} uses, {row['figure']}: {counts}\n"
                f"  reference stages (s, last run): {stages}\n"
                f"  recon against the reference: wall {row['ratio']:.2f}x, CPU "
                f"{row['recon_cpu_s'] / row['floor_cpu_s']:.2f}x, peak RSS "
                f"{row['recon_rss_gib'] / row['floor_rss_gib']:.2f}x; runs recon "
                f"{row['recon_times']}, reference {row['floor_times']}"
            )
            continue
        counts = ", ".join(f"{rule} {count}" for rule, count in row["core_rules"].items())
        print(f"  core-rule findings, {row['uses']:,} uses, {row['figure']}: {counts}")

    bench_audit.print_table(header, rows)
    print(
        f"\nload average at the end {os.getloadavg()[0]:.1f}; the goals are the issue's, for 10M "
        "uses unless the row says otherwise"
    )
    if bench_audit.source_fingerprint() != fingerprint:
        print(
            f"WARNING: recon's source changed during the run (now "
            f"{bench_audit.source_fingerprint()}): runs that started later measured new code",
            file=sys.stderr,
        )
    if args.results:
        document = {"recon_source": fingerprint, "rows": results}
        args.results.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    disagreements = [row for row in results if row["disagree"]]
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
