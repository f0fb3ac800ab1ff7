"""The ``recon`` command: parse, call the library, print, exit. The only module that does so.

Every run error is one line on stderr and exit status 2 (contract section 3),
argparse's own usage errors included; a traceback is shown only with
``RECON_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .audit import AuditResult, Outcome, audit
from .errors import ReconError, UsageError
from .exitcodes import ExitCode, FailOn
from .report import FORMATS, write_reports

DEFAULT_OUT = "recon-report"


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors turned into recon's one-line, exit-2 form."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="recon", description="Reconcile and audit Nexudus billing credits.")
    parser.add_argument("--version", action="version", version=f"recon {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    audit_parser = commands.add_parser(
        "audit",
        help="audit a snapshot directory and write findings.json, report.md and report.html",
        description="Validate every record of a snapshot, run every rule, write the reports. "
        "Exit 0: no finding at or above --fail-on; 1: at least one; 2: the run could not be done.",
    )
    audit_parser.add_argument("snapshot", metavar="SNAPSHOT", help="the snapshot directory")
    audit_parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"report directory (default: {DEFAULT_OUT})",
    )
    audit_parser.add_argument(
        "--as-of",
        metavar="DATETIME",
        help="the moment the audit speaks for, ISO-8601 (default: now)",
    )
    audit_parser.add_argument(
        "--rules", metavar="FILE", help="a rule-set file laid over the default rule set"
    )
    audit_parser.add_argument(
        "--fail-on",
        choices=[level.value for level in FailOn],
        default=FailOn.ERROR.value,
        help="lowest severity that fails the run (default: error)",
    )
    audit_parser.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=list(FORMATS),
        metavar="FORMAT",
        help=f"write only this output ({', '.join(FORMATS)}); repeatable (default: all)",
    )
    audit_parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    audit_parser.set_defaults(handler=_audit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv``; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except ReconError as exc:
        print(f"recon: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        print("recon: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("RECON_DEBUG"):
            raise
        print(
            f"recon: internal error ({type(exc).__name__}: {exc}); please report it with the "
            "command you ran (RECON_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return int(ExitCode.RUN_ERROR)


def _audit(args: argparse.Namespace) -> ExitCode:
    result = audit(args.snapshot, rules=args.rules, as_of=args.as_of, fail_on=args.fail_on)
    written = write_reports(result, args.out, args.formats or tuple(FORMATS))
    if not args.quiet:
        print(_summary_text(result, written))
    return result.exit_code


def _summary_text(result: AuditResult, written: list[Path]) -> str:
    s = result.summary
    records = sum(file["records"] for file in s["snapshot"]["files"])
    counts = {outcome: sum(o.outcome is outcome for o in result.outcomes) for outcome in Outcome}
    severity = s["by_severity"]
    ran, skipped, disabled = (counts[outcome] for outcome in Outcome)
    lines = [
        f"recon audit {result.snapshot.path}: {records:,} records in "
        f"{len(s['snapshot']['files'])} files, as of {s['as_of']}",
        f"{len(result.outcomes)} rules: {ran} ran, {skipped} skipped, {disabled} disabled",
        f"{s['findings']:,} findings: {severity['error']:,} error, "
        f"{severity['warning']:,} warning, {severity['info']:,} info",
    ]
    width = max((len(o.rule) for o in result.outcomes), default=0)
    lines += [
        f"  {o.rule:<{width}}  {o.findings:>7,}  {o.severity.value}"
        for o in result.outcomes
        if o.findings
    ]
    lines += [
        f"  {o.rule:<{width}}  skipped: {o.reason}"
        for o in result.outcomes
        if o.outcome is Outcome.SKIPPED
    ]
    verdict = "FAIL" if result.exit_code is ExitCode.FINDINGS else "PASS"
    lines.append(f"{verdict} (--fail-on {result.fail_on.value}, exit {int(result.exit_code)})")
    report = next((path for path in written if path.suffix == ".html"), written[0])
    others = [path.name for path in written if path != report]
    lines.append(f"Report: {report}" + (f" (also {', '.join(others)})" if others else ""))
    return "\n".join(lines)
