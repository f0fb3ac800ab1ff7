"""The ``recon`` command: parse, call the library, print, exit. The only module that does so.

Every run error is one line on stderr and exit status 2 (contract section 3),
argparse's own usage errors included; a traceback is shown only with
``RECON_DEBUG=1``. Whatever is printed is scrubbed of the credentials in the
environment, whichever path it came by.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from ._version import __version__
from .argtypes import positive_whole
from .errors import ReconError, UsageError
from .exitcodes import ExitCode, FailOn
from .nexudus import DEFAULT_BASE_URL, MAX_PAGE_SIZE
from .report.formats import DEFAULT_FORMATS, FORMATS

if TYPE_CHECKING:
    from .audit import AuditResult
    from .fetch import FetchOptions

# Each command imports what it needs when it runs: `recon --version` and `recon --help`
# load neither pandas, pyarrow nor httpx.

DEFAULT_OUT = "recon-report"
FAIL_ON_HELP = (
    "what fails the run: error (default) or warning, the lowest severity of an unwaived "
    "finding that does; never; or material: exit 1 when, in some currency, the findings at "
    "or above clearly trivial (waived ones included: an accepted misstatement is still a "
    "misstatement) reach the rule set's overall materiality ([materiality.<CURRENCY>]; "
    "without one, exit 2)"
)


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors turned into recon's one-line, exit-2 form, and a
    suggestion for a mistyped command or choice."""

    def error(self, message: str) -> NoReturn:
        wrong = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if wrong:
            choices = re.findall(r"'?([\w-]+)'?", wrong.group(2))
            close = difflib.get_close_matches(wrong.group(1), choices, n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
        raise UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="recon", description="Reconcile and audit Nexudus billing credits.")
    parser.add_argument("-V", "--version", action="version", version=f"recon {__version__}")
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
    audit_parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print nothing when the gate passes; only the one-line verdict when it fails",
    )
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

    rules_parser = commands.add_parser(
        "rules",
        help="list the rules, explain one, or print the default rule set",
        description="List every rule with its severity and whether it runs (under --rules, "
        "laid over the default rule set); 'recon rules explain RULE' prints what docs/rules.md "
        "says of it; 'recon rules --default' prints the default rule set to copy and tune.",
    )
    rules_parser.add_argument(
        "explain",
        nargs="*",
        metavar="explain RULE",
        help="explain one rule, e.g. explain orphan_use",
    )
    rules_parser.add_argument("--rules", metavar="FILE", help="a rule-set file to apply")
    rules_parser.add_argument(
        "--default", action="store_true", help="print the default rule set (TOML) and stop"
    )
    rules_parser.set_defaults(handler=_rules)

    waivers_parser = commands.add_parser(
        "waivers",
        help="check a waiver file without auditing",
        description="recon waivers check FILE: read every waiver of FILE and check it as an "
        "audit would (required keys, unknown keys, an approver other than the owner, known "
        "rules, dates, amounts) and, with --rules, as the rule set's [waivers] approvers and "
        "max_days allow. Exit 0 when every waiver is well formed, 2 naming the first "
        "waiver and key that is not.",
    )
    waivers_parser.add_argument("action", choices=["check"], help="what to do: check")
    waivers_parser.add_argument("file", metavar="FILE", help="the waiver file (TOML)")
    waivers_parser.add_argument(
        "--rules",
        metavar="RULES",
        help="a rule-set file: check its [waivers] approvers and max_days too",
    )
    waivers_parser.add_argument(
        "--as-of",
        metavar="DATETIME",
        help="the audit's as-of (default: now): max_days counts from it for a waiver with no "
        "'approved' date",
    )
    waivers_parser.set_defaults(handler=_waivers)

    close_parser = commands.add_parser(
        "close",
        help="close a month: roll-forward, breakage, maturity and a sealed evidence bundle",
        description="Audit SNAPSHOT as of the end of --period, close the period and write the "
        "evidence bundle --out (a new or empty directory). Exit 0: no finding at or above "
        "--fail-on; 1: at least one; 2: the close could not be made.",
    )
    close_parser.add_argument("snapshot", metavar="SNAPSHOT", help="the snapshot directory")
    close_parser.add_argument(
        "--period", required=True, metavar="YYYY-MM", help="the month to close, e.g. 2025-11"
    )
    close_parser.add_argument(
        "--out", required=True, metavar="BUNDLE", help="the bundle directory (new or empty)"
    )
    close_parser.add_argument(
        "--previous",
        metavar="PREV_BUNDLE",
        help="the bundle of the month before: its closing becomes opening_sealed, and every "
        "change to its closed records is a finding",
    )
    close_parser.add_argument(
        "--rules", metavar="FILE", help="a rule-set file laid over the default rule set"
    )
    close_parser.add_argument(
        "--basis",
        choices=("recorded", "usage"),
        default="recorded",
        help="a use takes effect at its CreatedOn (recorded, default) or its usage time (usage)",
    )
    close_parser.add_argument(
        "--fail-on",
        choices=[level.value for level in FailOn],
        default=FailOn.ERROR.value,
        help=FAIL_ON_HELP,
    )
    close_parser.add_argument(
        "--waivers",
        metavar="FILE",
        help="a waiver file (TOML), applied as recon audit does (the rule set's [waivers] "
        "policy included; waived findings still count toward materiality) and kept in the "
        "bundle",
    )
    close_parser.add_argument(
        "--baseline",
        metavar="OLD",
        help="an earlier run's findings.json (or report directory, or the previous bundle): "
        "mark each finding, the close's own included, new, unchanged or updated; kept in the "
        "bundle as baseline.json",
    )
    close_parser.add_argument(
        "--fail-on-new",
        action="store_true",
        help="with --baseline: exit 1 only for new or updated findings at or above --fail-on",
    )
    close_parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only the verdict line when it fails"
    )
    close_parser.set_defaults(handler=_close)

    verify_parser = commands.add_parser(
        "verify",
        help="check that a close bundle still holds what its close wrote",
        description="Check every file of BUNDLE against its manifest-sha256.txt. Exit 0 "
        "verified; 1 a difference (named); 2 could not verify.",
    )
    verify_parser.add_argument("bundle", metavar="BUNDLE", help="a bundle written by recon close")
    verify_parser.add_argument(
        "--previous",
        metavar="PREV_BUNDLE",
        help="also check the chain: PREV_BUNDLE verifies and is the one BUNDLE was closed on",
    )
    verify_parser.add_argument(
        "--rederive",
        action="store_true",
        help="close again from the bundle's own snapshot and rules and compare every byte",
    )
    verify_parser.set_defaults(handler=_verify)

    sample_parser = commands.add_parser(
        "sample",
        help="write the sample snapshot into DIR, to try recon without data of your own",
        description="Write the sample snapshot shipped with recon (369 credits, their uses, "
        "allowances and theirs, with planted discrepancies) into DIR.",
    )
    sample_parser.add_argument("dir", metavar="DIR", help="a new or empty directory")
    sample_parser.set_defaults(handler=_sample)

    from .sandbox.cli import add_parser as add_sandbox_parser

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
        help="an API filter, e.g. "
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
    parser.add_argument(
        "--page-size", type=positive_whole, default=1000, metavar="N", help="1 to 1000"
    )
    parser.add_argument(
        "--concurrency",
        type=positive_whole,
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
    from .fetch import options as fetch_bounds

    fetch_bounds.add_arguments(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars or summary")


def _add_audit_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of",
        metavar="DATETIME",
        help="the moment the audit speaks for, ISO-8601 (default: now). A value without an "
        "offset is read in UTC; a date alone (2025-12-31) means the end of that day, "
        "2025-12-31T23:59:59.999999Z",
    )
    parser.add_argument(
        "--rules", metavar="FILE", help="a rule-set file laid over the default rule set"
    )
    parser.add_argument(
        "--fail-on",
        choices=[level.value for level in FailOn],
        default=FailOn.ERROR.value,
        help=FAIL_ON_HELP,
    )
    parser.add_argument(
        "--baseline",
        metavar="OLD",
        help="an earlier run's findings.json (or its report directory, or a close bundle): "
        "mark each finding new, unchanged or updated, and list the resolved ones",
    )
    parser.add_argument(
        "--fail-on-new",
        action="store_true",
        help="with --baseline: exit 1 only for new or updated findings at or above --fail-on "
        "(not with --fail-on material, which judges every finding's money, known or new)",
    )
    parser.add_argument(
        "--waivers",
        metavar="FILE",
        help="a waiver file (TOML): accepted exceptions, each with its approver, expiry and "
        "amount; a finding a waiver holds for stays listed and does not fail the run by its "
        "severity, but its money still counts toward materiality (--fail-on material). The "
        "rule set's [waivers] approvers and max_days apply",
    )
    parser.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=list(FORMATS),
        metavar="FORMAT",
        help=f"write only this output ({', '.join(FORMATS)}); repeatable "
        f"(default: {', '.join(DEFAULT_FORMATS)})",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv``; returns the exit status."""
    # Text the terminal cannot show (an ASCII-only locale, API text in any script) is
    # escaped, never an error after the reports were written.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        args = build_parser().parse_args(argv)
        return int(args.handler(args))
    except BrokenPipeError:
        # `recon ... | head`: the reader left; the outputs are written and the exit status
        # the command decided stands (see _say).
        return int(_STATUS.get("exit", ExitCode.OK))
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


_STATUS: dict[str, int] = {}
"""The exit status a command has decided, for when its printing fails (a closed pipe)."""


def _say(text: str, status: int) -> None:
    """Print ``text`` to stdout for a command whose exit status is ``status``. When the
    reader has gone (a closed pipe), stop quietly: stdout goes to /dev/null so Python's
    final flush cannot fail, and the status stands."""
    _STATUS["exit"] = status
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise


def _error(message: str) -> None:
    from .fetch import credentials
    from .fetch.credentials import redact

    secrets = tuple(os.environ.get(name, "") for name in (credentials.TOKEN, credentials.PASSWORD))
    line = " ".join(redact(message, secrets).split())
    print(f"recon: {line}", file=sys.stderr)


def _fetch_bound_values(args: argparse.Namespace) -> dict[str, object]:
    from .fetch import options as fetch_bounds

    return fetch_bounds.values(args)


def _fetch_options(args: argparse.Namespace) -> FetchOptions:
    from .audit import parse_as_of
    from .fetch import FetchOptions

    filters = {}
    for item in args.filters:
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise UsageError(f"--filter '{item}' is not NAME=VALUE")
        filters[name] = value
    since = parse_as_of(args.since, "--since").to_pydatetime() if args.since else None
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
        **_fetch_bound_values(args),
    )


def _fetch(args: argparse.Namespace) -> ExitCode:
    _fetch_into(Path(args.out), args)
    return ExitCode.OK


def _run(args: argparse.Namespace) -> ExitCode:
    from .audit import audit
    from .report import write_reports

    out = Path(args.out)
    snapshot = out / "snapshot"
    as_of = _moment(args.as_of, "--as-of")
    over_time = _over_time(args)  # a bad waiver file or rule set: before anything is fetched
    _fetch_into(snapshot, args)
    result = audit(snapshot, rules=args.rules, as_of=as_of, fail_on=args.fail_on, **over_time)
    written = write_reports(result, out, args.formats or DEFAULT_FORMATS, title=_run_title(out))
    _report(result, written, quiet=args.quiet)
    return result.exit_code


def _fetch_into(snapshot: Path, args: argparse.Namespace) -> None:
    from .fetch import fetch

    options = _fetch_options(args)
    started = time.monotonic()
    manifest = fetch(snapshot, options, progress=not args.quiet and sys.stderr.isatty())
    if not args.quiet:
        _say(_fetch_summary(snapshot, manifest, time.monotonic() - started), int(ExitCode.OK))


def _fetch_summary(snapshot: Path, manifest: dict, seconds: float) -> str:
    from .snapshot import MANIFEST

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
    scope = manifest.get("scope")
    if scope:
        lines.append(f"  scope: location {', '.join(map(str, scope['locations']))}")
        lines += [
            f"  {name}: scope applied {entity['scope']['applied']}"
            for name, entity in entities.items()
            if entity.get("scope", {}).get("applied", "by the API") != "by the API"
        ]
    for name, role in manifest.get("refused", {}).items():
        lines.append(f"  {name}: refused (the account lacks {role}); the audit skips its rules")
    lines.append(f"Snapshot: {snapshot} ({MANIFEST})")
    return "\n".join(lines)


def _audit(args: argparse.Namespace) -> ExitCode:
    from .audit import audit
    from .report import write_reports

    as_of = _moment(args.as_of, "--as-of")
    progress = _Progress(enabled=not args.quiet and sys.stderr.isatty())
    result = audit(
        args.snapshot,
        rules=args.rules,
        as_of=as_of,
        fail_on=args.fail_on,
        progress=progress,
        **_over_time(args),
    )
    progress("writing the reports")
    written = write_reports(result, args.out, args.formats or DEFAULT_FORMATS)
    progress.done()
    _report(result, written, quiet=args.quiet)
    return result.exit_code


def _over_time(args: argparse.Namespace) -> dict[str, object]:
    """The audit's --baseline, --fail-on-new, --waivers and --fail-on material, checked as
    the user gave them (errors name the option), against the rule set of --rules."""
    from .audit import FAIL_ON_NEW_AND_MATERIAL, load_ruleset_waivers, parse_as_of
    from .config import load_ruleset
    from .materiality import require_thresholds

    if args.fail_on_new and not args.baseline:
        raise UsageError("--fail-on-new needs --baseline OLD (an earlier run's findings.json)")
    fail_on = FailOn(args.fail_on)
    if fail_on is FailOn.MATERIAL and args.fail_on_new:
        raise UsageError(FAIL_ON_NEW_AND_MATERIAL)
    ruleset = load_ruleset(args.rules)
    require_thresholds(ruleset, fail_on)
    chosen: dict[str, object] = {}
    as_of = parse_as_of(args.as_of, "--as-of")
    if args.waivers is not None:
        chosen["waivers"] = load_ruleset_waivers(args.waivers, ruleset, as_of, name="--waivers")
    if args.baseline is not None:
        from .baseline import load_baseline

        earlier = load_baseline(args.baseline, "--baseline", before=as_of)
        chosen.update(baseline=earlier, fail_on_new=args.fail_on_new)
    return chosen


def _waivers(args: argparse.Namespace) -> ExitCode:
    if args.action != "check":
        raise UsageError("recon waivers takes 'check FILE' (see 'recon waivers --help')")
    from .audit import load_ruleset_waivers, parse_as_of
    from .config import load_ruleset

    ruleset = load_ruleset(args.rules)
    as_of = parse_as_of(args.as_of, "--as-of")
    checked = load_ruleset_waivers(args.file, ruleset, as_of, name="waiver file")
    policy = ruleset.waiver_policy
    under = []
    if policy.approvers is not None:
        under.append(f"{len(policy.approvers)} approvers")
    if policy.max_days is not None:
        under.append(f"max_days {policy.max_days}")
    policy_text = ", ".join(under) or "no [waivers] policy"
    rules = f" under {args.rules} ({policy_text})" if args.rules else ""
    _say(
        f"{args.file}: {len(checked.waivers)} waivers, every one well formed{rules}",
        int(ExitCode.OK),
    )
    return ExitCode.OK


def _close(args: argparse.Namespace) -> ExitCode:
    from .bundle import close

    progress = _Progress(enabled=not args.quiet and sys.stderr.isatty())
    result = close(
        args.snapshot,
        period=args.period,
        out=args.out,
        previous=args.previous,
        rules=args.rules,
        basis=args.basis,
        fail_on=args.fail_on,
        waivers=args.waivers,
        baseline=args.baseline,
        fail_on_new=args.fail_on_new,
        progress=progress,
    )
    progress.done()
    status = int(result.exit_code)
    if args.quiet:
        if result.exit_code is ExitCode.FINDINGS:
            _say(_verdict_line(result.audit), status)
        _STATUS["exit"] = status
        return result.exit_code
    from .closing.rollforward import TOTAL, as_text

    totals = as_text(result.rollforward[result.rollforward["business_id"] == TOTAL])
    lines = [f"recon close {result.period} of {args.snapshot} ({result.basis.value} basis)"]
    for _, row in totals.iterrows():
        lines.append(
            f"  {row['currency'] or '(no currency)'}: opening {row['opening']}, issued "
            f"{row['issued']}, used {row['used_bookings']} + {row['used_events']} + "
            f"{row['used_invoice_lines']}, adjusted {row['adjusted']}, expired {row['expired']}, "
            f"closing {row['closing']} (unexplained {row['unexplained']})"
        )
    excluded = sum(result.excluded.values())
    if excluded:
        lines.append(f"  left out: {excluded:,} records (close.json 'excluded' says why)")
    money = _materiality_line(result.audit)
    if money is not None:
        lines.append(money)
    lines.append(_verdict_line(result.audit))
    lines.append(f"Bundle: {args.out} (recon verify {args.out} checks it)")
    _say("\n".join(lines), status)
    return result.exit_code


def _verify(args: argparse.Namespace) -> ExitCode:
    from .bundle import verify

    done = verify(args.bundle, previous=args.previous, rederive=args.rederive)
    if done.verified:
        checks = [f"{done.files} files match manifest-sha256.txt"]
        if done.chained:
            checks.append(f"chained to {args.previous}")
        if done.rederived:
            checks.append("closing again gives every file byte for byte")
        _say(f"verified {args.bundle}: " + "; ".join(checks), int(ExitCode.OK))
    else:
        _say(f"DIFFERS {args.bundle}: {done.problem}", int(done.exit_code))
    return done.exit_code


def _moment(value: str | None, option: str) -> object:
    """An option's moment, its errors naming the option (None: the audit's default, now)."""
    from .moments import parse_moment

    return None if value is None else parse_moment(value, option)


def _run_title(out: Path) -> str:
    """`recon run` reports are titled by what the user named the run, not 'snapshot'."""
    return f"recon run {out.resolve().name}"


def _report(result: AuditResult, written: list[Path], *, quiet: bool) -> None:
    """The summary; with --quiet, nothing when the gate passes and the verdict when not."""
    if not quiet:
        _say(_summary_text(result, written), int(result.exit_code))
    elif result.exit_code is ExitCode.FINDINGS:
        _say(_verdict_line(result), int(result.exit_code))
    else:
        _STATUS["exit"] = int(result.exit_code)


def _verdict_line(result: AuditResult) -> str:
    counts = result.summary["by_severity"]
    if result.fail_on is FailOn.NEVER:
        label = "NOT GATED"
    else:
        label = "FAIL" if result.exit_code is ExitCode.FINDINGS else "PASS"
    line = (
        f"{label} (--fail-on {result.fail_on.value}, exit {int(result.exit_code)}): "
        f"{counts['error']:,} errors, {counts['warning']:,} warnings, {counts['info']:,} info"
    )
    if result.fail_on is FailOn.MATERIAL:
        reached = [
            entry
            for entry in result.materiality.describe()["by_currency"]
            if entry["standing"] == "reaches_overall"
        ]
        line += "; " + (
            ", ".join(
                f"{entry['currency']} {entry['at_or_above_clearly_trivial']['sum']} at or above "
                f"clearly trivial reaches overall {entry['thresholds']['overall']}"
                for entry in reached
            )
            or "no currency reaches overall materiality"
        )
    return line


def _materiality_line(result: AuditResult) -> str | None:
    """One line: each currency's findings' money, against its thresholds when it has some."""
    parts = []
    gated = result.fail_on is FailOn.MATERIAL
    present = set()
    for entry in result.materiality.describe()["by_currency"]:
        code = entry["currency"] or "(no currency)"
        present.add(entry["currency"])
        if entry["thresholds"] is None:
            # Under --fail-on material such a currency gates nothing: say so, for a
            # mistyped table ([materiality.GPB]) passes the gate otherwise unremarked.
            none = "no thresholds: not gated" if gated else "no thresholds"
            parts.append(f"{code} {entry['sum']} in {entry['findings']:,} findings ({none})")
            continue
        above, limits = entry["at_or_above_clearly_trivial"], entry["thresholds"]
        standing = entry["standing"].replace("_", " ")
        parts.append(
            f"{code} {above['sum']} in {above['count']:,} findings at or above clearly trivial "
            f"{limits['clearly_trivial']}: {standing} (performance {limits['performance']}, "
            f"overall {limits['overall']})"
        )
    unused = sorted(set(result.ruleset.materiality) - present)
    if unused and parts:
        parts.append(f"thresholds set for {', '.join(unused)}, in which no finding is")
    return "materiality: " + "; ".join(parts) if parts else None


class _Progress:
    """The audit's stages on stderr, one line each, on a terminal only."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()

    def __call__(self, stage: str) -> None:
        if self.enabled:
            elapsed = time.monotonic() - self.started
            print(f"recon: {stage} ({elapsed:.1f} s)", file=sys.stderr, flush=True)

    def done(self) -> None:
        self("done")


def _rules(args: argparse.Namespace) -> ExitCode:
    from . import catalogue

    if args.default:
        _say(catalogue.default_rules_text().rstrip("\n"), int(ExitCode.OK))
        return ExitCode.OK
    if args.explain:
        if args.explain[0] != "explain" or len(args.explain) != 2:
            raise UsageError(
                "recon rules takes no argument, or 'explain RULE' (see 'recon rules --help')"
            )
        _say(catalogue.explain(args.explain[1]).rstrip("\n"), int(ExitCode.OK))
        return ExitCode.OK
    entries = catalogue.rule_entries(args.rules)
    width = max(len(entry.rule) for entry in entries)
    lines = [f"{'rule':<{width}}  {'severity':<8}  {'runs':<4}  what it finds"]
    for entry in entries:
        runs = "yes" if entry.enabled else "no"
        lines.append(f"{entry.rule:<{width}}  {entry.severity:<8}  {runs:<4}  {entry.summary}")
    lines.append(
        "'recon rules explain RULE' says more; 'recon rules --default' prints the rule set."
    )
    _say("\n".join(lines), int(ExitCode.OK))
    return ExitCode.OK


def _sample(args: argparse.Namespace) -> ExitCode:
    from .resources import sample_dir

    target = Path(args.dir)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"'{target}' is not an empty directory; give a new or empty one")
    source = sample_dir()
    names = sorted(
        path.name
        for path in source.iterdir()
        if path.suffix in (".json", ".jsonl") and path.name != "expected_findings.json"
    )
    try:
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copyfile(source / name, target / name)
    except OSError as exc:
        raise UsageError(f"cannot write the sample into '{target}': {exc.strerror or exc}") from exc
    _say(
        f"The sample snapshot is in {target} ({len(names)} files). Try: recon audit {target}",
        int(ExitCode.OK),
    )
    return ExitCode.OK


def _summary_text(result: AuditResult, written: list[Path]) -> str:
    from .audit import Outcome

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
    money = _materiality_line(result)
    if money is not None:
        lines.append(money)
    verdict = "FAIL" if result.exit_code is ExitCode.FINDINGS else "PASS"
    lines.append(f"{verdict} (--fail-on {result.fail_on.value}, exit {int(result.exit_code)})")
    report = next((path for path in written if path.suffix == ".html"), written[0])
    others = [path.name for path in written if path != report]
    lines.append(f"Report: {report}" + (f" (also {', '.join(others)})" if others else ""))
    return "\n".join(lines)
