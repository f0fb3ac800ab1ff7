"""The reference: every rule of recon's default rule set as DuckDB SQL, on the same snapshot files.

    .venv/bin/python benchmarks/duckdb_reference.py benchmarks/data/small/jsonl
    .venv/bin/python benchmarks/duckdb_reference.py /tmp/small-stored --json

A benchmark baseline only (``pip install -e '.[bench]'``): recon never imports DuckDB.
``bench_goals.py`` runs it in a child process beside ``recon audit`` for the goal row
"1M uses, JSON Lines, against an all-DuckDB implementation of every rule".

A separate module from ``duckdb_floor.py``, not a flag on it: the floor reads only the
columns of three core rules, typed by DuckDB's reader, and is the yardstick of every
other row; this reference reads and checks every declared field of all four entities,
which is a different program (what it reads, how it types it), and a flag would make
the floor's figures depend on code it does not run.

What it does (contract sections 4b and 5, ``--as-of 2025-12-31T00:00:00Z``, which no
default rule reads; every location in UTC, tolerance 0.005):

- read: each entity's file (Parquet or JSON Lines) into a DuckDB table holding, per
  declared field of ``recon.fields.FIELDS`` (the contract's table as data), the typed
  value (null where it is missing or failed) and whether it failed its schema. JSON Lines
  fields are read as JSON and judged by their JSON type: an integer (or an integral
  number), a number, a string, a boolean; a date-time is a string matching
  ``recon.datetimes.ISO_PATTERN`` that DuckDB can cast to a timestamp (so
  ``2025-02-30T10:00:00`` fails). Parquet columns are judged by their column type
  (a column of another type: every value present fails), date-times stored as text
  parsed as above, date-times stored by ``recon fetch`` (``recon.stored_datetimes``)
  taken from ``wall``, their odd values from ``text``. A required field missing or null
  fails. ``RemainingCredit`` is read from ``Credit`` when a file names it so.
- then one query per rule, each returning the Ids of the records at fault
  (materialised as an Arrow table, as recon materialises its findings), timed per
  stage: ``schema_violation`` (one row per record and field), ``duplicate_record``
  (every record whose valid Id or UniqueId repeats within its entity), the link, balance,
  validity and extra-service rules with recon's gating: a field that failed is not used
  by any rule, a use is linked to the first credit row holding its Id, use rows
  repeating an Id count once in a ledger (the first that can be counted).

Where it is simpler than recon (none of which the benchmark snapshots exercise):

- time zones: every location is UTC; a date-time with ``Z`` or an offset is converted
  to UTC, one without is taken as UTC;
- money: ``DECIMAL(18, 6)`` (recon's exact units adapt to the amounts' precision; an
  amount with more than 6 decimals is rounded here, one beyond 10^12 fails);
- a bare ``NaN`` or ``Infinity`` token in JSON Lines: DuckDB's JSON reader refuses the
  file, where recon makes it a finding;
- ``denormalisation_mismatch`` also looks at undeclared ``Booking*``,
  ``EventAttendee*`` and ``CoworkerInvoiceLineCoworkerInvoice*`` fields, as recon does,
  but finds them in the first line of a JSON Lines file only (every column of Parquet);
- date-time strings DuckDB's timestamp cast reads differently from recon's parser
  (fractions beyond microseconds, offsets without a colon) are not told apart.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from duckdb_floor import command_line, connect

from recon import stored_datetimes
from recon.datetimes import ISO_PATTERN
from recon.entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE, Entity
from recon.fields import FIELDS, PRESENTATIONAL, Field, Kind

TOLERANCE = "0.005"
MONEY = "DECIMAL(18, 6)"

FILES: dict[Entity, tuple[str, str]] = {
    # entity -> (file stem, the table it is loaded into)
    CREDIT: ("coworkerbookingcredits", "credits"),
    CREDIT_USE: ("coworkerbookingcreditusehistories", "uses"),
    ALLOWANCE: ("coworkerextraservices", "allowances"),
    ALLOWANCE_USE: ("coworkerextraserviceusehistories", "allowance_uses"),
}

DENORMALISED = (
    # (link field, prefix of the fields copied from the linked record)
    ("BookingId", "Booking"),
    ("EventAttendeeId", "EventAttendee"),
    ("CoworkerInvoiceLineId", "CoworkerInvoiceLineCoworkerInvoice"),
)

_ISO = ISO_PATTERN.replace("^", "").replace("$", "").replace("'", "''")


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def bad(name: str) -> str:
    return q(f"{name}!bad")


# --- reading: every declared field typed, and whether it failed ------------------------


def _text_time(text: str) -> str:
    """A date-time text as a UTC wall clock, null unless it is ISO-8601 and a real moment."""
    return (
        f"CASE WHEN regexp_full_match({text}, '{_ISO}') "
        f"THEN TRY_CAST({text} AS TIMESTAMPTZ)::TIMESTAMP END"
    )


def _json_field(spec: Field, column: str) -> tuple[str, str]:
    """(typed value, value present) of a field read as JSON."""
    kind = f"json_type({column})"
    if spec.kind is Kind.INTEGER:
        typed = (
            f"CASE WHEN {kind} IN ('BIGINT', 'UBIGINT') THEN TRY_CAST({column} AS BIGINT) "
            f"WHEN {kind} = 'DOUBLE' AND {column}::DOUBLE = floor({column}::DOUBLE) "
            f"THEN TRY_CAST({column}::DOUBLE AS BIGINT) END"
        )
    elif spec.kind is Kind.NUMBER:
        typed = (
            f"CASE WHEN {kind} IN ('BIGINT', 'UBIGINT', 'DOUBLE') "
            f"THEN TRY_CAST({column}::VARCHAR AS {MONEY}) END"
        )
    elif spec.kind is Kind.STRING:
        typed = f"CASE WHEN {kind} = 'VARCHAR' THEN json_extract_string({column}, '$') END"
    elif spec.kind is Kind.BOOLEAN:
        typed = f"CASE WHEN {kind} = 'BOOLEAN' THEN {column}::BOOLEAN END"
    else:
        text = f"json_extract_string({column}, '$')"
        typed = f"CASE WHEN {kind} = 'VARCHAR' THEN {_text_time(text)} END"
    return typed, f"coalesce({kind} <> 'NULL', false)"


def _parquet_field(spec: Field, column: str, field: pa.Field | None) -> tuple[str, str]:
    """(typed value, value present) of a Parquet column, judged by its column type."""
    if field is None or pa.types.is_null(field.type):
        return "NULL", "false"
    kind, present = field.type, f"{column} IS NOT NULL"
    integer, floating = pa.types.is_integer(kind), pa.types.is_floating(kind)
    textual = pa.types.is_string(kind) or pa.types.is_large_string(kind)
    if spec.kind is Kind.INTEGER and integer:
        typed = f"{column}::BIGINT"
    elif spec.kind is Kind.INTEGER and floating:
        typed = f"CASE WHEN {column} = floor({column}) THEN TRY_CAST({column} AS BIGINT) END"
    elif spec.kind is Kind.NUMBER and (integer or pa.types.is_decimal(kind)):
        typed = f"TRY_CAST({column} AS {MONEY})"
    elif spec.kind is Kind.NUMBER and floating:
        typed = f"CASE WHEN isfinite({column}) THEN TRY_CAST({column} AS {MONEY}) END"
    elif spec.kind is Kind.STRING and textual:
        typed = f"{column}::VARCHAR"
    elif spec.kind is Kind.BOOLEAN and pa.types.is_boolean(kind):
        typed = column
    elif spec.kind is Kind.DATETIME and textual:
        typed = _text_time(column)
    elif spec.kind is Kind.DATETIME and stored_datetimes.is_stored(field):
        typed = f"coalesce({column}.wall, {_text_time(f'{column}.text')})"
        present = f"coalesce({column}.wall IS NOT NULL OR {column}.text IS NOT NULL, false)"
    elif spec.kind is Kind.DATETIME and pa.types.is_timestamp(kind):
        typed = f"{column}::TIMESTAMP"
    else:  # the whole column has another type: every value present fails
        typed = "NULL"
    return typed, present


def _is_set_json(column: str) -> str:
    """An undeclared JSON value that says something (not null, blank, 0 or false)."""
    kind = f"json_type({column})"
    return (
        f"coalesce(CASE WHEN {kind} = 'BOOLEAN' THEN {column}::BOOLEAN "
        f"WHEN {kind} IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN {column}::DOUBLE <> 0 "
        f"WHEN {kind} = 'VARCHAR' THEN trim(json_extract_string({column}, '$')) <> '' "
        f"ELSE {kind} <> 'NULL' END, false)"
    )


def _is_set_parquet(column: str, field: pa.Field) -> str:
    if pa.types.is_boolean(field.type):
        return f"coalesce({column}, false)"
    if pa.types.is_integer(field.type) or pa.types.is_floating(field.type):
        return f"coalesce({column} <> 0, false)"
    if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
        return f"coalesce(trim({column}) <> '', false)"
    return f"{column} IS NOT NULL"


@dataclass(frozen=True)
class Source:
    """One entity's file: how DuckDB reads it, and the columns it holds."""

    function: str
    parquet: dict[str, pa.Field] | None  # the Parquet schema; None for JSON Lines
    columns: list[str]


def _open(snapshot: Path, entity: Entity) -> Source | None:
    stem = FILES[entity][0]
    parquet, jsonl = snapshot / f"{stem}.parquet", snapshot / f"{stem}.jsonl"
    if parquet.is_file():
        schema = pq.read_schema(parquet)
        return Source(f"read_parquet('{parquet}')", {f.name: f for f in schema}, schema.names)
    if not jsonl.is_file():
        return None
    with jsonl.open(encoding="utf-8") as lines:
        first = next((line for line in lines if line.strip()), "{}")
    found = [name for name in json.loads(first) if name not in PRESENTATIONAL]
    declared = [spec.name for spec in FIELDS[entity]]
    wanted = declared + [name for name in found if name not in declared]
    if entity is CREDIT:
        wanted.append("Credit")  # the alias of RemainingCredit some exports use
    spec = ", ".join(f"'{name}': 'JSON'" for name in dict.fromkeys(wanted))
    function = f"read_json('{jsonl}', format = 'newline_delimited', columns = {{{spec}}})"
    return Source(function, None, list(dict.fromkeys(wanted)))


def _undeclared_denormalised(entity: Entity, source: Source) -> list[str]:
    if entity is not CREDIT_USE:
        return []
    declared = {spec.name for spec in FIELDS[entity]}
    links = {link for link, _ in DENORMALISED}
    return [
        name
        for name in source.columns
        if name not in declared
        and name not in links
        and any(name.startswith(prefix) for _, prefix in DENORMALISED)
    ]


def load_sql(entity: Entity, source: Source) -> str:
    """CREATE TABLE of ``entity``: each declared field typed, its ``!bad`` flag, and the
    ``!set`` flag of each undeclared denormalised field."""
    inner, outer = [], []
    for spec in FIELDS[entity]:
        column = q(spec.name)
        if entity is CREDIT and spec.name == "RemainingCredit":
            has_alias = source.parquet is None or "Credit" in source.parquet
            has_own = source.parquet is None or spec.name in source.parquet
            if has_alias and has_own:
                column = f'coalesce({q(spec.name)}, "Credit")'
            elif has_alias:
                column = '"Credit"'
        if source.parquet is None:
            typed, present = _json_field(spec, column)
        else:
            field = source.parquet.get(spec.name)
            if field is None and column == '"Credit"':
                field = source.parquet["Credit"]
            typed, present = _parquet_field(spec, column, field)
        inner += [f"{typed} AS {q(spec.name)}", f"{present} AS {q(spec.name + '!p')}"]
        missing = "true" if spec.required else "false"
        outer += [
            q(spec.name),
            f"CASE WHEN {q(spec.name + '!p')} THEN {q(spec.name)} IS NULL ELSE {missing} END "
            f"AS {bad(spec.name)}",
        ]
    for name in _undeclared_denormalised(entity, source):
        is_set = (
            _is_set_json(q(name))
            if source.parquet is None
            else _is_set_parquet(q(name), source.parquet[name])
        )
        inner.append(f"{is_set} AS {q(name + '!set')}")
        outer.append(q(name + "!set"))
    table = FILES[entity][1]
    return (
        f"CREATE TEMP TABLE {table} AS SELECT {', '.join(outer)} "
        f"FROM (SELECT {', '.join(inner)} FROM {source.function})"
    )


# --- the rules --------------------------------------------------------------------------


def _schema_violation(present: set[Entity]) -> str:
    parts = [
        f"SELECT '{entity.name}' AS entity, \"Id\" AS id, '{spec.name}' AS field "
        f"FROM {FILES[entity][1]} WHERE {bad(spec.name)}"
        for entity in FILES
        if entity in present
        for spec in FIELDS[entity]
    ]
    return " UNION ALL ".join(parts)


def _duplicate_record(present: set[Entity]) -> str:
    parts = []
    for entity in FILES:
        if entity not in present:
            continue
        table = FILES[entity][1]
        parts.append(
            f"""SELECT '{entity.name}' AS entity, "Id" AS id FROM {table}
            WHERE "Id" IN (SELECT "Id" FROM {table} WHERE "Id" IS NOT NULL
                           GROUP BY "Id" HAVING count(*) > 1)
               OR "UniqueId" IN (SELECT "UniqueId" FROM {table} WHERE "UniqueId" IS NOT NULL
                                 GROUP BY "UniqueId" HAVING count(*) > 1)"""
        )
    return " UNION ALL ".join(parts)


# A parent table's first row of each Id (rules link a child to it), with its window:
# ``end`` is the first moment after it (a midnight ExpireDate covers that whole day).
FIRST_ROWS = """
CREATE TEMP TABLE {name} AS
SELECT p.*, CASE WHEN "ExpireDate" = date_trunc('day', "ExpireDate")
                 THEN "ExpireDate" + INTERVAL 1 DAY
                 ELSE "ExpireDate" + INTERVAL 1 MICROSECOND END AS expire_end
FROM (SELECT *, rowid AS row FROM {table}) p
JOIN (SELECT "Id", min(rowid) AS row FROM {table} WHERE "Id" IS NOT NULL GROUP BY "Id") f
  USING (row)
"""

# Each parent Id's ledger: ``linked`` uses, ``unknown`` (amount valid but null), and the
# exact sum of the counted ones (amount present and valid), use rows repeating an Id once.
LEDGER = """
CREATE TEMP TABLE {name} AS
WITH linked AS (
    SELECT u.rowid AS row, u."Id" AS id, u."{key}" AS parent, u."CreditUsed" AS amount,
           NOT u."CreditUsed!bad" AND u."CreditUsed" IS NULL AS unknown
    FROM {children} u WHERE u."{key}" IN (SELECT "Id" FROM {parents})
), counted AS (
    SELECT parent, amount FROM linked WHERE amount IS NOT NULL AND id IS NULL
    UNION ALL
    SELECT arg_min(parent, row), arg_min(amount, row) FROM linked
    WHERE amount IS NOT NULL AND id IS NOT NULL GROUP BY id
), spent AS (
    SELECT parent, sum(amount) AS spent FROM counted GROUP BY parent
), seen AS (
    SELECT parent, count(*) AS linked, count(*) FILTER (WHERE unknown) AS unknown
    FROM linked GROUP BY parent
)
SELECT parent AS "Id", linked, unknown, coalesce(spent, 0) AS spent
FROM seen LEFT JOIN spent USING (parent)
"""

# Each booking-credit use's links and usage time (BookingFromTime for a booking use that
# has it, else CreatedOn), and whether that time can be judged.
USE_VIEW = """
CREATE TEMP VIEW use_facts AS
SELECT *, NOT "BookingId!bad" AND NOT (booked AND "BookingFromTime!bad")
          AND (from_booking OR NOT "CreatedOn!bad") AND used IS NOT NULL AS dated
FROM (
    SELECT "Id", "CoworkerBookingCreditId" AS credit_id, "CreditUsed", "Description",
           "Description!bad", "CreatedOn!bad", "BookingId!bad", "BookingFromTime!bad",
           booked, evented, links,
           NOT ("BookingId!bad" OR "EventAttendeeId!bad" OR "CoworkerInvoiceLineId!bad")
               AS judgeable,
           booked AND "BookingFromTime" IS NOT NULL AS from_booking,
           CASE WHEN booked AND "BookingFromTime" IS NOT NULL THEN "BookingFromTime"
                ELSE "CreatedOn" END AS used
    FROM (SELECT *, coalesce("BookingId", 0) > 0 AS booked,
                 coalesce("EventAttendeeId", 0) > 0 AS evented,
                 (coalesce("BookingId", 0) > 0)::INTEGER
                 + (coalesce("EventAttendeeId", 0) > 0)::INTEGER
                 + (coalesce("CoworkerInvoiceLineId", 0) > 0)::INTEGER AS links
          FROM uses)
)
"""


def _is_set_declared(spec: Field) -> str:
    column = q(spec.name)
    if spec.kind is Kind.INTEGER or spec.kind is Kind.NUMBER:
        value = f"coalesce({column} <> 0, false)"
    elif spec.kind is Kind.BOOLEAN:
        value = f"coalesce({column}, false)"
    elif spec.kind is Kind.STRING:
        value = f"coalesce(trim({column}) <> '', false)"
    else:
        value = f"{column} IS NOT NULL"
    return f"({value} AND NOT {bad(spec.name)})"


def _denormalisation_mismatch(source: Source) -> str:
    declared = {spec.name: spec for spec in FIELDS[CREDIT_USE]}
    undeclared = _undeclared_denormalised(CREDIT_USE, source)
    conditions = []
    for link, prefix in DENORMALISED:
        copies = [
            _is_set_declared(spec)
            for name, spec in declared.items()
            if name.startswith(prefix) and name != link
        ] + [q(name + "!set") for name in undeclared if name.startswith(prefix)]
        conditions.append(
            f"(NOT {bad(link)} AND NOT coalesce({q(link)} > 0, false) AND ({' OR '.join(copies)}))"
        )
    conditions.append(
        'coalesce(NOT "BookingFromTime!bad" AND NOT "BookingToTime!bad" '
        'AND "BookingToTime" < "BookingFromTime", false)'
    )
    return f'SELECT "Id" FROM uses WHERE {" OR ".join(conditions)}'


def rule_queries(present: set[Entity], uses_source: Source | None) -> dict[str, str]:
    """Every default rule's query (for the entities in the snapshot), in recon's order."""
    queries = {
        "schema_violation": _schema_violation(present),
        "duplicate_record": _duplicate_record(present),
    }
    if {CREDIT, CREDIT_USE} <= present:
        queries |= {
            "orphan_use": """
                SELECT "Id" FROM uses WHERE "CoworkerBookingCreditId" IS NOT NULL
                  AND "CoworkerBookingCreditId" NOT IN (SELECT "Id" FROM first_credits)
            """,
            "unlinked_use": """
                SELECT "Id" FROM use_facts WHERE judgeable AND NOT "Description!bad"
                  AND links = 0 AND coalesce(trim("Description"), '') = ''
            """,
            "manual_adjustment": """
                SELECT "Id" FROM use_facts WHERE judgeable AND NOT "Description!bad"
                  AND links = 0 AND coalesce(trim("Description"), '') <> ''
            """,
            "multi_linked_use": 'SELECT "Id" FROM use_facts WHERE judgeable AND links > 1',
            "balance_mismatch": f"""
                SELECT c."Id" FROM credits c LEFT JOIN credit_ledger l USING ("Id")
                WHERE c."Id" IS NOT NULL AND c."TotalCredit" IS NOT NULL
                  AND c."RemainingCredit" IS NOT NULL
                  AND abs(c."TotalCredit" - c."RemainingCredit" - coalesce(l.spent, 0))
                      > {TOLERANCE}
            """,
            "overdrawn_credit": f"""
                SELECT c."Id" FROM credits c LEFT JOIN credit_ledger l USING ("Id")
                WHERE coalesce(c."RemainingCredit" < -{TOLERANCE}, false)
                   OR (c."Id" IS NOT NULL AND c."TotalCredit" IS NOT NULL
                       AND coalesce(l.spent, 0) - c."TotalCredit" > {TOLERANCE})
            """,
            "expired_credit_use": """
                SELECT u."Id" FROM use_facts u JOIN first_credits c ON u.credit_id = c."Id"
                WHERE u.dated AND u.used >= c.expire_end
            """,
            "premature_credit_use": """
                SELECT u."Id" FROM use_facts u JOIN first_credits c ON u.credit_id = c."Id"
                WHERE u.dated AND u.used < c."ValidFrom"
            """,
            "ineligible_use": """
                SELECT u."Id" FROM use_facts u JOIN first_credits c ON u.credit_id = c."Id"
                WHERE (u.booked AND c."CaneBeUsedForBookings" = false)
                   OR (u.evented AND c."CaneBeUsedForEvents" = false)
            """,
            "non_positive_use": """
                SELECT "Id" FROM use_facts
                WHERE judgeable AND links > 0 AND "CreditUsed" <= 0
            """,
        }
    if CREDIT_USE in present and uses_source is not None:
        queries["denormalisation_mismatch"] = _denormalisation_mismatch(uses_source)
    if ALLOWANCE_USE in present:
        queries["extra_service_unlinked"] = """
            SELECT "Id" FROM allowance_uses
            WHERE NOT "BookingId!bad" AND NOT coalesce("BookingId" > 0, false)
        """
    if {ALLOWANCE, ALLOWANCE_USE} <= present:
        queries |= {
            "extra_service_orphan": """
                SELECT "Id" FROM allowance_uses WHERE "CoworkerExtraServiceId" IS NOT NULL
                  AND "CoworkerExtraServiceId" NOT IN (SELECT "Id" FROM first_allowances)
            """,
            "extra_service_balance_mismatch": f"""
                SELECT a."Id" FROM allowances a JOIN allowance_ledger l USING ("Id")
                WHERE a."TotalUses" IS NOT NULL AND a."RemainingUses" IS NOT NULL
                  AND l.linked > 0 AND l.unknown = 0
                  AND abs(a."TotalUses" - a."RemainingUses" - l.spent) > {TOLERANCE}
            """,
            "extra_service_expired_use": """
                SELECT u."Id" FROM allowance_uses u
                JOIN first_allowances a ON u."CoworkerExtraServiceId" = a."Id"
                WHERE u."BookingFromTime" IS NOT NULL AND u."BookingFromTime" >= a.expire_end
            """,
        }
    return queries


def run_reference(snapshot: Path, *, threads: int | None = None) -> dict:
    """Load the snapshot's four files and run every rule; counts and seconds per stage."""
    connection = connect(threads)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    sources = {entity: _open(snapshot, entity) for entity in FILES}
    present = {entity for entity, source in sources.items() if source is not None}
    if CREDIT not in present or CREDIT_USE not in present:
        raise SystemExit(f"{snapshot} has no booking credits or no booking-credit uses")
    for entity in FILES:
        if entity in present:
            began = time.perf_counter()
            connection.execute(load_sql(entity, sources[entity]))
            seconds[f"read {FILES[entity][1]}"] = time.perf_counter() - began
    seconds["read"] = time.perf_counter() - started

    began = time.perf_counter()
    ledgers = [("credit", "credits", "uses", "CoworkerBookingCreditId")]
    if {ALLOWANCE, ALLOWANCE_USE} <= present:
        ledgers.append(("allowance", "allowances", "allowance_uses", "CoworkerExtraServiceId"))
    for name, parents, children, key in ledgers:
        connection.execute(FIRST_ROWS.format(name=f"first_{parents}", table=parents))
        connection.execute(
            LEDGER.format(
                name=f"{name}_ledger", key=key, children=children, parents=f"first_{parents}"
            )
        )
    connection.execute(USE_VIEW)
    seconds["derive"] = time.perf_counter() - began

    counts, by_field = {}, {}
    for rule, query in rule_queries(present, sources[CREDIT_USE]).items():
        began = time.perf_counter()
        found = connection.sql(query).to_arrow_table()  # the findings' Ids, materialised
        counts[rule] = found.num_rows
        seconds[rule] = time.perf_counter() - began
        if rule == "schema_violation":
            for row in (
                found.group_by(["entity", "field"]).aggregate([([], "count_all")]).to_pylist()
            ):
                by_field[f"{row['entity']}.{row['field']}"] = row["count_all"]
    seconds["total"] = time.perf_counter() - started
    connection.close()
    return {
        "snapshot": str(snapshot),
        "duckdb": duckdb.__version__,
        "by_rule": counts,
        "schema_violations_by_field": by_field,
        "seconds": {name: round(value, 3) for name, value in seconds.items()},
    }


def _show(result: dict) -> None:
    for stage, spent in result["seconds"].items():
        count = result["by_rule"].get(stage)
        shown = f"{count:>8,} findings" if count is not None else " " * 17
        print(f"{stage:<32} {shown}  {spent:6.2f} s")
    print(f"peak RSS {result['peak_rss_kb'] / 1024**2:.2f} GiB")


def main(argv: list[str] | None = None) -> int:
    return command_line(__doc__.split("\n\n")[0], run_reference, _show, argv)


if __name__ == "__main__":
    sys.exit(main())
