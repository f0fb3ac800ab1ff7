# ruff: noqa: RUF001  (the en dash in names is what Nexudus exports carry)
"""Generate a large, realistic Nexudus billing-credit snapshot for benchmarking ``recon audit``.

    python benchmarks/make_snapshot.py --credits 1000000 --uses 10000000 \
        --out benchmarks/data/large --format both --seed 7

Everything is vectorised with numpy and pyarrow: no Python loop runs over
records, so 10 million uses take well under a minute to build (the JSON Lines
file, about 10 GB at that size, takes most of the time). The output is
deterministic for a given ``--seed`` and size.

What is written
---------------
- ``coworkerbookingcredits`` (``--credits`` records) and
  ``coworkerbookingcreditusehistories`` (``--uses`` records plus a few planted
  duplicate rows), every field the contract and the API seeds name, in the
  API's field order;
- ``coworkerextraservices`` (about credits/10 allowances) and
  ``coworkerextraserviceusehistories`` (about uses/10 uses), so every rule runs;
- ``planted.json``: the defects planted and the findings a correct audit
  reports for them (``expected_by_rule``), with default settings and
  ``--as-of 2025-12-31T00:00:00Z``.

A snapshot directory may hold only one file per entity (contract section 2),
so ``--format both`` writes ``OUT/parquet/`` and ``OUT/jsonl/``, two complete
snapshots of the same records; ``--format parquet`` or ``jsonl`` writes the
files straight into ``OUT``.

The data
--------
Clean by construction: every balance reconciles exactly in cents, every use
falls inside its credit's validity window (even when locations are given time
zones between UTC-5 and UTC+3: times taken from ``CreatedOn`` lie between
06:00 and 20:00 UTC), each use has exactly one link, eligibility flags agree
with the links. About ``--defect-rate`` (default 0.05%) of the records carry
a planted defect, spread evenly over 16 kinds, each on its own credit or
allowance so that the kinds do not interact, and the administrators' manual
adjustments (a legitimate ``manual_adjustment`` warning) are about 0.02% of
the uses. Date-times are ISO-8601 strings: ``CreatedOn``/``UpdatedOn`` in UTC
with ``Z``, ``ValidFrom``/``ExpireDate`` and booking times as local wall clock
without offset, like the API sends them.

``--untypeable 0.0005`` (JSON Lines only) gives that share of the credits' and of
the uses' records one value pyarrow cannot type as its field's type, at random
rows over the whole file: strings in amounts (``"12,50"``, ``"n/a"``), ``true``
in an amount, impossible or malformed date-times (``"2025-02-30T10:00:00Z"``,
``"yesterday"``), an object or text in an integer field (``UNTYPEABLE``). The
rest of the data is what the same seed gives without the option. ``planted.json``
counts them per field (``untypeable``) and gives the ``schema_violation`` findings
a correct audit reports per entity and field (``expected_schema_violations_by_field``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from recon import stored_datetimes
from recon.entities import BY_NAME
from recon.fields import DATETIME_NAMES

STEMS = {
    "credits": "coworkerbookingcredits",
    "uses": "coworkerbookingcreditusehistories",
    "allowances": "coworkerextraservices",
    "allowance_uses": "coworkerextraserviceusehistories",
}
AS_OF = "2025-12-31T00:00:00Z"
ROW_GROUP = 1_000_000
JSONL_CHUNK = 250_000

DAY = 86_400
EPOCH_2025 = int(np.datetime64("2025-01-01", "s").astype(np.int64))
LAST_USE_DAY = int(np.datetime64("2025-12-30", "D").astype(np.int64))
"""Uses happen up to the day before the benchmark's as-of moment."""
MONTH_STARTS = (
    np.arange("2025-01", "2026-01", dtype="datetime64[M]").astype("datetime64[D]").astype(np.int64)
)
MONTH_ENDS = (
    np.arange("2025-02", "2026-02", dtype="datetime64[M]").astype("datetime64[D]").astype(np.int64)
    - 1
)
MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

# --- reference data (every string here is JSON-safe: no quote, backslash or control char) ----

LOCATIONS = [
    # BusinessId, name, currency, IANA zone (for the time-zone variant), resource names
    (1201, "Northlight London – Shoreditch", "GBP", "Europe/London"),
    (1202, "Northlight Manchester – Ancoats", "GBP", "Europe/London"),
    (1203, "Northlight Dublin – Docklands", "EUR", "Europe/Dublin"),
    (1204, "Northlight Berlin – Kreuzberg", "EUR", "Europe/Berlin"),
    (1205, "Northlight München – Maxvorstadt", "EUR", "Europe/Berlin"),
    (1206, "Northlight Lisboa – Príncipe Real", "EUR", "Europe/Lisbon"),
    (1207, "Northlight Amsterdam – De Pijp", "EUR", "Europe/Amsterdam"),
    (1208, "Northlight Paris – Canal Saint-Martin", "EUR", "Europe/Paris"),
    (1209, "Northlight Barcelona – Poblenou", "EUR", "Europe/Madrid"),
    (1210, "Northlight Athens – Psyrri", "EUR", "Europe/Athens"),
    (1211, "Northlight New York – DUMBO", "USD", "America/New_York"),
    (1212, "Northlight Boston – Seaport", "USD", "America/New_York"),
]
ROOMS = [
    # resource kind, price per hour in cents (even, so 30-minute slots cost whole cents)
    ("Meeting Room 1", 1800),
    ("Meeting Room 2", 2400),
    ("Boardroom", 4800),
    ("Phone Booth 1", 500),
    ("Phone Booth 2", 500),
    ("Podcast Studio", 3600),
    ("Training Room", 6000),
    ("Focus Pod", 800),
]
TARIFFS = [
    # name, TariffBookingCreditId base
    ("Hot Desk – monthly meeting credit", 3101),
    ("Dedicated Desk – monthly room credit", 3112),
    ("Private Office – monthly meeting credit", 3123),
    ("Team Suite – pooled booking credit", 3134),
    ("Virtual Office – monthly credit", 3145),
    ("Flex 10 – monthly credit", 3156),
]
MANUAL_CREDITS = [
    "Goodwill credit – meeting room outage",
    "Referral bonus credit",
    "Compensation – Wi-Fi outage",
    "Event host credit",
    "Annual prepaid credit",
]
EVENTS = [
    "Founders Breakfast",
    "Lunch & Learn: Pitching",
    "Friday Socials",
    "Design Sprint Workshop",
    "Tax Clinic for Freelancers",
    "Yoga at Lunch",
    "Investor Office Hours",
    "Community Quiz Night",
]
TICKETS = [
    ("General admission", 1500),
    ("Member ticket", 500),
    ("Workshop seat", 2500),
    ("Early bird", 1000),
]
FIRST = [
    "Leonie",
    "Priya",
    "Chloe",
    "Lotte",
    "Henrik",
    "Amara",
    "Jonas",
    "Sofia",
    "Mateo",
    "Yuki",
    "Aoife",
    "Kwame",
    "Elif",
    "Noah",
    "Zofia",
    "Ravi",
    "Inès",
    "Luca",
    "Freya",
    "Omar",
    "Hannah",
    "Diego",
    "Mei",
    "Tomás",
    "Nadia",
    "Felix",
    "Ingrid",
    "Samuel",
    "Léa",
    "Bjørn",
]
FIRST_ASCII = [
    "leonie",
    "priya",
    "chloe",
    "lotte",
    "henrik",
    "amara",
    "jonas",
    "sofia",
    "mateo",
    "yuki",
    "aoife",
    "kwame",
    "elif",
    "noah",
    "zofia",
    "ravi",
    "ines",
    "luca",
    "freya",
    "omar",
    "hannah",
    "diego",
    "mei",
    "tomas",
    "nadia",
    "felix",
    "ingrid",
    "samuel",
    "lea",
    "bjorn",
]
LAST = [
    "Okafor",
    "Shah",
    "Demir",
    "Chen",
    "Taylor",
    "Müller",
    "O'Brien",
    "Rossi",
    "García",
    "Kowalski",
    "Nakamura",
    "Mensah",
    "Novak",
    "Fischer",
    "Dubois",
    "Silva",
    "Jensen",
    "Murphy",
    "Costa",
    "Haddad",
    "Larsen",
    "Moreau",
    "Petrov",
    "Yilmaz",
    "Byrne",
    "Khan",
    "Lindqvist",
    "Santos",
    "Weber",
    "Ndiaye",
]
LAST_ASCII = [
    "okafor",
    "shah",
    "demir",
    "chen",
    "taylor",
    "muller",
    "obrien",
    "rossi",
    "garcia",
    "kowalski",
    "nakamura",
    "mensah",
    "novak",
    "fischer",
    "dubois",
    "silva",
    "jensen",
    "murphy",
    "costa",
    "haddad",
    "larsen",
    "moreau",
    "petrov",
    "yilmaz",
    "byrne",
    "khan",
    "lindqvist",
    "santos",
    "weber",
    "ndiaye",
]
DOMAINS = [
    "quillandco",
    "atlas-ux",
    "northwind-design",
    "brightpath",
    "copperleaf",
    "lumen-labs",
    "fernhill",
    "tidewater",
    "kitestring",
    "bluepeak",
    "marlowe-legal",
    "saltbox",
    "orbital-io",
    "greenhouse-ai",
    "papercrane",
]
ADMINS = [
    "priya.shah@northlight.example",
    "henrik.taylor@northlight.example",
    "aoife.byrne@northlight.example",
    "mateo.garcia@northlight.example",
]
ADJUSTMENTS = [
    "Goodwill adjustment – room double-booked",
    "Refund of no-show charge",
    "Correction: booking cancelled within policy",
    "Manual top-up agreed by community team",
    "Adjustment for AV failure in Boardroom",
]
ALLOWANCE_KINDS = [
    # ExtraServiceId, name, ChargePeriod (1 minutes, 5 uses), printing?, base TotalUses, use size
    (4201, "Meeting room hours (included)", 1, False, 600),
    (4202, "Guest day passes (included)", 5, False, 5),
    (4203, "Printing credits (included)", 5, True, 100),
]

_POOLS = (
    LOCATIONS,
    ROOMS,
    TARIFFS,
    MANUAL_CREDITS,
    EVENTS,
    TICKETS,
    FIRST,
    FIRST_ASCII,
    LAST,
    LAST_ASCII,
    DOMAINS,
    ADMINS,
    ADJUSTMENTS,
    ALLOWANCE_KINDS,
    MONTH_NAMES,
)


def _strings_in(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _strings_in(item)


# The JSON Lines writer quotes strings without escaping them: keep every pool JSON-safe.
assert not any(re.search(r'["\\\x00-\x1f]', text) for text in _strings_in(_POOLS)), "escape needed"

# Use kinds
BOOK, EVENT, INVOICE, MANUAL = 0, 1, 2, 3

DEFECT_KINDS = (
    # (kind, the rule its findings carry); ineligible_use and duplicate_record may yield several
    ("balance_off", "balance_mismatch"),
    ("overdrawn", "overdrawn_credit"),
    ("ineligible_events", "ineligible_use"),
    ("credit_missing_coworker", "schema_violation"),
    ("expired_use", "expired_credit_use"),
    ("premature_use", "premature_credit_use"),
    ("orphan_use", "orphan_use"),
    ("unlinked_use", "unlinked_use"),
    ("multi_linked_use", "multi_linked_use"),
    ("booking_ends_before_start", "denormalisation_mismatch"),
    ("zero_amount_use", "non_positive_use"),
    ("impossible_updated_on", "schema_violation"),
    ("duplicated_use_row", "duplicate_record"),
    ("extra_service_unlinked", "extra_service_unlinked"),
    ("extra_service_orphan", "extra_service_orphan"),
    ("extra_service_balance_off", "extra_service_balance_mismatch"),
    ("extra_service_expired_use", "extra_service_expired_use"),
)

ENTITY_NAMES = {
    "credits": "CoworkerBookingCredit",
    "uses": "CoworkerBookingCreditUseHistory",
    "allowances": "CoworkerExtraService",
    "allowance_uses": "CoworkerExtraServiceUseHistory",
}

UNTYPEABLE = {
    # table: (field, JSON texts pyarrow cannot type as the field's type, used in turn)
    "uses": (
        ("CreditUsed", ('"12,50"', '"n/a"', "true")),
        ("UpdatedOn", ('"2025-02-30T10:00:00Z"', '"yesterday"')),
        ("CreatedOn", ('"2025-13-01T09:00:00Z"', '"31/12/2025 09:00"')),
        ("BookingFromTime", ('"2025-06-31T09:00:00"', '"tomorrow 9am"')),
        ("BookingId", ('{"Id": 2000123}', '"B-2000123"')),
    ),
    "credits": (
        ("TotalCredit", ('"120,00"', '"n/a"', "true")),
        ("ExpireDate", ('"2025-02-30T00:00:00"', '"end of month"')),
        ("CoworkerId", ('{"Id": 80001}', '"n/a"')),
    ),
}
"""What ``--untypeable`` plants: strings in amounts, impossible or malformed date-times, a
boolean in a number, an object or text in an integer field. Each is a ``schema_violation``
on its record and field, and nothing else: the records chosen carry no other defect (their
credit none either), and a use whose ``CreditUsed`` is planted has its amount added back to
its credit's ``RemainingCredit``, so that leaving it out of the balance ties the credit out."""

RAW_JSON = b"make_snapshot.raw_json"
"""Field metadata: the column already holds each value's JSON text (written as it is)."""


# --- vectorised string building -------------------------------------------------------------


def _fixed_width(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A string array from an (n, width) uint8 matrix of ASCII bytes, without Python objects."""
    count, width = matrix.shape
    matrix = np.ascontiguousarray(matrix)
    offsets = np.arange(0, count * width + 1, width, dtype=np.int32)
    validity, nulls = None, 0
    if valid is not None and not valid.all():
        validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
        nulls = int(count - valid.sum())
    return pa.Array.from_buffers(
        pa.string(),
        count,
        [validity, pa.py_buffer(offsets), pa.py_buffer(matrix)],
        null_count=nulls,
    )


def _put_digits(matrix: np.ndarray, column: int, values: np.ndarray, width: int) -> None:
    values = values.astype(np.int64, copy=True)
    for position in range(column + width - 1, column - 1, -1):
        matrix[:, position] = values % 10 + 48
        values //= 10


def iso(seconds: np.ndarray, *, zulu: bool, valid: np.ndarray | None = None) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS`` (``Z`` appended when ``zulu``) of epoch seconds."""
    seconds = np.asarray(seconds, dtype=np.int64)
    days = (seconds // DAY).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    clock = seconds % DAY
    width = 20 if zulu else 19
    matrix = np.empty((len(seconds), width), dtype=np.uint8)
    _put_digits(matrix, 0, year, 4)
    _put_digits(matrix, 5, month, 2)
    _put_digits(matrix, 8, day, 2)
    _put_digits(matrix, 11, clock // 3600, 2)
    _put_digits(matrix, 14, clock // 60 % 60, 2)
    _put_digits(matrix, 17, clock % 60, 2)
    matrix[:, 4] = matrix[:, 7] = ord("-")
    matrix[:, 10] = ord("T")
    matrix[:, 13] = matrix[:, 16] = ord(":")
    if zulu:
        matrix[:, 19] = ord("Z")
    return _fixed_width(matrix, valid)


_HEX_PAIRS = np.array(
    [[ord(a), ord(b)] for a in "0123456789abcdef" for b in "0123456789abcdef"], dtype=np.uint8
)


def uuids(rng: np.random.Generator, count: int) -> pa.Array:
    """Random version-4 UUID strings (36 characters)."""
    raw = np.frombuffer(rng.bytes(count * 16), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexed = _HEX_PAIRS[raw].reshape(count, 32)
    matrix = np.empty((count, 36), dtype=np.uint8)
    for start, stop, at in ((0, 8, 0), (8, 12, 9), (12, 16, 14), (16, 20, 19), (20, 32, 24)):
        matrix[:, at : at + stop - start] = hexed[:, start:stop]
    matrix[:, [8, 13, 18, 23]] = ord("-")
    return _fixed_width(matrix)


def pick(pool: list[str], index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``pool[index]`` as a plain (not dictionary) string array; null where not ``valid``."""
    taken = pc.take(pa.array(pool, pa.string()), pa.array(index.astype(np.int32)))
    return taken if valid is None else _null_where(taken, ~valid)


def join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def text_of(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def money_text(cents: np.ndarray) -> pa.Array:
    """``12.50`` for 1250 (non-negative amounts)."""
    cents = np.asarray(cents, dtype=np.int64)
    hundredths = pick([f"{i:02d}" for i in range(100)], np.abs(cents) % 100)
    sign = pick(["", "-"], (cents < 0).astype(np.int8))
    return join(sign, text_of(np.abs(cents) // 100), ".", hundredths)


def _null_where(values: pa.Array, mask: np.ndarray) -> pa.Array:
    if not mask.any():
        return values
    return pc.if_else(pa.array(mask), pa.scalar(None, values.type), values)


def ints(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    mask = None if valid is None else ~valid
    return pa.array(np.asarray(values, dtype=np.int64), mask=mask)


def floats_of_cents(cents: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(cents, dtype=np.int64) / 100.0)


# --- the generator ---------------------------------------------------------------------------


@dataclass
class Planted:
    counts: dict[str, int] = field(default_factory=dict)
    expected: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, rule: str, records: int, findings: int | None = None) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + records
        self.expected[rule] = self.expected.get(rule, 0) + (
            records if findings is None else findings
        )


def _first_of(keys: np.ndarray, selected: np.ndarray, size: int) -> np.ndarray:
    """For each key 0..size-1, one row of ``selected`` having it (-1 when none)."""
    rows = np.flatnonzero(selected)
    first = np.full(size, -1, dtype=np.int64)
    first[keys[rows[::-1]]] = rows[::-1]
    return first


class _Picker:
    """Hands out parents (credits or allowances) in a random order, each at most once."""

    def __init__(self, rng: np.random.Generator, size: int) -> None:
        self.order = rng.permutation(size)
        self.taken = np.zeros(size, dtype=bool)

    def take(self, count: int, eligible: np.ndarray) -> np.ndarray:
        candidates = self.order[eligible[self.order] & ~self.taken[self.order]][:count]
        self.taken[candidates] = True
        return candidates


def _window_days(rng, count, *, long_share, open_share):
    """Monthly validity windows (ValidFrom the 1st, ExpireDate the last day at midnight),
    some year-long ones and some open-ended (null ValidFrom and ExpireDate)."""
    month = rng.integers(0, 12, count)
    start = MONTH_STARTS[month].copy()
    end = MONTH_ENDS[month].copy()
    u = rng.random(count)
    long = u < long_share
    start[long] = EPOCH_2025 // DAY + rng.integers(0, 181, int(long.sum()))
    end[long] = start[long] + 364
    open_ended = (u >= long_share) & (u < long_share + open_share)
    return month, start, end, long, open_ended


def _usage_days(rng, start, end, open_ended):
    """A day inside each window (never after LAST_USE_DAY)."""
    first = np.where(open_ended, EPOCH_2025 // DAY, start)
    last = np.minimum(np.where(open_ended, LAST_USE_DAY, end), LAST_USE_DAY)
    return first + np.floor(rng.random(len(first)) * (last - first + 1)).astype(np.int64)


def _tiered(rng, spent, base):
    """A total from the tiers base x {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, ...} at or above
    ``spent``, sometimes one tier higher (a member who did not use it all)."""
    steps = np.array([1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 7.5])
    tiers = np.unique(
        np.rint(np.concatenate([steps * base * 10**k for k in range(6)])).astype(np.int64)
    )
    index = np.searchsorted(tiers, np.maximum(spent, 0), side="left")
    index = np.minimum(index + (rng.random(len(spent)) < 0.3), len(tiers) - 1)
    return np.maximum(tiers[index], spent)


def generate(
    credits: int, uses: int, *, seed: int, defect_rate: float, untypeable: float = 0.0
) -> tuple[dict[str, pa.Table], dict]:
    """The four tables and ``planted.json``'s content. ``untypeable``: the share of the
    credits' and of the uses' records given one value pyarrow cannot type (``UNTYPEABLE``);
    such tables hold JSON text for JSON Lines only."""
    rng = np.random.default_rng(seed)
    allowances = max(credits // 10, 1)
    allowance_uses = max(uses // 10, 1)
    total_records = credits + uses + allowances + allowance_uses
    per_kind = max(1, round(defect_rate * total_records / len(DEFECT_KINDS)))
    planted = Planted()
    coworkers = max(credits // 6, 10)

    # ---- credits: who, where, validity -------------------------------------------------------
    n = credits
    loc = rng.integers(0, len(LOCATIONS), n)
    coworker = rng.integers(0, coworkers, n)
    month, vf_day, ex_day, long, open_ended = _window_days(rng, n, long_share=0.03, open_share=0.01)
    manual_credit = long | open_ended
    created = np.where(
        open_ended,
        EPOCH_2025 + rng.integers(0, 330 * DAY, n),
        vf_day * DAY - rng.integers(DAY, 5 * DAY, n),
    )
    order = np.argsort(created, kind="stable")
    loc, coworker, month, vf_day, ex_day, long, open_ended, manual_credit, created = (
        a[order]
        for a in (loc, coworker, month, vf_day, ex_day, long, open_ended, manual_credit, created)
    )
    tariff = rng.integers(0, len(TARIFFS), n)
    universal = rng.random(n) < 0.08
    can_book = ~(universal & (rng.random(n) < 0.5))
    can_event = rng.random(n) < 0.75

    # ---- booking-credit uses ----------------------------------------------------------------
    m = uses
    cr = rng.integers(0, n, m)
    u = rng.random(m)
    kind = np.where(u < 0.85, BOOK, np.where(u < 0.91, EVENT, INVOICE)).astype(np.int8)
    kind[rng.random(m) < 0.0002] = MANUAL
    kind[(kind == BOOK) & ~can_book[cr]] = INVOICE
    refused = (kind == EVENT) & ~can_event[cr]
    kind[refused] = np.where(can_book[cr[refused]], BOOK, INVOICE)
    uday = _usage_days(rng, vf_day[cr], ex_day[cr], open_ended[cr])
    is_book = kind == BOOK
    start_min = 8 * 60 + 30 * rng.integers(0, 21, m)
    duration = 30 * rng.integers(1, 9, m)
    book_from = uday * DAY + start_min * 60
    book_to = book_from + duration * 60
    created_u = np.where(
        is_book,
        book_from - rng.integers(600, 10 * DAY, m),
        uday * DAY + rng.integers(6 * 3600, 20 * 3600, m),
    )
    room = rng.integers(0, len(ROOMS), m)
    room_price = np.array([price for _, price in ROOMS])
    event = rng.integers(0, len(EVENTS), m)
    ticket = rng.integers(0, len(TICKETS), m)
    ticket_price = np.array([price for _, price in TICKETS])
    cents = np.select(
        [kind == BOOK, kind == EVENT, kind == INVOICE],
        [
            room_price[room] * duration // 60,
            ticket_price[ticket],
            500 + 50 * rng.integers(0, 150, m),
        ],
        500 + 100 * rng.integers(0, 20, m),
    )
    manual = kind == MANUAL
    cents[manual & (rng.random(m) < 0.15)] *= -1  # credit given back
    planted.add("manual_adjustment (legitimate)", "manual_adjustment", int(manual.sum()))

    # Use-level defects, each on a credit of its own.
    credits_picker = _Picker(rng, n)
    first_book = _first_of(cr, is_book, n)
    first_event = _first_of(cr, kind == EVENT, n)
    first_invoice = _first_of(cr, kind == INVOICE, n)
    first_linked = np.where(first_event >= 0, first_event, first_invoice)
    has_expiry = ~open_ended
    orphan = np.zeros(m, dtype=bool)
    unlinked = np.zeros(m, dtype=bool)
    multi = np.zeros(m, dtype=bool)
    backwards = np.zeros(m, dtype=bool)
    bad_updated = np.zeros(m, dtype=bool)

    rows = first_book[credits_picker.take(per_kind, (first_book >= 0) & has_expiry)]
    book_from[rows] = (ex_day[cr[rows]] + 2) * DAY + 10 * 3600
    book_to[rows] = book_from[rows] + 3600
    planted.add("expired_use", "expired_credit_use", len(rows))

    rows = first_book[credits_picker.take(per_kind, (first_book >= 0) & has_expiry)]
    book_from[rows] = (vf_day[cr[rows]] - 1) * DAY + 10 * 3600
    book_to[rows] = book_from[rows] + 3600
    created_u[rows] = np.minimum(created_u[rows], book_from[rows] - 3600)
    planted.add("premature_use", "premature_credit_use", len(rows))

    rows = first_book[credits_picker.take(per_kind, first_book >= 0)]
    orphan[rows] = True
    planted.add("orphan_use", "orphan_use", len(rows))

    # Unlinked: an event or invoice use (its CreatedOn lies inside the window) loses its link.
    rows = first_linked[credits_picker.take(per_kind, first_linked >= 0)]
    unlinked[rows] = True
    planted.add("unlinked_use", "unlinked_use", len(rows))

    rows = first_book[credits_picker.take(per_kind, first_book >= 0)]
    multi[rows] = True
    planted.add("multi_linked_use", "multi_linked_use", len(rows))

    rows = first_book[credits_picker.take(per_kind, first_book >= 0)]
    backwards[rows] = True
    book_to[rows] = book_from[rows] - 3600
    planted.add("booking_ends_before_start", "denormalisation_mismatch", len(rows))

    rows = first_invoice[credits_picker.take(per_kind, first_invoice >= 0)]
    cents[rows] = 0
    planted.add("zero_amount_use", "non_positive_use", len(rows))

    rows = first_book[credits_picker.take(per_kind, first_book >= 0)]
    bad_updated[rows] = True
    planted.add("impossible_updated_on", "schema_violation", len(rows))

    duplicate_sources = first_book[credits_picker.take(per_kind, first_book >= 0)]
    planted.add(
        "duplicated_use_row", "duplicate_record", len(duplicate_sources), 2 * len(duplicate_sources)
    )

    # ---- credit totals from the ledger (orphans are not in it), then credit-level defects -------
    ledger = np.bincount(cr[~orphan], weights=cents[~orphan], minlength=n).astype(np.int64)
    total = _tiered(rng, ledger, 5000)
    remaining = total - ledger

    rows = credits_picker.take(per_kind, np.ones(n, dtype=bool))
    remaining[rows] += np.array([1250, 1, 4000, 250])[rng.integers(0, 4, len(rows))]
    planted.add("balance_off", "balance_mismatch", len(rows))

    rows = credits_picker.take(per_kind, ledger >= 2000)
    total[rows] = ledger[rows] - 1000
    remaining[rows] = -1000
    planted.add("overdrawn", "overdrawn_credit", len(rows))

    events_per_credit = np.bincount(cr[kind == EVENT], minlength=n)
    rows = credits_picker.take(per_kind, (events_per_credit > 0) & can_event)
    can_event[rows] = False
    planted.add(
        "ineligible_events", "ineligible_use", len(rows), int(events_per_credit[rows].sum())
    )

    missing_coworker = np.zeros(n, dtype=bool)
    missing_coworker[credits_picker.take(per_kind, np.ones(n, dtype=bool))] = True
    planted.add("credit_missing_coworker", "schema_violation", int(missing_coworker.sum()))

    # ---- uses in creation order, Ids, duplicates appended -------------------------------------
    order = np.argsort(created_u, kind="stable")
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(m)
    dup_rows = np.sort(rank[duplicate_sources])
    (
        cr,
        kind,
        uday,
        book_from,
        book_to,
        created_u,
        room,
        event,
        ticket,
        cents,
        orphan,
        unlinked,
        multi,
        backwards,
        bad_updated,
    ) = (
        a[order]
        for a in (
            cr,
            kind,
            uday,
            book_from,
            book_to,
            created_u,
            room,
            event,
            ticket,
            cents,
            orphan,
            unlinked,
            multi,
            backwards,
            bad_updated,
        )
    )
    use_ids = 50_000_001 + np.arange(m)
    use_uuid = uuids(rng, m)
    updated_u = created_u + np.where(rng.random(m) < 0.1, rng.integers(60, 3 * DAY, m), 0)

    is_book = kind == BOOK
    is_event = kind == EVENT
    is_invoice = kind == INVOICE
    manual = kind == MANUAL
    linked_book = is_book & ~unlinked
    linked_event = is_event & ~unlinked
    linked_invoice = (is_invoice & ~unlinked) | multi
    booking_ids = 2_000_000 + np.cumsum(is_book)
    event_ids = 300_000 + np.cumsum(is_event)
    line_ids = 900_000 + np.cumsum(is_invoice | multi)
    invoice_ids = 60_000 + line_ids // 3

    credit_ids = 10_001 + np.arange(n)
    use_credit_ids = credit_ids[cr]
    orphan_rows = np.flatnonzero(orphan)
    use_credit_ids[orphan_rows] = np.where(
        np.arange(len(orphan_rows)) % 2 == 0, 0, 90_000_000 + np.arange(len(orphan_rows))
    )

    use_loc = loc[cr]
    use_coworker = coworker[cr]
    room_index = use_loc * len(ROOMS) + room
    room_names = [
        f"{name} – {location[1].split(' – ')[1]}" for location in LOCATIONS for name, _ in ROOMS
    ]
    currency = [location[2] for location in LOCATIONS]
    people = _people(coworkers)
    updated_by = pc.take(people["email"], pa.array(use_coworker))
    updated_by = pc.if_else(pa.array(manual), pick(ADMINS, use_coworker % len(ADMINS)), updated_by)
    invoice_number = join("INV-2025-", pc.utf8_lpad(text_of(invoice_ids), 6, "0"))
    amount = money_text(cents)
    cur = pick(currency, use_loc)
    to_string = pc.case_when(
        pc.make_struct(pa.array(is_book), pa.array(is_event), pa.array(is_invoice)),
        join(amount, " ", cur, " – ", pick(room_names, room_index)),
        join(amount, " ", cur, " – ", pick(EVENTS, event)),
        join(amount, " ", cur, " – ", invoice_number),
        join(amount, " ", cur, " – manual adjustment"),
    )
    updated_strings = iso(updated_u, zulu=True)
    if bad_updated.any():
        # 2025-02-30: well formed but impossible, a schema violation and nothing else.
        updated_strings = pc.if_else(pa.array(bad_updated), "2025-02-30T10:00:00Z", updated_strings)

    use_columns = {
        "Description": pick(ADJUSTMENTS, use_coworker % len(ADJUSTMENTS), manual),
        "CoworkerBookingCreditId": ints(use_credit_ids),
        "BookingId": ints(booking_ids, linked_book),
        "BookingFromTime": iso(book_from, zulu=False, valid=linked_book),
        "BookingToTime": iso(book_to, zulu=False, valid=linked_book),
        "BookingResourceName": pick(room_names, room_index, linked_book),
        "CoworkerInvoiceLineId": ints(line_ids, linked_invoice),
        "CoworkerInvoiceLineCoworkerInvoiceId": ints(invoice_ids, linked_invoice),
        "CoworkerInvoiceLineCoworkerInvoiceInvoiceNumber": _null_where(
            invoice_number, ~linked_invoice
        ),
        "EventAttendeeId": ints(event_ids, linked_event),
        "EventAttendeeCalendarEventName": pick(EVENTS, event, linked_event),
        "EventAttendeeEventProductName": pick([name for name, _ in TICKETS], ticket, linked_event),
        "EventAttendeeFullName": _null_where(
            pc.take(people["name"], pa.array(use_coworker)), ~linked_event
        ),
        "EventAttendeeEmail": _null_where(
            pc.take(people["email"], pa.array(use_coworker)), ~linked_event
        ),
        "CreditUsed": floats_of_cents(cents),
        **_base_columns(use_ids, use_uuid, created_u, updated_strings, updated_by),
        "ToStringText": to_string,
        "LocalizationDetails": pa.nulls(m),
        "CustomFields": pa.nulls(m),
    }
    use_table = pa.table(use_columns)
    if len(dup_rows):
        # The same record exported twice (same Id and UniqueId), e.g. from an overlapping page.
        use_table = pa.concat_tables([use_table, use_table.take(pa.array(dup_rows))])
    # Records free of every other planted defect, for --untypeable (the duplicates are last).
    use_clean = ~(orphan | unlinked | multi | backwards | bad_updated | manual)
    use_clean &= ~credits_picker.taken[cr]
    use_clean = np.concatenate([use_clean, np.zeros(use_table.num_rows - m, dtype=bool)])
    untyped_rng = np.random.default_rng([seed, 12])  # the clean data stay as without the option
    use_untyped = _choose_untypeable(untyped_rng, use_table, use_clean, "uses", untypeable)
    amounts_left_out = use_untyped.get("CreditUsed", (np.zeros(0, dtype=np.int64), []))[0]

    # ---- credit records -----------------------------------------------------------------------
    credit_uuid = uuids(rng, n)
    contract_uuid = uuids(rng, n)
    credit_updated = np.minimum(
        created + rng.integers(0, 40 * DAY, n), (LAST_USE_DAY + 1) * DAY - 1
    )
    tariff_desc = [
        f"{name} – {month_name} 2025" for name, _ in TARIFFS for month_name in MONTH_NAMES
    ]
    description = pc.if_else(
        pa.array(manual_credit),
        pick(MANUAL_CREDITS, coworker % len(MANUAL_CREDITS)),
        pick(tariff_desc, tariff * 12 + month),
    )
    # A use whose amount cannot be read is left out of its credit's ledger: add it back.
    np.add.at(remaining, cr[amounts_left_out], cents[amounts_left_out])
    total_text = money_text(total)
    credit_columns = {
        "CoworkerId": ints(80_001 + coworker, ~missing_coworker),
        "BusinessId": ints(np.array([location[0] for location in LOCATIONS])[loc]),
        "BusinessName": pick([location[1] for location in LOCATIONS], loc),
        "BusinessCurrencyCode": pick(currency, loc),
        "Description": description,
        "TariffBookingCreditId": ints(np.array([t for _, t in TARIFFS])[tariff], ~manual_credit),
        "TariffBookingCreditName": pick([name for name, _ in TARIFFS], tariff, ~manual_credit),
        "RemainingCredit": floats_of_cents(remaining),
        "TotalCredit": floats_of_cents(total),
        "ValidFrom": iso(vf_day * DAY, zulu=False, valid=~open_ended),
        "ExpireDate": iso(ex_day * DAY, zulu=False, valid=~open_ended),
        "CaneBeUsedForBookings": pa.array(can_book),
        "CaneBeUsedForEvents": pa.array(can_event),
        "IsUniversalCredit": pa.array(universal),
        "AppliesToCharges": pa.array(universal),
        "UseCreditPrice": pa.array(np.zeros(n, dtype=bool)),
        "CoworkerProductUniqueId": pa.nulls(n, pa.string()),
        "CoworkerContractUniqueId": _null_where(contract_uuid, manual_credit),
        **_base_columns(
            credit_ids,
            credit_uuid,
            created,
            iso(credit_updated, zulu=True),
            pick(
                ["billing.automation@northlight.example", *ADMINS],
                np.where(manual_credit, 1 + coworker % len(ADMINS), 0),
            ),
        ),
        "ToStringText": join(
            pc.take(people["name"], pa.array(coworker)),
            ": ",
            total_text,
            " ",
            pick(currency, loc),
            " (",
            description,
            ")",
        ),
        "LocalizationDetails": pa.nulls(n),
        "CustomFields": pa.nulls(n),
    }
    credit_table = pa.table(credit_columns)
    credit_untyped = _choose_untypeable(
        untyped_rng, credit_table, ~credits_picker.taken, "credits", untypeable
    )
    use_table = _plant_untypeable(use_table, use_untyped)
    credit_table = _plant_untypeable(credit_table, credit_untyped)
    untyped_by_field = {
        ENTITY_NAMES["credits"]: {name: len(rows) for name, (rows, _) in credit_untyped.items()},
        ENTITY_NAMES["uses"]: {name: len(rows) for name, (rows, _) in use_untyped.items()},
    }
    untyped_values = sum(sum(fields.values()) for fields in untyped_by_field.values())
    untyped_records = {
        ENTITY_NAMES[name]: {
            field_name: ids[rows].tolist() for field_name, (rows, _) in chosen.items()
        }
        for name, chosen, ids in (
            ("credits", credit_untyped, credit_ids),
            ("uses", use_untyped, use_table.column("Id").to_numpy()),
        )
    }
    if untyped_values:
        planted.add("untypeable_value", "schema_violation", untyped_values)
    violations_by_field = {
        ENTITY_NAMES["credits"]: {"CoworkerId": planted.counts["credit_missing_coworker"]},
        ENTITY_NAMES["uses"]: {"UpdatedOn": planted.counts["impossible_updated_on"]},
    }
    for entity, fields in untyped_by_field.items():
        for name, count in fields.items():
            violations_by_field[entity][name] = violations_by_field[entity].get(name, 0) + count

    allowance_table, allowance_use_table = _extra_services(
        rng, allowances, allowance_uses, coworkers, people, room_names, per_kind, planted
    )
    tables = {
        "credits": credit_table,
        "uses": use_table,
        "allowances": allowance_table,
        "allowance_uses": allowance_use_table,
    }
    info = {
        "seed": seed,
        "credits": credits,
        "uses": uses,
        "records": {name: table.num_rows for name, table in tables.items()},
        "defect_rate": defect_rate,
        "defects_per_kind": per_kind,
        "planted": planted.counts,
        "expected_by_rule": planted.expected,
        "expected_findings": sum(planted.expected.values()),
        "untypeable": {
            "rate": untypeable,
            "values": untyped_values,
            "by_field": untyped_by_field,
            "record_ids": untyped_records,
        },
        "expected_schema_violations_by_field": violations_by_field,
        "as_of": AS_OF,
        "note": "expected_by_rule holds for the default rule set (any time zones between UTC-5 "
        "and UTC+3) and --as-of " + AS_OF,
    }
    return tables, info


def _choose_untypeable(
    rng: np.random.Generator, table: pa.Table, eligible: np.ndarray, name: str, rate: float
) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Per field of ``UNTYPEABLE[name]``: the rows (sorted, anywhere in the file) to give an
    untypeable value, and the JSON text of each. About ``rate`` of the table's records get
    one, shared evenly among the fields; a field is planted only where it holds a value."""
    if rate <= 0:
        return {}
    fields = UNTYPEABLE[name]
    wanted = max(1, round(rate * table.num_rows))
    taken = ~eligible
    chosen = {}
    for position, (field_name, texts) in enumerate(fields):
        count = wanted // len(fields) + (position < wanted % len(fields))
        present = table.column(field_name).is_valid().to_numpy(zero_copy_only=False)
        candidates = np.flatnonzero(present & ~taken)
        rows = np.sort(rng.choice(candidates, min(count, len(candidates)), replace=False))
        taken[rows] = True
        chosen[field_name] = (rows, [texts[i % len(texts)] for i in range(len(rows))])
    return chosen


def _plant_untypeable(table: pa.Table, chosen: dict[str, tuple[np.ndarray, list[str]]]) -> pa.Table:
    """``table`` with each chosen field held as JSON text (``RAW_JSON``), the chosen rows
    replaced by their untypeable text."""
    for field_name, (rows, texts) in chosen.items():
        if not len(rows):
            continue
        fragments = _json_fragments(table.column(field_name).combine_chunks())
        mask = np.zeros(table.num_rows, dtype=bool)
        mask[rows] = True
        planted = pc.replace_with_mask(fragments, pa.array(mask), pa.array(texts, pa.string()))
        index = table.schema.get_field_index(field_name)
        raw = pa.field(field_name, pa.string(), metadata={RAW_JSON: b"1"})
        table = table.set_column(index, raw, planted)
    return table


def _people(coworkers: int) -> dict[str, pa.Array]:
    index = np.arange(coworkers)
    first, last, domain = (
        index % len(FIRST),
        (index // len(FIRST)) % len(LAST),
        (index * 7) % len(DOMAINS),
    )
    number = index // (len(FIRST) * len(LAST))
    suffix = pc.if_else(pa.array(number > 0), text_of(number), "")
    return {
        "name": join(pick(FIRST, first), " ", pick(LAST, last)),
        "email": join(
            pick(FIRST_ASCII, first),
            ".",
            pick(LAST_ASCII, last),
            suffix,
            "@",
            pick(DOMAINS, domain),
            ".example",
        ),
    }


def _base_columns(
    ids: np.ndarray,
    unique_ids: pa.Array,
    created: np.ndarray,
    updated: pa.Array,
    updated_by: pa.Array,
) -> dict[str, pa.Array]:
    count = len(ids)
    return {
        "Id": ints(ids),
        "UpdatedOn": updated,
        "CreatedOn": iso(created, zulu=True),
        "UniqueId": unique_ids,
        "UpdatedBy": updated_by,
        "IsNew": pa.array(np.zeros(count, dtype=bool)),
        "SystemId": pa.nulls(count, pa.string()),
    }


def _extra_services(rng, count, use_count, coworkers, people, room_names, per_kind, planted):
    """Allowances (CoworkerExtraService) and their ledger (CoworkerExtraServiceUseHistory)."""
    a = count
    loc = rng.integers(0, len(LOCATIONS), a)
    coworker = rng.integers(0, coworkers, a)
    service = rng.integers(0, len(ALLOWANCE_KINDS), a)
    month, vf_day, ex_day, _long, _open = _window_days(rng, a, long_share=0.0, open_share=0.0)
    created = vf_day * DAY - rng.integers(DAY, 5 * DAY, a)
    order = np.argsort(created, kind="stable")
    loc, coworker, service, month, vf_day, ex_day, created = (
        x[order] for x in (loc, coworker, service, month, vf_day, ex_day, created)
    )

    m = use_count
    ea = rng.integers(0, a, m)
    uday = _usage_days(rng, vf_day[ea], ex_day[ea], np.zeros(m, dtype=bool))
    minutes_kind = service[ea] == 0
    start = np.where(minutes_kind, 8 * 60 + 30 * rng.integers(0, 21, m), 9 * 60)
    duration = np.where(minutes_kind, 30 * rng.integers(1, 9, m), 8 * 60)
    used = np.select([service[ea] == 0, service[ea] == 1], [duration, 1], rng.integers(1, 40, m))
    book_from = uday * DAY + start * 60
    book_to = book_from + duration * 60
    created_u = book_from - rng.integers(600, 7 * DAY, m)

    picker = _Picker(rng, a)
    first_use = _first_of(ea, np.ones(m, dtype=bool), a)
    no_booking = np.zeros(m, dtype=bool)
    orphan = np.zeros(m, dtype=bool)

    rows = first_use[picker.take(per_kind, first_use >= 0)]
    no_booking[rows] = True
    planted.add("extra_service_unlinked", "extra_service_unlinked", len(rows))

    rows = first_use[picker.take(per_kind, first_use >= 0)]
    orphan[rows] = True
    planted.add("extra_service_orphan", "extra_service_orphan", len(rows))

    rows = first_use[picker.take(per_kind, first_use >= 0)]
    book_from[rows] = (ex_day[ea[rows]] + 3) * DAY + 9 * 3600
    book_to[rows] = book_from[rows] + duration[rows] * 60
    planted.add("extra_service_expired_use", "extra_service_expired_use", len(rows))

    ledger = np.bincount(ea[~orphan], weights=used[~orphan], minlength=a).astype(np.int64)
    linked = np.bincount(ea[~orphan], minlength=a)
    total = np.empty(a, dtype=np.int64)
    for index, kind in enumerate(ALLOWANCE_KINDS):
        rows_of = service == index
        total[rows_of] = _tiered(rng, ledger[rows_of], kind[4])
    remaining = total - ledger
    rows = picker.take(per_kind, linked > 0)
    remaining[rows] += np.where(service[rows] == 0, 30, 1)
    planted.add("extra_service_balance_off", "extra_service_balance_mismatch", len(rows))

    allowance_ids = 20_001 + np.arange(a)
    service_names = [kind[1] for kind in ALLOWANCE_KINDS]
    descriptions = [
        f"{name} – {month_name} 2025" for name in service_names for month_name in MONTH_NAMES
    ]
    allowance_columns = {
        "CoworkerId": ints(80_001 + coworker),
        "BusinessId": ints(np.array([location[0] for location in LOCATIONS])[loc]),
        "ExtraServiceId": ints(np.array([kind[0] for kind in ALLOWANCE_KINDS])[service]),
        "ExtraServiceName": pick(service_names, service),
        "ExtraServiceCurrencyCode": pick([location[2] for location in LOCATIONS], loc),
        "ExtraServiceIsPrintingCredit": pa.array(
            np.array([kind[3] for kind in ALLOWANCE_KINDS])[service]
        ),
        "Description": pick(descriptions, service * 12 + month),
        "Notes": pa.nulls(a, pa.string()),
        "TotalUses": ints(total),
        "RemainingUses": ints(remaining),
        "ChargePeriod": ints(np.array([kind[2] for kind in ALLOWANCE_KINDS])[service]),
        "Free": pa.array(np.ones(a, dtype=bool)),
        "Price": pa.array(np.zeros(a)),
        "ValidFrom": iso(vf_day * DAY, zulu=False),
        "ExpireDate": iso(ex_day * DAY, zulu=False),
        "DueDate": pa.nulls(a, pa.string()),
        "Invoiced": pa.array(np.zeros(a, dtype=bool)),
        "InvoiceDate": pa.nulls(a, pa.string()),
        "IsFromTariff": pa.array(np.ones(a, dtype=bool)),
        "CoworkerContractUniqueId": uuids(rng, a),
        "BookingId": pa.nulls(a, pa.int64()),
        "BookingFromTime": pa.nulls(a, pa.string()),
        "BookingToTime": pa.nulls(a, pa.string()),
        "BookingResourceName": pa.nulls(a, pa.string()),
        **_base_columns(
            allowance_ids,
            uuids(rng, a),
            created,
            iso(created + 3600, zulu=True),
            pick(["billing.automation@northlight.example"], np.zeros(a, dtype=np.int64)),
        ),
        "ToStringText": join(
            pick(service_names, service), " – ", pc.take(people["name"], pa.array(coworker))
        ),
        "LocalizationDetails": pa.nulls(a),
        "CustomFields": pa.nulls(a),
    }
    # Uses in creation order.
    order = np.argsort(created_u, kind="stable")
    ea, book_from, book_to, created_u, used, no_booking, orphan = (
        x[order] for x in (ea, book_from, book_to, created_u, used, no_booking, orphan)
    )
    use_loc = loc[ea]
    room_index = use_loc * len(ROOMS) + np.where(
        service[ea] == 0, rng.integers(0, len(ROOMS), m), 7
    )
    parent_ids = allowance_ids[ea]
    orphan_rows = np.flatnonzero(orphan)
    parent_ids[orphan_rows] = np.where(
        np.arange(len(orphan_rows)) % 2 == 0, 0, 95_000_000 + np.arange(len(orphan_rows))
    )
    use_ids = 70_000_001 + np.arange(m)
    use_columns = {
        "CoworkerExtraServiceId": ints(parent_ids),
        "BookingId": ints(5_000_000 + np.arange(m), ~no_booking),
        "BookingFromTime": iso(book_from, zulu=False),
        "BookingToTime": iso(book_to, zulu=False),
        "BookingResourceName": pick(room_names, room_index),
        "CreditUsed": ints(used),
        **_base_columns(
            use_ids,
            uuids(rng, m),
            created_u,
            iso(created_u, zulu=True),
            pc.take(people["email"], pa.array(coworker[ea])),
        ),
        "ToStringText": join(text_of(used), " × ", pick(room_names, room_index)),
        "LocalizationDetails": pa.nulls(m),
        "CustomFields": pa.nulls(m),
    }
    return pa.table(allowance_columns), pa.table(use_columns)


# --- writers ---------------------------------------------------------------------------------


def write_parquet(table: pa.Table, path: Path, entity: str, *, text_datetimes: bool) -> None:
    """Parquet as ``recon fetch`` writes it: date-times stored typed (``stored_datetimes``),
    unless ``text_datetimes`` (the layout of snapshots fetched before that)."""
    if any(spec.metadata and RAW_JSON in spec.metadata for spec in table.schema):
        raise SystemExit("untypeable values can be written as JSON Lines only (--format jsonl)")
    if not text_datetimes:
        table = stored_datetimes.store(table, DATETIME_NAMES[BY_NAME[entity]])
    pq.write_table(table, path, row_group_size=ROW_GROUP)


def _json_fragments(column: pa.Array) -> pa.Array | pa.Scalar:
    """Each value as JSON text (the strings here never need escaping: see the pools above)."""
    kind = column.type
    if pa.types.is_null(kind):
        return pa.scalar("null")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = pc.binary_join_element_wise('"', column, '"', "")
    elif pa.types.is_integer(kind):
        text = pc.cast(column, pa.string())
    elif pa.types.is_floating(kind):
        # Python's json writes 60.0, not 60: keep the value a JSON float.
        text = pc.cast(column, pa.string())
        values = column.to_numpy(zero_copy_only=False)
        integral = np.isfinite(values) & (np.floor(values) == values)
        text = pc.if_else(pa.array(integral), pc.binary_join_element_wise(text, ".0", ""), text)
    elif pa.types.is_boolean(kind):
        text = pc.if_else(column, "true", "false")
    else:
        raise TypeError(f"no JSON writer for {kind}")
    return pc.fill_null(text, "null")


def _jsonl_chunk(table: pa.Table) -> bytes:
    parts: list = []
    for position, spec in enumerate(table.schema):
        parts.append(("{" if position == 0 else ", ") + json.dumps(spec.name) + ": ")
        column = table.column(spec.name).combine_chunks()
        raw = spec.metadata and RAW_JSON in spec.metadata
        parts.append(column if raw else _json_fragments(column))
    parts.append("}\n")
    lines = pc.binary_join_element_wise(*parts, "")
    _, offsets, data = lines.buffers()
    width = 8 if pa.types.is_large_string(lines.type) else 4
    bounds = np.frombuffer(offsets, dtype=np.int64 if width == 8 else np.int32)
    start, stop = bounds[lines.offset], bounds[lines.offset + len(lines)]
    return memoryview(data)[start:stop].tobytes()


def write_jsonl(table: pa.Table, path: Path, *, threads: int = 2) -> None:
    """JSON Lines, one record a line, as ``json.dumps(record)`` writes them (", " and ": ")."""
    chunks = [table.slice(start, JSONL_CHUNK) for start in range(0, table.num_rows, JSONL_CHUNK)]
    with path.open("wb") as handle, ThreadPoolExecutor(threads) as pool:
        # pyarrow compute releases the GIL: chunks are built in parallel, written in order.
        for block in pool.map(_jsonl_chunk, chunks):
            handle.write(block)


def write_snapshot(
    tables: dict[str, pa.Table], out: Path, fmt: str, *, text_datetimes: bool = False
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        stem = STEMS[name]
        for other in ("json", "jsonl", "parquet"):
            if other != fmt:
                (out / f"{stem}.{other}").unlink(missing_ok=True)
        path = out / f"{stem}.{fmt}"
        partial = path.with_name(path.name + ".partial")
        if fmt == "parquet":
            write_parquet(table, partial, ENTITY_NAMES[name], text_datetimes=text_datetimes)
        else:
            write_jsonl(table, partial)
        partial.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--credits", type=int, required=True, help="number of booking credits")
    parser.add_argument("--uses", type=int, required=True, help="number of booking-credit uses")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--format", choices=("parquet", "jsonl", "both"), default="parquet")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--defect-rate",
        type=float,
        default=0.0005,
        help="share of records with a planted defect (default 0.0005 = 0.05%%)",
    )
    parser.add_argument(
        "--untypeable",
        type=float,
        default=0.0,
        help="share of the credits' and uses' records given one value pyarrow cannot type "
        "(e.g. 0.0005 = 0.05%%; JSON Lines only)",
    )
    parser.add_argument(
        "--text-datetimes",
        action="store_true",
        help="Parquet with date-times as text (snapshots fetched before recon stored them "
        "typed); by default they are stored as recon fetch stores them",
    )
    args = parser.parse_args(argv)
    if args.credits < 100 or args.uses < 100:
        parser.error("--credits and --uses must be at least 100")
    if not 0 <= args.untypeable < 1:
        parser.error("--untypeable must be a share between 0 and 1")
    if args.untypeable and args.format != "jsonl":
        parser.error("--untypeable needs --format jsonl (Parquet columns hold one type)")

    started = time.perf_counter()
    tables, info = generate(
        args.credits,
        args.uses,
        seed=args.seed,
        defect_rate=args.defect_rate,
        untypeable=args.untypeable,
    )
    built = time.perf_counter() - started
    timings = {"generate_s": round(built, 2)}
    formats = ("parquet", "jsonl") if args.format == "both" else (args.format,)
    for fmt in formats:
        target = args.out / fmt if args.format == "both" else args.out
        began = time.perf_counter()
        write_snapshot(tables, target, fmt, text_datetimes=args.text_datetimes)
        timings[f"write_{fmt}_s"] = round(time.perf_counter() - began, 2)
        (target / "planted.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    info["timings"] = timings
    if args.format == "both":
        (args.out / "planted.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    rows = ", ".join(f"{name} {count:,}" for name, count in info["records"].items())
    print(
        f"wrote {args.out} ({'+'.join(formats)}): {rows}; "
        f"{info['expected_findings']:,} findings expected; "
        + ", ".join(f"{key} {value}" for key, value in timings.items()),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
