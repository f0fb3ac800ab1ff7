"""The floor: recon's core rules as DuckDB queries, timed on the same snapshot files as recon.

    .venv/bin/python benchmarks/duckdb_floor.py benchmarks/data/small/parquet
    .venv/bin/python benchmarks/duckdb_floor.py benchmarks/data/small/jsonl --json

A benchmark baseline only (``pip install -e '.[bench]'``): recon never imports DuckDB.
On a shared machine an absolute time says little; ``bench_goals.py`` runs this
script in a child process beside ``recon audit`` on the same files, in the same
run, and prints each recon figure as a ratio to it.

What it computes (contract section 5, default rule set: every location in UTC,
tolerance 0.005), each rule returning the Ids of the records at fault, not just a
count, so the floor pays for materialising its findings as recon does:

- ``balance_mismatch``: a credit (Id, TotalCredit and RemainingCredit present)
  whose ``TotalCredit - RemainingCredit`` differs from the sum of its uses'
  ``CreditUsed`` by more than the tolerance, exact decimals; use rows repeating an
  Id count once;
- ``expired_credit_use``: a use whose usage time (``BookingFromTime`` for a
  booking use that has it, else ``CreatedOn``) is after its credit's ``ExpireDate``
  (a midnight ``ExpireDate`` covers that whole day);
- the link rules: ``orphan_use`` (a ``CoworkerBookingCreditId``, 0 included, that
  matches no credit), ``multi_linked_use`` (more than one of ``BookingId``,
  ``EventAttendeeId``, ``CoworkerInvoiceLineId``) and ``unlinked_use`` (none of
  them and no ``Description``).

Reading is part of the floor: only the columns these rules need are read (DuckDB
does that by itself for Parquet; JSON Lines are read with an explicit column map,
every date-time as text and parsed by ``TRY_CAST``, so an unparseable one is
null and its record is not judged, as recon's schema check would leave it out).

Where it is simpler than recon (none of which the generated snapshots exercise):
no per-location time zones; a credit Id held by two rows takes any one of them for
its ``ExpireDate``; of use rows repeating an Id, any one is counted; an amount that
is not a finite number is left out, as recon's schema check leaves it out.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from recon import stored_datetimes

CREDITS = "coworkerbookingcredits"
USES = "coworkerbookingcreditusehistories"
RULES = (
    "balance_mismatch",
    "expired_credit_use",
    "orphan_use",
    "multi_linked_use",
    "unlinked_use",
)
TOLERANCE = "0.005"

_CREDIT_COLUMNS = {
    "Id": "BIGINT",
    "TotalCredit": "DOUBLE",
    "RemainingCredit": "DOUBLE",
    "ExpireDate": "VARCHAR",
}
_USE_COLUMNS = {
    "Id": "BIGINT",
    "CoworkerBookingCreditId": "BIGINT",
    "BookingId": "BIGINT",
    "EventAttendeeId": "BIGINT",
    "CoworkerInvoiceLineId": "BIGINT",
    "Description": "VARCHAR",
    "CreditUsed": "DOUBLE",
    "BookingFromTime": "VARCHAR",
    "CreatedOn": "VARCHAR",
}


def _source(directory: Path, stem: str, columns: dict[str, str]) -> str:
    """A DuckDB table function reading the entity's file (Parquet or JSON Lines)."""
    parquet, jsonl = directory / f"{stem}.parquet", directory / f"{stem}.jsonl"
    if parquet.is_file():
        return f"read_parquet('{parquet}')"
    if jsonl.is_file():
        spec = ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items())
        return f"read_json('{jsonl}', format = 'newline_delimited', columns = {{{spec}}})"
    raise SystemExit(f"{directory} has no {stem}.parquet or {stem}.jsonl")


def _money(column: str) -> str:
    """An amount as an exact decimal, null when it is not a finite number."""
    return f'CASE WHEN isfinite("{column}") THEN "{column}"::DECIMAL(18, 6) END'


def _time(column: str, stored: bool = False) -> str:
    """An ISO-8601 text as a wall-clock timestamp in UTC, null when it does not parse; a
    date-time column stored by recon fetch (``stored``) read as typed, its odd values as text."""
    if stored:
        return f'coalesce("{column}".wall, TRY_CAST("{column}".text AS TIMESTAMPTZ)::TIMESTAMP)'
    return f'TRY_CAST("{column}" AS TIMESTAMPTZ)::TIMESTAMP'


def _text(column: str, stored: bool = False) -> str:
    """A date-time column as text where it is set (null where it is not)."""
    return f'coalesce("{column}".wall::VARCHAR, "{column}".text)' if stored else f'"{column}"'


def _stored(directory: Path, stem: str) -> set[str]:
    """The date-time columns of the entity's Parquet file that recon fetch stored typed."""
    parquet = directory / f"{stem}.parquet"
    if not parquet.is_file():
        return set()
    return {field.name for field in pq.read_schema(parquet) if stored_datetimes.is_stored(field)}


def _linked(column: str) -> str:
    return f'(coalesce("{column}", 0) > 0)::INTEGER'


LOAD_CREDITS = """
CREATE TEMP TABLE credits AS
SELECT "Id" AS id, {total} AS total, {remaining} AS remaining, {expire} AS expire
FROM {source}
"""

LOAD_USES = """
CREATE TEMP TABLE uses AS
SELECT id, credit_id, amount, links,
       CASE WHEN links = 0 THEN description END AS description,
       CASE WHEN booked AND booking_from IS NOT NULL THEN booking_from ELSE created END AS used,
       -- a booking use whose BookingFromTime is there but does not parse has no usage time
       NOT (booked AND booking_from IS NULL AND booking_from_text IS NOT NULL) AS dated
FROM (
    SELECT "Id" AS id, "CoworkerBookingCreditId" AS credit_id, {amount} AS amount,
           {booking} + {event} + {invoice_line} AS links, coalesce("BookingId", 0) > 0 AS booked,
           "Description" AS description, {booking_from_text} AS booking_from_text,
           {booking_from} AS booking_from, {created} AS created
    FROM {source}
)
"""

QUERIES = {
    "balance_mismatch": f"""
        WITH once AS (  -- use rows repeating an Id count once
            SELECT any_value(credit_id) AS credit_id, any_value(amount) AS amount
            FROM uses WHERE id IS NOT NULL AND amount IS NOT NULL AND credit_id IS NOT NULL
            GROUP BY id
            UNION ALL
            SELECT credit_id, amount
            FROM uses WHERE id IS NULL AND amount IS NOT NULL AND credit_id IS NOT NULL
        ), spent AS (
            SELECT credit_id, sum(amount) AS spent FROM once GROUP BY credit_id
        )
        SELECT c.id FROM credits c LEFT JOIN spent s ON s.credit_id = c.id
        WHERE c.id IS NOT NULL AND c.total IS NOT NULL AND c.remaining IS NOT NULL
          AND abs(c.total - c.remaining - coalesce(s.spent, 0)) > {TOLERANCE}
    """,
    "expired_credit_use": """
        WITH expiry AS (
            SELECT id, any_value(expire) AS expire FROM credits
            WHERE id IS NOT NULL AND expire IS NOT NULL GROUP BY id
        )
        SELECT u.id FROM uses u JOIN expiry c ON u.credit_id = c.id
        WHERE u.dated AND u.used IS NOT NULL
          AND u.used >= CASE WHEN c.expire = date_trunc('day', c.expire)
                             THEN c.expire + INTERVAL 1 DAY
                             ELSE c.expire + INTERVAL 1 MICROSECOND END
    """,
    "orphan_use": """
        SELECT u.id FROM uses u
        WHERE u.credit_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM credits c WHERE c.id = u.credit_id)
    """,
    "multi_linked_use": "SELECT id FROM uses WHERE links > 1",
    "unlinked_use": """
        SELECT id FROM uses WHERE links = 0 AND coalesce(trim(description), '') = ''
    """,
}


def run_floor(snapshot: Path, *, threads: int | None = None) -> dict:
    """Load the two booking-credit files and run every query; counts and seconds per stage."""
    connection = connect(threads)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    credit_stored, use_stored = _stored(snapshot, CREDITS), _stored(snapshot, USES)
    connection.execute(
        LOAD_CREDITS.format(
            total=_money("TotalCredit"),
            remaining=_money("RemainingCredit"),
            expire=_time("ExpireDate", "ExpireDate" in credit_stored),
            source=_source(snapshot, CREDITS, _CREDIT_COLUMNS),
        )
    )
    connection.execute(
        LOAD_USES.format(
            amount=_money("CreditUsed"),
            booking=_linked("BookingId"),
            event=_linked("EventAttendeeId"),
            invoice_line=_linked("CoworkerInvoiceLineId"),
            booking_from=_time("BookingFromTime", "BookingFromTime" in use_stored),
            booking_from_text=_text("BookingFromTime", "BookingFromTime" in use_stored),
            created=_time("CreatedOn", "CreatedOn" in use_stored),
            source=_source(snapshot, USES, _USE_COLUMNS),
        )
    )
    seconds["read"] = time.perf_counter() - started
    counts = {}
    for rule in RULES:
        began = time.perf_counter()
        ids = connection.sql(QUERIES[rule]).to_arrow_table()  # the findings' Ids, materialised
        counts[rule] = ids.num_rows
        seconds[rule] = time.perf_counter() - began
    seconds["total"] = time.perf_counter() - started
    connection.close()
    return {
        "snapshot": str(snapshot),
        "duckdb": duckdb.__version__,
        "by_rule": counts,
        "seconds": {name: round(value, 3) for name, value in seconds.items()},
    }


def connect(threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection in UTC, on ``threads`` threads (default: every core)."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    if threads:
        connection.execute(f"SET threads = {int(threads)}")
    return connection


def command_line(
    description: str,
    run: Callable[..., dict],
    show: Callable[[dict], None],
    argv: list[str] | None,
) -> int:
    """The command of a DuckDB baseline: ``run`` on the snapshot named, its result printed
    by ``show`` or as one JSON line (``--json``), with the process's peak RSS."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--threads", type=int, help="DuckDB threads (default: every core)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    args = parser.parse_args(argv)
    result = run(args.snapshot, threads=args.threads)
    result["peak_rss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.json:
        print(json.dumps(result))
    else:
        show(result)
    return 0


def _show(result: dict) -> None:
    for rule, count in result["by_rule"].items():
        print(f"{rule:<22} {count:>8,} findings  {result['seconds'][rule]:6.2f} s")
    print(
        f"read {result['seconds']['read']:.2f} s, total {result['seconds']['total']:.2f} s, "
        f"peak RSS {result['peak_rss_kb'] / 1024**2:.2f} GiB"
    )


def main(argv: list[str] | None = None) -> int:
    return command_line(__doc__.split("\n\n")[0], run_floor, _show, argv)


if __name__ == "__main__":
    sys.exit(main())
