"""``recon sandbox``: serve a snapshot as a local Nexudus API until Ctrl-C.

``add_parser`` adds the subcommand to any argparse subparsers object (``recon``'s
own parser wires it in with one line); ``run`` is its handler. It prints one
short block saying where the API is and how to point ``recon run`` at it,
then serves. Exit status: 0 after Ctrl-C; 2 with one line on stderr when the
port is taken or the snapshot cannot be served.

``--hostile SETTING=VALUE`` (repeatable) turns on the hostile mode
(``config.Hostile``), e.g. ``--hostile total-items-scale=10 --hostile
entity=CoworkerBookingCreditUseHistory``; ``--ledger-change N`` changes N
credits and their uses as a client walks from credits to uses.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ReconError
from ..exitcodes import ExitCode
from .config import ALL_ROLES, Faults, Hostile, LedgerChange, SandboxConfig

if TYPE_CHECKING:
    from .server import Sandbox

DEFAULT_PORT = 8642
DEFAULT_HOST = "127.0.0.1"
_DEFAULTS = SandboxConfig()


def default_snapshot() -> Path | None:
    """The sample snapshot recon ships (``sample_data/`` of a source checkout, or the copy
    inside an installed wheel)."""
    from ..resources import sample_dir

    try:
        return sample_dir()
    except ReconError:
        return None


def _role(text: str) -> str:
    if text not in ALL_ROLES:
        raise argparse.ArgumentTypeError(
            f"unknown role {text!r}; roles look like CoworkerBookingCredit-List "
            "(-List, -Read, -Create, -Edit, -Delete)"
        )
    return text


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"fault rate must be a number from 0 to 1, not {text!r}")
    return value


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(f"latency must be 0 or more milliseconds, not {text!r}")
    return value


_HOSTILE_SETTINGS: dict[str, Any] = {
    "entity": str,
    "after-searches": int,
    "total-items-scale": float,
    "total-items-at-most": int,
    "serve-size": int,
    "endless": lambda text: text.lower() in ("1", "true", "yes", "on"),
    "padding": int,
    "trickle": float,
    "body": str,
    "redirect": str,
    "redirect-status": int,
}


def _hostile(text: str) -> tuple[str, Any]:
    name, equals, value = text.partition("=")
    convert = _HOSTILE_SETTINGS.get(name.strip())
    if convert is None:
        known = ", ".join(_HOSTILE_SETTINGS)
        raise argparse.ArgumentTypeError(f"unknown hostile setting {name!r}; known: {known}")
    if not equals and name.strip() != "endless":
        raise argparse.ArgumentTypeError(f"--hostile {text!r} needs SETTING=VALUE")
    try:
        return name.strip().replace("-", "_"), convert(value.strip() if equals else "true")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"--hostile {text!r}: {value!r} is not a value for it"
        ) from exc


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``sandbox`` subcommand to ``subparsers``; its handler is ``args.handler``."""
    parser = subparsers.add_parser(
        "sandbox",
        help="serve a snapshot as a local Nexudus API, to try recon fetch/run without an account",
        description="Serve a snapshot over HTTP as the Nexudus API does (paging, filters, "
        "sign-in, throttling), until Ctrl-C. Only this machine can reach it unless --host "
        "says otherwise.",
    )
    parser.add_argument(
        "--snapshot",
        metavar="DIR",
        help="snapshot directory to serve (default: sample_data/ of a source checkout)",
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help=f"address to listen on (default: {DEFAULT_HOST})"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any)"
    )
    parser.add_argument(
        "--token", default=_DEFAULTS.token, help="bearer token accepted without sign-in"
    )
    parser.add_argument("--username", default=_DEFAULTS.username, help="sign-in email")
    parser.add_argument("--password", default=_DEFAULTS.password, help="sign-in password")
    parser.add_argument(
        "--limits",
        choices=("documented", "off"),
        default="documented",
        help="throttling: the documented limits (HTTP 409 beyond them), or none",
    )
    parser.add_argument(
        "--fault-rate",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="share of API requests answered with a fault (500, 503, reset, cut body, HTML)",
    )
    parser.add_argument(
        "--latency-ms", type=_milliseconds, default=0.0, metavar="MS", help="delay per request"
    )
    parser.add_argument(
        "--missing-role",
        action="append",
        type=_role,
        default=[],
        metavar="ROLE",
        help="a role the account lacks, e.g. CoworkerExtraService-List (repeatable)",
    )
    parser.add_argument(
        "--hostile",
        action="append",
        type=_hostile,
        default=[],
        metavar="SETTING=VALUE",
        help="misbehave on purpose: entity=NAME, after-searches=N, total-items-scale=X, "
        "total-items-at-most=N, serve-size=N, endless, padding=BYTES, trickle=SECONDS, "
        "body=null|list|number|string|records-null|records-object, redirect=URL, "
        "redirect-status=3xx (repeatable)",
    )
    parser.add_argument(
        "--ledger-change",
        type=int,
        default=0,
        metavar="N",
        help="change N credits and their uses together before the first page of uses",
    )
    parser.add_argument(
        "--throttle-status",
        type=int,
        choices=(409, 429),
        default=409,
        help="status of a throttled answer (default 409, as Nexudus sends)",
    )
    parser.add_argument(
        "--throttle-wait-in",
        choices=("header", "body"),
        default="header",
        help="where a throttled answer says how long to wait: Retry-After, or the body text",
    )
    parser.add_argument(
        "--related-filters",
        choices=("honour", "reject", "ignore"),
        default="honour",
        help="what <Entity>_<ForeignKey>_<Property> filters get: applied through the related "
        "record (default, as documented), refused with HTTP 400, or ignored",
    )
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; 0 then, 2 when the sandbox cannot start."""
    snapshot = Path(args.snapshot) if args.snapshot else default_snapshot()
    if snapshot is None:
        return _fail(
            "no snapshot to serve: this is not a source checkout with sample_data/; "
            "pass --snapshot DIR"
        )
    config = SandboxConfig(
        snapshot=snapshot,
        token=args.token,
        username=args.username,
        password=args.password,
        roles=(ALL_ROLES - set(args.missing_role)) if args.missing_role else None,
        limits=args.limits,
        latency=args.latency_ms / 1000,
        faults=Faults(rate=args.fault_rate),
        host=args.host,
        port=args.port,
        throttle_status=args.throttle_status,
        throttle_wait_in=args.throttle_wait_in,
        related_filters=args.related_filters,
    )
    from .server import serve  # the server loads pyarrow: only when it runs

    try:
        config = dataclasses.replace(
            config,
            hostile=Hostile(**dict(args.hostile)),
            ledger_change=LedgerChange(credits=max(0, args.ledger_change)),
        )
    except ValueError as exc:
        return _fail(str(exc))
    try:
        serve(config, ready=lambda sandbox: _announce(sandbox, snapshot))
    except KeyboardInterrupt:
        return int(ExitCode.OK)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return _fail(
                f"port {args.port} on {args.host} is already in use; pass --port with a free "
                "port (or 0 for any)"
            )
        return _fail(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}")
    except (ReconError, ValueError) as exc:
        return _fail(str(exc))
    return int(ExitCode.OK)


def _announce(sandbox: Sandbox, snapshot: Path) -> None:
    config = sandbox.config
    url = sandbox.base_url
    print(
        f"Nexudus API sandbox serving {_shown(snapshot)} at {url} (Ctrl-C stops it).\n"
        f"In another shell:\n"
        f"  export NEXUDUS_TOKEN={shlex.quote(config.token)}\n"
        f"  recon run --base-url {url} --out my-snapshot\n"
        f"(or sign in with NEXUDUS_USERNAME={shlex.quote(config.username)} "
        f"NEXUDUS_PASSWORD={shlex.quote(config.password)})",
        flush=True,
    )


def _shown(path: Path) -> str:
    """``path`` as the user would type it from here: relative when it is below the current
    directory (``sample_data``), else as it is."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _fail(message: str) -> int:
    print(f"recon sandbox: {message}", file=sys.stderr)
    return int(ExitCode.RUN_ERROR)
