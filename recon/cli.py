"""The ``recon`` command: parse, call the library, print, exit. The only module that does so.

Every run error is one line on stderr and exit status 2 (contract section 3),
argparse's own usage errors included; a traceback is shown only with
``RECON_DEBUG=1``. Whatever is printed is scrubbed of the credentials in the
environment, whichever path it came by.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import __version__
from .audit import AuditResult, Outcome, audit, parse_as_of
from .errors import ReconError, UsageError
from .exitcodes import ExitCode, FailOn
from .fetch import FetchOptions, credentials, fetch
from .fetch import options as fetch_bounds
from .fetch.client import DEFAULT_BASE_URL, MAX_PAGE_SIZE
from .fetch.credentials import redact
from .report import FORMATS, write_reports
from .sandbox.cli import add_parser as add_sandbox_parser
from .snapshot import MANIFEST

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
        help="audit a snapshot directory and write findings.json and the reports",
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
    _add_audit_options(audit_parser)
    audit_parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    audit_parser.set_defaults(handler=_audit)

    fetch_parser = commands.add_parser(
        "fetch",
        help="fetch the four billing entities from the Nexudus API into a snapshot",
        description="Fetch credits, their uses, extra-service allowances and their uses into "
        "SNAPSHOT (Parquet and manifest.json). Credentials come from NEXUDUS_TOKEN, or "
        "NEXUDUS_USERNAME and NEXUDUS_PASSWORD. An interrupted fetch resumes when run again.",
    )
    fetch_parser.add_argument("--out", required=True, metavar="SNAPSHOT", help="snapshot directory")
    _add_fetch_options(fetch_parser)
    fetch_parser.set_defaults(handler=_fetch)

    run_parser = commands.add_parser(
        "run",
        help="fetch a snapshot into DIR/snapshot, then audit it into DIR",
        description="recon fetch, then recon audit, for a CI gate: the exit status is the audit's.",
    )
    run_parser.add_argument(
        "--out", required=True, metavar="DIR", help="snapshot (DIR/snapshot) and report directory"
    )
    _add_fetch_options(run_parser)
    _add_audit_options(run_parser)
    run_parser.set_defaults(handler=_run)

    add_sandbox_parser(commands)
    return parser


def _add_fetch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, metavar="URL", help=f"default: {DEFAULT_BASE_URL}"
    )
    parser.add_argument(
        "--filter",
        dest="filters",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an API filter, e.g. CoworkerBookingCredit_BusinessId=1201 or "
        "from_CoworkerBookingCreditUseHistory_CreatedOn=2025-01-01T00:00; repeatable",
    )
    parser.add_argument(
        "--since",
        metavar="DATETIME",
        help="fetch only records updated since then and merge them into the snapshot in --out",
    )
    parser.add_argument(
        "--find-deletions",
        action="store_true",
        help="also walk every Id to drop records the API no longer has (what --since cannot see)",
    )
    parser.add_argument("--page-size", type=_positive, default=1000, metavar="N", help="1 to 1000")
    parser.add_argument(
        "--concurrency",
        type=_positive,
        default=4,
        metavar="N",
        help="requests in flight (default 4)",
    )
    parser.add_argument(
        "--limits",
        choices=("documented", "off"),
        default="documented",
        help="client-side rate limits: the API's documented ones (default), or off for a sandbox",
    )
    fetch_bounds.add_arguments(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summary")


def _add_audit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of",
        metavar="DATETIME",
        help="the moment the audit speaks for, ISO-8601 (default: now)",
    )
    parser.add_argument(
        "--rules", metavar="FILE", help="a rule-set file laid over the default rule set"
    )
    parser.add_argument(
        "--fail-on",
        choices=[level.value for level in FailOn],
        default=FailOn.ERROR.value,
        help="lowest severity that fails the run (default: error)",
    )
    parser.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=list(FORMATS),
        metavar="FORMAT",
        help=f"write only this output ({', '.join(FORMATS)}); repeatable (default: all)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv``; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except ReconError as exc:
        _error(str(exc))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _error("interrupted; a fetch resumes where it stopped when run again")
        return 130
    except Exception as exc:
        if os.environ.get("RECON_DEBUG"):
            raise
        _error(
            f"internal error ({type(exc).__name__}: {exc}); please report it with the "
            "command you ran (RECON_DEBUG=1 shows the traceback)"
        )
        return int(ExitCode.RUN_ERROR)


def _error(message: str) -> None:
    secrets = tuple(os.environ.get(name, "") for name in (credentials.TOKEN, credentials.PASSWORD))
    line = " ".join(redact(message, secrets).split())
    print(f"recon: {line}", file=sys.stderr)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def _fetch_options(args: argparse.Namespace) -> FetchOptions:
    filters = {}
    for item in args.filters:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise UsageError(f"--filter '{item}' is not NAME=VALUE")
        filters[name] = value
    since = parse_as_of(args.since).to_pydatetime() if args.since else None
    if args.page_size > MAX_PAGE_SIZE:
        raise UsageError(
            f"--page-size {args.page_size} is above the API's maximum of {MAX_PAGE_SIZE}"
        )
    return FetchOptions(
        base_url=args.base_url,
        filters=filters,
        since=since,
        find_deletions=args.find_deletions,
        page_size=args.page_size,
        concurrency=args.concurrency,
        limits=args.limits,
        **fetch_bounds.values(args),
    )


def _fetch(args: argparse.Namespace) -> ExitCode:
    _fetch_into(Path(args.out), args)
    return ExitCode.OK


def _run(args: argparse.Namespace) -> ExitCode:
    out = Path(args.out)
    snapshot = out / "snapshot"
    _fetch_into(snapshot, args)
    result = audit(snapshot, rules=args.rules, as_of=args.as_of, fail_on=args.fail_on)
    written = write_reports(result, out, args.formats or tuple(FORMATS))
    if not args.quiet:
        print(_summary_text(result, written))
    return result.exit_code


def _fetch_into(snapshot: Path, args: argparse.Namespace) -> None:
    options = _fetch_options(args)
    started = time.monotonic()
    manifest = fetch(snapshot, options, progress=not args.quiet and sys.stderr.isatty())
    if not args.quiet:
        print(_fetch_summary(snapshot, manifest, time.monotonic() - started))


def _fetch_summary(snapshot: Path, manifest: dict, seconds: float) -> str:
    entities = manifest["entities"]
    records = sum(entity["records"] for entity in entities.values())
    lines = [
        f"recon fetch {manifest['base_url']}: {records:,} records of {len(entities)} entities in "
        f"{seconds:.1f} s, {manifest['requests']:,} requests ({manifest['retries']} retried, "
        f"{manifest['throttled']} throttled)" + (", resumed" if manifest["resumed"] else "")
    ]
    width = max(len(name) for name in entities)
    for name, entity in entities.items():
        lines.append(
            f"  {name:<{width}}  {entity['records']:>9,} records  {entity['paging']}, "
            f"{entity['pages']} page{'' if entity['pages'] == 1 else 's'}"
        )
        lines += [f"  {'':<{width}}  note: {note}" for note in entity["notes"]]
    for name, role in manifest.get("refused", {}).items():
        lines.append(f"  {name}: refused (the account lacks {role}); the audit skips its rules")
    lines.append(f"Snapshot: {snapshot} ({MANIFEST})")
    return "\n".join(lines)


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
