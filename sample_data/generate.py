#!/usr/bin/env python3
"""Deterministic generator of recon's sample snapshot and of its oracle.

This script owns everything in ``sample_data/``: the four snapshot files, the
list of findings a correct engine must produce on them
(``expected_findings.json``) and the ``README.md`` describing both. It uses the
standard library only and never imports ``recon``: it is an independent oracle
for the engine, written from ``CONTRACT.md`` alone.

Run it from anywhere::

    python sample_data/generate.py

It rewrites the files beside itself. The output is byte-identical on every
run: one seeded ``random.Random``, fixed dates, no clock, no set iteration.

How it works: a clean snapshot is generated first (every credit balanced to
the cent, every use inside its credit's window, linked once, eligible and
positive), then each discrepancy of CONTRACT.md section 5 is planted in a
context of its own. Every plant registers the findings it must cause, which
become the oracle, and a line of the README. Ids are given last, in creation
order, and balances are computed last, with the contract's exclusions (a use
whose ``CreditUsed`` or ``CoworkerBookingCreditId`` fails the schema is left
out; a row repeating an Id counts once).
"""

# ruff: noqa: RUF001, SIM905
# RUF001: the en dashes and multiplication signs are data (Nexudus names use them).
# SIM905: field and name tables are kept as space-separated words, one screen each.
from __future__ import annotations

import calendar
import json
import math
import random
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

SEED = 20251001
OUT_DIR = Path(__file__).resolve().parent
SNAPSHOT_TAKEN = datetime(2025, 10, 1, 6, 0, 0)
YEAR = 2025
MONTHS = range(1, 10)  # credits and allowances for 2025-01 .. 2025-09
PAGE_SIZE = 100
NATURAL_CREDITS = 356  # plants add about a dozen more
NATURAL_ALLOWANCES = 110
CENT = Decimal("0.01")

CREDIT = "CoworkerBookingCredit"
USE = "CoworkerBookingCreditUseHistory"
ALLOWANCE = "CoworkerExtraService"
ES_USE = "CoworkerExtraServiceUseHistory"

BASE_TAIL = (
    "Id UpdatedOn CreatedOn UniqueId UpdatedBy IsNew SystemId ToStringText LocalizationDetails "
    "CustomFields"
).split()
# Field order follows the seeds / API-NOTES.md; search responses omit list fields.
CREDIT_FIELDS = (
    "CoworkerId BusinessId BusinessName BusinessCurrencyCode Description TariffBookingCreditId "
    "TariffBookingCreditName RemainingCredit TotalCredit ValidFrom ExpireDate "
    "CaneBeUsedForBookings CaneBeUsedForEvents IsUniversalCredit AppliesToCharges UseCreditPrice "
    "CoworkerProductUniqueId CoworkerContractUniqueId"
).split() + BASE_TAIL
USE_FIELDS = (
    "Description CoworkerBookingCreditId BookingId BookingFromTime BookingToTime "
    "BookingResourceName CoworkerInvoiceLineId CoworkerInvoiceLineCoworkerInvoiceId "
    "CoworkerInvoiceLineCoworkerInvoiceInvoiceNumber EventAttendeeId "
    "EventAttendeeCalendarEventName EventAttendeeEventProductName EventAttendeeFullName "
    "EventAttendeeEmail CreditUsed"
).split() + BASE_TAIL
ALLOWANCE_FIELDS = (
    "CoworkerId BusinessId ExtraServiceId ExtraServiceName ExtraServiceCurrencyCode "
    "ExtraServiceIsPrintingCredit Description Notes TotalUses RemainingUses ChargePeriod Free "
    "Price ValidFrom ExpireDate DueDate Invoiced InvoiceDate IsFromTariff "
    "CoworkerContractUniqueId BookingId BookingFromTime BookingToTime BookingResourceName"
).split() + BASE_TAIL
ES_USE_FIELDS = (
    "CoworkerExtraServiceId BookingId BookingFromTime BookingToTime BookingResourceName CreditUsed"
).split() + BASE_TAIL

AUTOMATION = "billing.automation@northlight.example"

# (BusinessId, BusinessName, currency, admin, share of members,
#  resources (name, hourly rate, weight, kind), events (name, ticket, price))
LOCATIONS = [
    {
        "id": 1201,
        "name": "Northlight London – Shoreditch",
        "ccy": "GBP",
        "admin": "priya.shah@northlight.example",
        "share": 35,
        "area": "Hot Desk Area – Shoreditch",
        "resources": [
            ("Meeting Room 1 – Shoreditch", "12.50", 5, "room"),
            ("Meeting Room 3 – Shoreditch", "12.50", 5, "room"),
            ("Boardroom – Shoreditch", "25.00", 1, "room"),
            ("Phone Booth 2 – Shoreditch", "5.00", 14, "booth"),
        ],
        "events": [
            ("Founders Breakfast", "Member ticket", "10.00"),
            ("Product Demo Night", "Member ticket", "15.00"),
            ("Legal Clinic for Startups", "Standard", "20.00"),
        ],
    },
    {
        "id": 1202,
        "name": "Northlight Manchester – Ancoats",
        "ccy": "GBP",
        "admin": "tom.barker@northlight.example",
        "share": 20,
        "area": "Hot Desk Area – Ancoats",
        "resources": [
            ("Meeting Room A – Ancoats", "10.00", 5, "room"),
            ("Meeting Room B – Ancoats", "10.00", 5, "room"),
            ("The Mill Boardroom – Ancoats", "20.00", 1, "room"),
            ("Focus Pod 1 – Ancoats", "4.00", 14, "booth"),
        ],
        "events": [
            ("Ancoats Makers Lunch", "Member ticket", "8.00"),
            ("Pitch Practice Evening", "Member ticket", "12.00"),
            ("Tax Q&A for Freelancers", "Standard", "15.00"),
        ],
    },
    {
        "id": 1203,
        "name": "Northlight Dublin – Docklands",
        "ccy": "EUR",
        "admin": "connor.walsh@northlight.example",
        "share": 25,
        "area": "Hot Desk Area – Docklands",
        "resources": [
            ("Liffey Room – Docklands", "14.00", 5, "room"),
            ("Meeting Room 2 – Docklands", "12.00", 5, "room"),
            ("Boardroom – Docklands", "28.00", 1, "room"),
            ("Call Booth 1 – Docklands", "5.00", 14, "booth"),
        ],
        "events": [
            ("Docklands Tech Breakfast", "Member ticket", "10.00"),
            ("Funding Office Hours", "Member ticket", "15.00"),
            ("Design Sprint Workshop", "Standard", "25.00"),
        ],
    },
    {
        "id": 1204,
        "name": "Northlight Berlin – Kreuzberg",
        "ccy": "EUR",
        "admin": "lena.hoffmann@northlight.example",
        "share": 20,
        "area": "Hot Desk Area – Kreuzberg",
        "resources": [
            ("Raum Spree – Kreuzberg", "12.00", 5, "room"),
            ("Raum Oberbaum – Kreuzberg", "12.00", 5, "room"),
            ("Konferenzraum – Kreuzberg", "24.00", 1, "room"),
            ("Telefonbox 1 – Kreuzberg", "4.00", 14, "booth"),
        ],
        "events": [
            ("Kreuzberg Community Frühstück", "Member ticket", "8.00"),
            ("Founder Stammtisch", "Member ticket", "12.00"),
            ("UX Research Meetup", "Standard", "15.00"),
        ],
    },
]

# (key, plan credit name, amount, bookings, events, universal, weight)
PLANS = [
    ("hotdesk", "Hot Desk Plus – monthly meeting credit", "50.00", True, False, False, 24),
    ("dedicated", "Dedicated Desk – monthly meeting credit", "75.00", True, True, False, 26),
    ("office", "Private Office – monthly meeting credit", "120.00", True, True, False, 26),
    ("suite", "Team Suite – monthly meeting & event credit", "250.00", True, True, False, 14),
    ("community", "Community – monthly events & services credit", "40.00", False, True, True, 10),
]
INVOICE_AMOUNTS = [
    "15.00",
    "5.00",
    "8.50",
    "20.00",
    "12.00",
]  # day pass, printing, catering, locker, parking

FIRST = (
    "Maya Oliver Aisling Jonas Priyanka Tomasz Chloe Eoin Fatima Lukas Grace Mateo Hannah Kwame "
    "Sofia Niamh Felix Amara Declan Leonie Rhys Yusuf Isla Ciaran Mei Benedikt Zara Samuel Aoife "
    "Emre Charlotte Dmitri Ruth Tariq Saoirse Henrik Imogen Kofi Lotte Rory Anaya Finn Marta Oisin "
    "Julia Arjun Freya Nikolai Bronagh Elif"
).split()
LAST = (
    "Patel Hughes O'Brien Schneider Khan Nowak Walsh Fischer Okafor Murphy Becker Garcia Evans "
    "Mensah Rossi Kelly Wagner Adeyemi Byrne Hoffmann Price Demir Campbell Doyle Chen Krause Ahmed "
    "Taylor Gallagher Yilmaz Wright Ivanov Brennan Hussain McCarthy Larsen Fletcher Boateng Vogel "
    "Quinn Sharma Lynch Silva Keane Lehmann Reddy Morris Petrov Nolan Kaya"
).split()
COMPANIES = (
    "lumenforge quillandco brightpath tessellate harbourlabs copperleaf northwind-design "
    "fieldnotes kiteworks greyhound-legal ember-analytics slowbrew parcelpilot studio-ostra "
    "mintleaf-health atlas-ux"
).split()


LINK_KINDS = (
    ("booking", "BookingId"),
    ("event", "EventAttendeeId"),
    ("invoice", "CoworkerInvoiceLineId"),
)

README = """\
# recon sample snapshot

<!-- Generated by sample_data/generate.py: do not edit by hand. -->

A realistic, deterministic snapshot of Nexudus billing credits for a fictional coworking
operator, Northlight, with known discrepancies planted in it, and the oracle a correct
`recon audit` must reproduce exactly with the default configuration (tolerance 0.005, every
location's time zone UTC, every rule enabled).

## Contents

| location (BusinessId) | currency | credits | allowances |
|---|---|---|---|
{locations}

| file | entity | records |
|---|---|---|
| `coworkerbookingcredits.json` ({pages} API page envelopes, 100 a page, by Id) \
| CoworkerBookingCredit | {credits} |
| `coworkerbookingcreditusehistories.jsonl` | CoworkerBookingCreditUseHistory \
| {use_rows} rows ({uses} distinct Ids) |
| `coworkerextraservices.json` (plain array) | CoworkerExtraService | {allowances} |
| `coworkerextraserviceusehistories.jsonl` | CoworkerExtraServiceUseHistory | {es_uses} |
| `expected_findings.json` | the oracle | {findings} findings |

Booking-credit uses by link: {booking} bookings, {event} event attendances, {invoice} invoice
lines, {none} with no link (manual adjustments and planted unlinked uses); the few planted uses
with two links are counted under the first.

{members} members hold monthly plan credits for 2025-01 to 2025-09 (`ValidFrom` the 1st at
00:00, `ExpireDate` the last day at 00:00, which covers that day); a few credits were created by
hand (no `TariffBookingCreditId`). Booking times are local wall-clock times without offset;
`CreatedOn`/`UpdatedOn` are UTC with `Z`. Ids: credits from 10001, uses from 500001, allowances
from 20001, extra-service uses from 700001, given in creation order.

Intentionally invalid content: the uses JSON Lines holds a bare `NaN` token and a numeric
string `"60.00"` as `CreditUsed`; one credit has no `CoworkerId` key; two manual adjustments
carry an XSS payload and a spreadsheet formula in `Description`.

## Regenerate

```
python sample_data/generate.py
```

Standard library only, no `recon` import (it is an independent oracle). Seeded and
clock-free: the output is byte-identical on every run. Edit the script, never the generated
files.

`expected_findings.json` is an array of `{{rule, entity, record_id, field}}` sorted by rule,
entity, record_id, field; `field` is set for `schema_violation` only. Compare it as a
multiset: the row repeated in the uses file yields two identical `duplicate_record` entries.

## Planted discrepancies

| rule | entity | record Id(s) | what was planted | why it is a defect |
|---|---|---|---|---|
{plants}

Findings by rule: {by_rule}.

## Hard non-defects

These look suspicious but must produce no finding (beyond any listed above for the same
record).

| entity | record Id(s) | what | why it is clean |
|---|---|---|---|
{clean}

Besides the records above, the generated data holds {expiry_day} booking uses on their
credit's expiry day and {early} booking uses created before their credit's `ValidFrom` for a
meeting inside the window: all clean for the same reasons.

## Readings of the contract this oracle assumes

- One finding per record and rule, except `schema_violation` (one per record and field). A
  use with several stale denormalised fields is one `denormalisation_mismatch`; a row sharing
  both Id and UniqueId with another is one `duplicate_record` (and each of the two rows is a
  finding).
- A `Description` that is blank (only spaces) is no Description: such a use is
  `unlinked_use`, not `manual_adjustment`.
- `balance_mismatch` applies to a credit with no uses (its uses sum to 0);
  `extra_service_balance_mismatch` does not apply to an allowance with no uses.
- A booking-linked use whose `BookingFromTime` is null takes `CreatedOn` as its usage time.
- The midnight rule for `ExpireDate` applies to allowances too.
- A use whose credit's `ValidFrom`/`ExpireDate` failed the schema is not judged by
  `premature_credit_use`/`expired_credit_use`; a use whose `CoworkerBookingCreditId` failed
  is judged by neither orphan, validity nor eligibility rules.
- Manual adjustments' `CreatedOn` lie inside their credit's window, so whether the validity
  rules judge them is not exercised here.
"""


def money(d: Decimal) -> float:
    """A Decimal amount as the JSON number the API sends."""
    return float(d)


def iso(dt: datetime) -> str:
    """Local wall-clock date-time, no offset (ValidFrom, ExpireDate, booking times)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


def utc(dt: datetime, millis: int | None = None) -> str:
    """UTC date-time with a literal Z (CreatedOn, UpdatedOn)."""
    return iso(dt) + (f".{millis:03d}" if millis is not None else "") + "Z"


def month_end(month: int) -> datetime:
    return datetime(YEAR, month, calendar.monthrange(YEAR, month)[1])


def month_label(month: int) -> str:
    return f"{calendar.month_name[month]} {YEAR}"


class Generator:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.seq = 0
        self.credits: list[dict] = []
        self.uses: list[dict] = []
        self.allowances: list[dict] = []
        self.es_uses: list[dict] = []
        self.findings: list[tuple] = []  # (rule, entity, record, field)
        self.plants: list[dict] = []  # README rows
        self.clean_notes: list[dict] = []  # README "hard non-defects"
        self.duplicate_rows: list[dict] = []  # (original use) emitted twice
        self.booking_id = 1_180_000
        self.attendee_id = 64_000
        self.invoice_id = 41_800
        self.invoice_number = 4_100
        self.invoice_line_id = 310_000
        self.coworkers: list[dict] = []

    # ------------------------------------------------------------------ basics
    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def next_booking(self) -> int:
        self.booking_id += self.rng.randint(3, 41)
        return self.booking_id

    def next_attendee(self) -> int:
        self.attendee_id += self.rng.randint(1, 9)
        return self.attendee_id

    def next_invoice_line(self) -> tuple[int, int, str]:
        self.invoice_id += self.rng.randint(1, 6)
        self.invoice_number += self.rng.randint(1, 6)
        self.invoice_line_id += self.rng.randint(2, 14)
        return self.invoice_line_id, self.invoice_id, f"INV-{YEAR}-{self.invoice_number:06d}"

    def base(self, created: datetime, updated_by: str, text: str) -> dict:
        """Base fields; Id is given in finalize(). A few UpdatedOn carry milliseconds."""
        rec = {
            "_seq": self.next_seq(),
            "_created": created,
            "Id": None,
            "CreatedOn": utc(created),
            "UniqueId": self.uid(),
            "UpdatedBy": updated_by,
            "IsNew": False,
            "SystemId": None,
            "ToStringText": text,
            "LocalizationDetails": None,
            "CustomFields": None,
        }
        if self.rng.random() < 0.08:
            rec["UpdatedOn"] = utc(
                created + timedelta(minutes=self.rng.randint(1, 90)), self.rng.randint(0, 999)
            )
        else:
            rec["UpdatedOn"] = rec["CreatedOn"]
        return rec

    def random_created(self, start: datetime, end: datetime) -> datetime:
        span = int((end - start).total_seconds())
        return start + timedelta(seconds=self.rng.randint(0, span))

    def weekday_slot(self, month: int, hours: Decimal) -> datetime:
        """A booking start on a weekday of the month, on the half hour, ending by 18:00."""
        days = [
            d for d in range(1, month_end(month).day + 1) if datetime(YEAR, month, d).weekday() < 5
        ]
        day = self.rng.choice(days)
        latest = 18 * 2 - int(hours * 2)
        half = self.rng.randint(16, max(16, latest))
        return datetime(YEAR, month, day, half // 2, 30 * (half % 2))

    # -------------------------------------------------------------- coworkers
    def make_coworkers(self) -> None:
        seen: set[tuple[str, str]] = set()
        cw_id = 88_100
        loc_weights = [loc["share"] for loc in LOCATIONS]
        plan_weights = [p[6] for p in PLANS]
        natural = 0
        while natural < NATURAL_CREDITS:
            while True:
                first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
                if (first, last) not in seen:
                    seen.add((first, last))
                    break
            cw_id += self.rng.randint(1, 23)
            company = self.rng.choice(COMPANIES)
            email = f"{first}.{last}".lower().replace("'", "") + f"@{company}.example"
            loc_i = self.rng.choices(range(len(LOCATIONS)), loc_weights)[0]
            plan_i = self.rng.choices(range(len(PLANS)), plan_weights)[0]
            start = self.rng.randint(1, 9)
            length = self.rng.choice([1, 2, 3, 3, 4, 5, 6, 9, 9])
            months = list(range(start, min(9, start + length - 1) + 1))
            natural += len(months)
            self.coworkers.append(
                {
                    "id": cw_id,
                    "name": f"{first} {last}",
                    "email": email,
                    "loc": LOCATIONS[loc_i],
                    "plan_i": plan_i,
                    "months": months,
                    "contract": self.uid(),
                }
            )

    # ---------------------------------------------------------------- credits
    def new_credit(
        self,
        cw: dict,
        month: int,
        *,
        plan_i: int | None = None,
        total: str | None = None,
        description: str | None = None,
        manual: bool = False,
        bookings: bool | None = None,
        events: bool | None = None,
        universal: bool | None = None,
        valid_from: str | None = None,
        expire: str | None = None,
        created: datetime | None = None,
    ) -> dict:
        loc = cw["loc"]
        plan = PLANS[cw["plan_i"] if plan_i is None else plan_i]
        vf = datetime(YEAR, month, 1)
        created = created or vf - timedelta(days=5) + timedelta(
            hours=2, seconds=self.rng.randint(0, 3000)
        )
        amount = Decimal(total or plan[2])
        if manual:
            tariff_id = tariff_name = None
            desc = description
            by = loc["admin"]
        else:
            tariff_id = 3100 + 10 * (LOCATIONS.index(loc) + 1) + PLANS.index(plan) + 1
            tariff_name = plan[1]
            desc = description or f"{plan[1]} – {month_label(month)}"
            by = AUTOMATION
        rec = {
            "CoworkerId": cw["id"],
            "BusinessId": loc["id"],
            "BusinessName": loc["name"],
            "BusinessCurrencyCode": loc["ccy"],
            "Description": desc,
            "TariffBookingCreditId": tariff_id,
            "TariffBookingCreditName": tariff_name,
            "RemainingCredit": None,
            "TotalCredit": money(amount),
            "ValidFrom": valid_from or iso(vf),
            "ExpireDate": expire or iso(month_end(month)),
            "CaneBeUsedForBookings": plan[3] if bookings is None else bookings,
            "CaneBeUsedForEvents": plan[4] if events is None else events,
            "IsUniversalCredit": plan[5] if universal is None else universal,
            "AppliesToCharges": plan[5] if universal is None else universal,
            "UseCreditPrice": False,
            "CoworkerProductUniqueId": None,
            "CoworkerContractUniqueId": None if manual else cw["contract"],
        }
        rec.update(self.base(created, by, f"{cw['name']}: {amount} {loc['ccy']} ({desc})"))
        rec.update(_cw=cw, _loc=loc, _month=month, _total=amount, _uses=[], _drop=[], _taken=False)
        self.credits.append(rec)
        return rec

    # ------------------------------------------------------------------- uses
    def new_use(
        self, credit: dict | None, created: datetime, amount: Decimal, updated_by: str, text: str
    ) -> dict:
        """A use with every field; `_counts` False keeps it out of its credit's balance sum."""
        rec = dict.fromkeys(USE_FIELDS)
        rec.update(self.base(created, updated_by, text))
        rec.update(
            CreditUsed=money(amount),
            _credit=credit,
            _amount=amount,
            _counts=True,
            _credit_id_raw=None,
        )
        if credit is not None:
            credit["_uses"].append(rec)
        self.uses.append(rec)
        return rec

    def booking_use(
        self,
        credit: dict | None,
        start: datetime | None = None,
        hours: str | None = None,
        resource: tuple | None = None,
        created: datetime | None = None,
        cw: dict | None = None,
        loc: dict | None = None,
    ) -> dict:
        loc = loc or credit["_loc"]
        cw = cw or credit["_cw"]
        if resource is None:
            resource = self.rng.choices(loc["resources"], [r[2] for r in loc["resources"]])[0]
        if hours is None:
            choices = (
                ["0.5", "0.5", "1", "1", "1.5"]
                if resource[3] == "booth"
                else ["0.5", "1", "1", "1.5", "2"]
            )
            hours = self.rng.choice(choices)
        h = Decimal(hours)
        start = start or self.weekday_slot(credit["_month"], h)
        amount = (Decimal(resource[1]) * h).quantize(CENT)
        if created is None:
            floor = credit["_created"] if credit else start - timedelta(days=12)
            created = max(
                floor + timedelta(seconds=self.rng.randint(180, 14400)),
                start - timedelta(seconds=self.rng.randint(5400, 9 * 86400)),
            )
        by = cw["email"] if self.rng.random() < 0.7 else loc["admin"]
        rec = self.new_use(credit, created, amount, by, f"{amount} {loc['ccy']} – {resource[0]}")
        rec.update(
            BookingId=self.next_booking(),
            BookingFromTime=iso(start),
            BookingToTime=iso(start + timedelta(minutes=int(h * 60))),
            BookingResourceName=resource[0],
        )
        return rec

    def in_window(self, credit: dict) -> datetime:
        """A CreatedOn well inside the credit's month, clear of both ends."""
        m = credit["_month"]
        return self.random_created(datetime(YEAR, m, 1, 8), month_end(m).replace(hour=20))

    def event_use(
        self,
        credit: dict | None,
        created: datetime | None = None,
        event: tuple | None = None,
        cw: dict | None = None,
        loc: dict | None = None,
    ) -> dict:
        loc = loc or credit["_loc"]
        cw = cw or credit["_cw"]
        event = event or self.rng.choice(loc["events"])
        created = created or self.in_window(credit)
        amount = Decimal(event[2])
        name = f"{event[0]} – {calendar.month_name[created.month]}"
        rec = self.new_use(credit, created, amount, cw["email"], f"{amount} {loc['ccy']} – {name}")
        rec.update(
            EventAttendeeId=self.next_attendee(),
            EventAttendeeCalendarEventName=name,
            EventAttendeeEventProductName=event[1],
            EventAttendeeFullName=cw["name"],
            EventAttendeeEmail=cw["email"],
        )
        return rec

    def invoice_use(
        self, credit: dict, created: datetime | None = None, amount: str | None = None
    ) -> dict:
        created = created or self.in_window(credit)
        value = Decimal(amount or self.rng.choice(INVOICE_AMOUNTS))
        line, inv, number = self.next_invoice_line()
        rec = self.new_use(
            credit, created, value, AUTOMATION, f"{value} {credit['_loc']['ccy']} – {number}"
        )
        rec.update(
            CoworkerInvoiceLineId=line,
            CoworkerInvoiceLineCoworkerInvoiceId=inv,
            CoworkerInvoiceLineCoworkerInvoiceInvoiceNumber=number,
        )
        return rec

    def manual_use(
        self, credit: dict, created: datetime, amount: str, description: str | None
    ) -> dict:
        value = Decimal(amount)
        rec = self.new_use(
            credit,
            created,
            value,
            credit["_loc"]["admin"],
            f"Manual adjustment {value} {credit['_loc']['ccy']}",
        )
        rec["Description"] = description
        rec["CreatedOn"] = utc(created, self.rng.randint(0, 999))
        rec["UpdatedOn"] = rec["CreatedOn"]
        return rec

    @staticmethod
    def set_amount(rec: dict, value: str) -> None:
        """Give a use another valid amount (its display text follows)."""
        old = rec["ToStringText"].split(" ", 1)
        rec["_amount"] = Decimal(value)
        rec["CreditUsed"] = money(rec["_amount"])
        rec["ToStringText"] = f"{value} {old[1]}"

    def spent(self, credit: dict) -> Decimal:
        return sum((u["_amount"] for u in credit["_uses"] if u["_counts"]), Decimal(0))

    def fill_uses(self, credit: dict) -> None:
        total = credit["_total"]
        if self.rng.random() < 0.05:
            return  # an unused credit: RemainingCredit == TotalCredit
        target = total * Decimal(self.rng.uniform(0.75, 1.0))
        kinds, weights = [], []
        if credit["CaneBeUsedForBookings"]:
            kinds += ["booking", "event", "invoice"]
            weights += [86, 6 if credit["CaneBeUsedForEvents"] else 0, 8]
        else:
            kinds += ["event", "invoice"]
            weights += [55, 45]
        misses = 0
        while misses < 8:
            kind = self.rng.choices(kinds, weights)[0]
            if kind == "booking":
                rec = self.booking_use(credit)
            elif kind == "event":
                rec = self.event_use(credit)
            else:
                rec = self.invoice_use(credit)
            if self.spent(credit) > target:
                self.drop_use(rec)
                misses += 1

    def drop_use(self, rec: dict) -> None:
        remove_identical(self.uses, rec)
        if rec["_credit"] is not None:
            remove_identical(rec["_credit"]["_uses"], rec)

    def clear_uses(self, credit: dict) -> None:
        for rec in list(credit["_uses"]):
            self.drop_use(rec)

    # ------------------------------------------------------------- allowances
    def new_allowance(self, cw: dict, month: int, kind: str, total: int | None = None) -> dict:
        loc = cw["loc"]
        vf = datetime(YEAR, month, 1)
        created = vf - timedelta(days=5) + timedelta(hours=2, seconds=self.rng.randint(3000, 6000))
        if kind == "minutes":
            service_id, name, period = (
                4100 + LOCATIONS.index(loc) + 1,
                "Meeting room hours (included)",
                1,
            )
            total = total or self.rng.choice([600, 600, 900, 900])
        else:
            service_id, name, period = (
                4200 + LOCATIONS.index(loc) + 1,
                "Guest day passes (included)",
                5,
            )
            total = total or self.rng.choice([5, 10])
        rec = dict.fromkeys(ALLOWANCE_FIELDS)
        rec.update(
            {
                "CoworkerId": cw["id"],
                "BusinessId": loc["id"],
                "ExtraServiceId": service_id,
                "ExtraServiceName": name,
                "ExtraServiceCurrencyCode": loc["ccy"],
                "ExtraServiceIsPrintingCredit": False,
                "Description": f"{name} – {month_label(month)}",
                "TotalUses": total,
                "ChargePeriod": period,
                "Free": True,
                "Price": 0.0,
                "ValidFrom": iso(vf),
                "ExpireDate": iso(month_end(month)),
                "Invoiced": False,
                "IsFromTariff": True,
                "CoworkerContractUniqueId": cw["contract"],
            }
        )
        rec.update(self.base(created, AUTOMATION, f"{cw['name']}: {name} ({month_label(month)})"))
        rec.update(_cw=cw, _loc=loc, _month=month, _kind=kind, _uses=[], _taken=False)
        self.allowances.append(rec)
        return rec

    def booking_charge(self, cw: dict, month: int) -> dict:
        """A plain booking charge: same entity, no TotalUses, never any use."""
        loc = cw["loc"]
        resource = loc["resources"][0]
        start = self.weekday_slot(month, Decimal(2))
        created = start - timedelta(days=self.rng.randint(1, 6), minutes=self.rng.randint(0, 600))
        price = (Decimal(resource[1]) * 2).quantize(CENT)
        rec = dict.fromkeys(ALLOWANCE_FIELDS)
        rec.update(
            {
                "CoworkerId": cw["id"],
                "BusinessId": loc["id"],
                "ExtraServiceId": 4300 + LOCATIONS.index(loc) + 1,
                "ExtraServiceName": "Meeting room booking",
                "ExtraServiceCurrencyCode": loc["ccy"],
                "ExtraServiceIsPrintingCredit": False,
                "Description": f"{resource[0]} – 2 h",
                "Free": False,
                "Price": money(price),
                "DueDate": iso(start.replace(hour=0, minute=0)),
                "Invoiced": True,
                "InvoiceDate": iso(start.replace(hour=0, minute=0)),
                "IsFromTariff": False,
                "CoworkerContractUniqueId": cw["contract"],
                "BookingId": self.next_booking(),
                "BookingFromTime": iso(start),
                "BookingToTime": iso(start + timedelta(hours=2)),
                "BookingResourceName": resource[0],
            }
        )
        rec.update(self.base(created, cw["email"], f"{cw['name']}: {resource[0]} booking"))
        rec.update(_cw=cw, _loc=loc, _month=month, _kind="charge", _uses=[], _taken=True)
        self.allowances.append(rec)
        return rec

    def es_use(
        self,
        allowance: dict | None,
        start: datetime | None = None,
        amount: int | None = None,
        created: datetime | None = None,
        linked: bool = True,
        cw: dict | None = None,
        loc: dict | None = None,
        month: int | None = None,
    ) -> dict:
        loc = loc or allowance["_loc"]
        cw = cw or allowance["_cw"]
        kind = allowance["_kind"] if allowance else "minutes"
        if kind == "minutes":
            resource = self.rng.choice([r for r in loc["resources"] if r[3] == "room"])[0]
            minutes = amount or self.rng.choice([30, 60, 60, 90, 120])
        else:
            resource, minutes = loc["area"], 8 * 60
        amount = amount or (minutes if kind == "minutes" else 1)
        start = start or self.weekday_slot(month or allowance["_month"], Decimal(minutes) / 60)
        if kind == "guest":
            start = start.replace(hour=9, minute=0)
        if created is None:
            floor = allowance["_created"] if allowance else start - timedelta(days=12)
            created = max(
                floor + timedelta(seconds=self.rng.randint(180, 14400)),
                start - timedelta(seconds=self.rng.randint(5400, 9 * 86400)),
            )
        rec = dict.fromkeys(ES_USE_FIELDS)
        rec.update(
            self.base(
                created, cw["email"], f"{amount} × {resource if linked else allowance_name(kind)}"
            )
        )
        rec.update(CreditUsed=amount, _allowance=allowance, _amount=amount, _raw_parent=None)
        if linked:
            rec.update(
                BookingId=self.next_booking(),
                BookingFromTime=iso(start),
                BookingToTime=iso(start + timedelta(minutes=minutes)),
                BookingResourceName=resource,
            )
        if allowance is not None:
            allowance["_uses"].append(rec)
        self.es_uses.append(rec)
        return rec

    def fill_es_uses(self, allowance: dict) -> None:
        target = allowance["TotalUses"] * self.rng.uniform(0.55, 1.0)
        misses = 0
        while misses < 6:
            rec = self.es_use(allowance)
            if sum(u["_amount"] for u in allowance["_uses"]) > target:
                remove_identical(allowance["_uses"], rec)
                remove_identical(self.es_uses, rec)
                misses += 1

    # ------------------------------------------------------------ the oracle
    def expect(
        self,
        rule: str,
        entity: str,
        records: list[dict],
        what: str,
        why: str,
        field: str | None = None,
    ) -> None:
        for rec in records:
            self.findings.append((rule, entity, rec, field))
        self.plants.append(
            {"rule": rule, "entity": entity, "records": records, "what": what, "why": why}
        )

    def clean(self, records: list[dict], entity: str, what: str, why: str) -> None:
        self.clean_notes.append({"records": records, "entity": entity, "what": what, "why": why})

    def host(self, pred=None, headroom: str = "0", min_uses: int = 2) -> dict:
        """Take an untouched natural credit as the context of one plant."""
        need = Decimal(headroom)
        for c in self.host_pool:
            if c["_taken"] or len(c["_uses"]) < min_uses or not (pred is None or pred(c)):
                continue
            while self.headroom(c) < need and len(c["_uses"]) > min_uses:
                self.drop_use(c["_uses"][-1])  # make room for the planted use
            if self.headroom(c) >= need:
                c["_taken"] = True
                return c
        raise RuntimeError("no host credit left for a plant")

    def host_allowance(self, kind: str = "minutes", pred=None) -> dict:
        for a in self.allowance_pool:
            if (
                not a["_taken"]
                and a["_kind"] == kind
                and len(a["_uses"]) >= 2
                and (pred is None or pred(a))
            ):
                a["_taken"] = True
                return a
        raise RuntimeError("no host allowance left for a plant")

    def headroom(self, c: dict) -> Decimal:
        return c["_total"] - self.spent(c)

    # ================================================================ build
    def build(self) -> None:
        self.make_coworkers()
        for month in MONTHS:  # renewal runs, month by month
            for cw in self.coworkers:
                if month in cw["months"]:
                    self.new_credit(cw, month)
        for credit in self.credits:
            self.fill_uses(credit)
        self.host_pool = list(self.credits)
        self.rng.shuffle(self.host_pool)

        plan_pairs = [
            (c["_cw"], c["_month"]) for c in self.credits if c["_cw"]["plan_i"] in (1, 2, 3)
        ]
        for cw, month in self.rng.sample(plan_pairs, NATURAL_ALLOWANCES):
            kind = "minutes" if self.rng.random() < 0.7 else "guest"
            self.fill_es_uses(self.new_allowance(cw, month, kind))
        self.allowance_pool = list(self.allowances)
        self.rng.shuffle(self.allowance_pool)

        self.plant_schema()
        self.plant_duplicates()
        self.plant_links()
        self.plant_balances()
        self.plant_validity()
        self.plant_uses()
        self.plant_extra_services()
        self.plant_hard_non_defects()

    # ---------------------------------------------------------------- plants
    def is_loc(self, c: dict, *ids: int) -> bool:
        return c["BusinessId"] in ids

    def plant_schema(self) -> None:
        c = self.host(lambda c: self.is_loc(c, 1202), headroom="60.00")
        res = next(r for r in c["_loc"]["resources"] if "Boardroom" in r[0])
        u = self.booking_use(c, hours="3", resource=res)
        u["CreditUsed"], u["_counts"] = "60.00", False
        self.expect(
            "schema_violation",
            USE,
            [u],
            'CreditUsed is the string "60.00" (3 h of the Mill '
            "Boardroom at 20.00/h) instead of a number",
            "a numeric string is not a finite number and must not be coerced; the use is left out "
            "of credit {c}'s balance, whose RemainingCredit is set without it (no balance finding)",
            field="CreditUsed",
        )
        self.plants[-1]["refs"] = {"c": c}

        c = self.host(lambda c: c["CaneBeUsedForEvents"], headroom="25.00")
        u = self.event_use(c)
        u["CreditUsed"], u["_counts"] = float("nan"), False
        self.expect(
            "schema_violation",
            USE,
            [u],
            "CreditUsed is a bare NaN token in the JSON Lines file",
            "NaN is not a finite number; the use is left out of credit {c}'s balance sum "
            "(RemainingCredit set without it)",
            field="CreditUsed",
        )
        self.plants[-1]["refs"] = {"c": c}

        c = self.host(lambda c: c["_month"] == 2)
        c["ExpireDate"] = "2025-02-30T00:00:00"
        self.expect(
            "schema_violation",
            CREDIT,
            [c],
            'ExpireDate "2025-02-30T00:00:00" (no such day)',
            "an unparseable date-time; the credit's uses (all in February) are not judged for "
            "expiry",
            field="ExpireDate",
        )

        c = self.host(lambda c: c["_month"] == 7)
        c["ValidFrom"] = "01/07/2025"
        self.expect(
            "schema_violation",
            CREDIT,
            [c],
            'ValidFrom "01/07/2025" (day/month/year, not ISO-8601)',
            "not an ISO-8601 date-time; the credit's uses are not judged for premature use",
            field="ValidFrom",
        )

        c = self.host()
        c["_drop"].append("CoworkerId")
        self.expect(
            "schema_violation",
            CREDIT,
            [c],
            "the CoworkerId key is absent from the record",
            "CoworkerId is required; the credit is otherwise clean and still balanced",
            field="CoworkerId",
        )

        c = self.host(headroom="12.50")
        u = self.booking_use(c)
        u["_counts"], u["_credit_id_raw"] = False, "string"
        self.expect(
            "schema_violation",
            USE,
            [u],
            "CoworkerBookingCreditId is the string form of credit {c}'s Id",
            "an integer is required; the use is not judged as an orphan, nor for "
            "expiry/eligibility, and is left out of credit {c}'s balance (set without it)",
            field="CoworkerBookingCreditId",
        )
        self.plants[-1]["refs"] = {"c": c}

    def plant_duplicates(self) -> None:
        c = self.host()
        u = c["_uses"][0]
        self.duplicate_rows.append(u)
        self.expect(
            "duplicate_record",
            USE,
            [u, u],
            "the same use row appears twice in the JSON Lines "
            "(same Id, same UniqueId), as offset paging over a changing table does",
            "every record involved is a finding (two findings with the same record_id); the row "
            "counts once in credit {c}'s balance, which is balanced counting it once",
        )
        self.plants[-1]["refs"] = {"c": c}

        cw_months = {}
        for cr in self.host_pool:
            if not cr["_taken"] and len(cr["_uses"]) >= 2:
                cw_months.setdefault(cr["_cw"]["id"], []).append(cr)
        pair = next(v for v in cw_months.values() if len(v) >= 2)[:2]
        pair.sort(key=lambda cr: cr["_month"])
        for cr in pair:
            cr["_taken"] = True
        pair[1]["UniqueId"] = pair[0]["UniqueId"]
        self.expect(
            "duplicate_record",
            CREDIT,
            pair,
            "two monthly credits of the same member (different "
            "Ids) share one UniqueId, as a renewal that cloned the record would",
            "a UniqueId must be unique within the entity; both records are findings",
        )

        c = self.host(lambda c: c["CaneBeUsedForBookings"], headroom="30.00")
        a = self.booking_use(c)
        b = self.booking_use(c)
        b["UniqueId"] = a["UniqueId"]
        self.expect(
            "duplicate_record",
            USE,
            [a, b],
            "two different uses of credit {c} share one UniqueId",
            "UniqueId must be unique; both are findings, and as distinct Ids both count in the "
            "credit's balance (which is balanced with both)",
        )
        self.plants[-1]["refs"] = {"c": c}

    def plant_links(self) -> None:
        # orphan uses: no credit object behind them
        o1 = self.booking_use(
            None,
            start=datetime(YEAR, 6, 11, 10),
            hours="1",
            resource=LOCATIONS[0]["resources"][0],
            cw=self.cw_at(1201),
            loc=LOCATIONS[0],
        )
        o1["_credit_id_raw"] = 0
        o2 = self.booking_use(
            None,
            start=datetime(YEAR, 4, 16, 14),
            hours="2",
            resource=LOCATIONS[2]["resources"][1],
            cw=self.cw_at(1203),
            loc=LOCATIONS[2],
        )
        o2["_credit_id_raw"] = 19876
        o3 = self.event_use(
            None,
            created=datetime(YEAR, 8, 20, 9, 41, 7),
            event=LOCATIONS[3]["events"][1],
            cw=self.cw_at(1204),
            loc=LOCATIONS[3],
        )
        o3["_credit_id_raw"] = 10000
        self.expect(
            "orphan_use",
            USE,
            [o1],
            "CoworkerBookingCreditId is 0 (the API's default for none)",
            "0 matches no credit: an orphan, not a missing field",
        )
        self.expect(
            "orphan_use",
            USE,
            [o2, o3],
            "CoworkerBookingCreditId 19876 and 10000: Ids outside the "
            "snapshot's credits (a deleted credit, a typo)",
            "the use points at no credit in the snapshot; not judged for expiry or eligibility",
        )

        for desc in (None, None, "   "):
            c = self.host(headroom="20.00")
            u = self.new_use(
                c,
                self.in_window(c),
                Decimal(self.rng.choice(["12.50", "10.00", "20.00"])),
                c["_loc"]["admin"],
                "Credit use",
            )
            u["Description"] = desc
            label, blank = (
                ("no Description", "")
                if desc is None
                else ("a Description of three spaces", " (a blank note is no note)")
            )
            self.expect(
                "unlinked_use",
                USE,
                [u],
                f"a use of credit {{c}} with no booking, event or invoice link and {label}",
                f"nothing explains what the credit paid for{blank}; counts in the "
                "balance, which is set with it",
            )
            self.plants[-1]["refs"] = {"c": c}

        c = self.host(lambda c: c["_cw"]["plan_i"] == 1)
        self.goodwill = self.manual_use(
            c, self.in_window(c), "-25.00", "Goodwill credit for AC outage"
        )
        c2 = self.host(lambda c: self.is_loc(c, 1201, 1202), headroom="15.00")
        m2 = self.manual_use(
            c2, self.in_window(c2), "15.00", "No-show fee, Meeting Room booking left empty"
        )
        c3 = self.host(headroom="10.00")
        m3 = self.manual_use(c3, self.in_window(c3), "10.00", '<script>alert("recon-xss")</script>')
        c4 = self.host()
        m4 = self.manual_use(
            c4, self.in_window(c4), "-5.00", '=HYPERLINK("http://evil.example","click me")'
        )
        self.expect(
            "manual_adjustment",
            USE,
            [self.goodwill, m2],
            "administrator adjustments with a note and "
            "no link: -25.00 goodwill credit given back, +15.00 no-show fee deducted",
            "auditors review every manual entry (warning); both count in their credits' balances",
        )
        self.expect(
            "manual_adjustment",
            USE,
            [m3, m4],
            "manual adjustments whose Description is an XSS "
            'payload `<script>alert("recon-xss")</script>` (+10.00) and a spreadsheet formula '
            '`=HYPERLINK("http://evil.example","click me")` (-5.00)',
            "reviewed like any manual entry; the reports must escape the first and neutralise the "
            "second (CSV/XLSX exports) rather than execute them",
        )

        c = self.host(
            lambda c: c["CaneBeUsedForBookings"] and c["CaneBeUsedForEvents"], headroom="25.00"
        )
        u = self.booking_use(c)
        line, inv, number = self.next_invoice_line()
        u.update(
            CoworkerInvoiceLineId=line,
            CoworkerInvoiceLineCoworkerInvoiceId=inv,
            CoworkerInvoiceLineCoworkerInvoiceInvoiceNumber=number,
        )
        c2 = self.host(
            lambda c: c["CaneBeUsedForBookings"] and c["CaneBeUsedForEvents"], headroom="25.00"
        )
        v = self.event_use(c2)
        line, inv, number = self.next_invoice_line()
        v.update(
            CoworkerInvoiceLineId=line,
            CoworkerInvoiceLineCoworkerInvoiceId=inv,
            CoworkerInvoiceLineCoworkerInvoiceInvoiceNumber=number,
        )
        c3 = self.host(
            lambda c: c["CaneBeUsedForBookings"] and c["CaneBeUsedForEvents"], headroom="40.00"
        )
        w = self.booking_use(c3)
        ev = self.event_use(c3)
        self.drop_use(ev)
        w.update(
            {
                k: ev[k]
                for k in (
                    "EventAttendeeId",
                    "EventAttendeeCalendarEventName",
                    "EventAttendeeEventProductName",
                    "EventAttendeeFullName",
                    "EventAttendeeEmail",
                )
            }
        )
        self.expect(
            "multi_linked_use",
            USE,
            [u, v, w],
            "uses linked twice: booking + invoice line, event "
            "attendance + invoice line, booking + event attendance (denormalised fields consistent "
            "with each link; credits eligible for both)",
            "one use must pay for one thing; two links mean the credit may have been spent twice",
        )

    def cw_at(self, business_id: int) -> dict:
        return next(cw for cw in self.coworkers if cw["loc"]["id"] == business_id)

    def plant_balances(self) -> None:
        c = self.host(headroom="12.50")
        c["_remaining_delta"] = Decimal("12.50")
        self.expect(
            "balance_mismatch",
            CREDIT,
            [c],
            "RemainingCredit is 12.50 higher than TotalCredit minus the uses",
            "a use was recorded but never deducted from the balance",
        )
        c = self.host(lambda c: c["_total"] >= Decimal("75"))
        self.clear_uses(c)
        c["_remaining_fixed"] = c["_total"] - Decimal("40.00")
        self.expect(
            "balance_mismatch",
            CREDIT,
            [c],
            "40.00 spent (TotalCredit - RemainingCredit) but the credit has no uses at all",
            "spent credit with no use history to account for it (unlike "
            "allowances, the contract does not require at least one use)",
        )
        c = self.host()
        c["_remaining_delta"] = Decimal("0.01")
        self.expect(
            "balance_mismatch",
            CREDIT,
            [c],
            "RemainingCredit one cent above what the uses imply",
            "0.01 is more than the 0.005 tolerance",
        )

        for plan_i in (0, 1):
            c = self.host(lambda c, p=plan_i: self.is_loc(c, 1201) and c["_cw"]["plan_i"] == p)
            res = LOCATIONS[0]["resources"][0]
            while self.spent(c) <= c["_total"]:
                self.booking_use(c, resource=res, hours="1")
            over = self.spent(c) - c["_total"]
            self.expect(
                "overdrawn_credit",
                CREDIT,
                [c],
                f"uses sum to {self.spent(c)} against a TotalCredit of "
                f"{c['_total']}; RemainingCredit is -{over} (the balance itself is consistent)",
                "a credit may not go below zero",
            )

    def plant_validity(self) -> None:
        c = self.host(lambda c: c["_month"] == 4 and c["CaneBeUsedForBookings"], headroom="30.00")
        e1 = self.booking_use(c, start=datetime(YEAR, 5, 2, 10), hours="1")
        c2 = self.host(lambda c: c["_month"] == 5 and c["CaneBeUsedForEvents"], headroom="25.00")
        e3 = self.event_use(c2, created=datetime(YEAR, 6, 1, 9, 12, 44))
        c3 = self.host(lambda c: c["_month"] == 7 and c["CaneBeUsedForBookings"], headroom="30.00")
        e4 = self.booking_use(c3, hours="1", created=datetime(YEAR, 8, 4, 11, 2, 9))
        e4.update(BookingFromTime=None, BookingToTime=None)
        cw = self.cw_at(1203)
        c4 = self.new_credit(
            cw,
            6,
            plan_i=2,
            total="60.00",
            manual=True,
            bookings=True,
            events=False,
            universal=False,
            description="Design Sprint week – room credit",
            expire="2025-06-13T12:00:00",
            created=datetime(YEAR, 5, 28, 15, 4, 51),
        )
        c4["_taken"] = True
        res = LOCATIONS[2]["resources"][0]
        self.booking_use(c4, start=datetime(YEAR, 6, 10, 10), hours="2", resource=res)
        self.booking_use(c4, start=datetime(YEAR, 6, 13, 9), hours="1", resource=res)
        e2 = self.booking_use(c4, start=datetime(YEAR, 6, 13, 14), hours="1", resource=res)
        self.expect(
            "expired_credit_use",
            USE,
            [e1],
            "booking on 2025-05-02 10:00 against an April credit (ExpireDate 2025-04-30T00:00:00)",
            "the booking starts after the day the credit expired",
        )
        self.expect(
            "expired_credit_use",
            USE,
            [e2],
            "booking 2025-06-13 14:00 on credit {c} whose ExpireDate "
            "is 2025-06-13T12:00:00 (not midnight, so exact)",
            "starts two hours after expiry; the same credit's 09:00 booking that day is clean",
        )
        self.plants[-1]["refs"] = {"c": c4}
        self.expect(
            "expired_credit_use",
            USE,
            [e3],
            "event use created 2025-06-01T09:12:44Z on a May credit",
            "usage time of an event use is CreatedOn, after the 31 May expiry",
        )
        self.expect(
            "expired_credit_use",
            USE,
            [e4],
            "booking use whose BookingFromTime/BookingToTime are null, "
            "created 2025-08-04T11:02:09Z on a July credit",
            "with no booking time the usage time "
            "falls back to CreatedOn, which is after the 31 July expiry",
        )

        c = self.host(lambda c: c["_month"] == 6 and c["CaneBeUsedForBookings"], headroom="30.00")
        p1 = self.booking_use(
            c, start=datetime(YEAR, 5, 30, 10), hours="1", created=datetime(YEAR, 5, 27, 16, 20, 3)
        )
        c = self.host(lambda c: c["_month"] == 8, headroom="20.00")
        p2 = self.invoice_use(c, created=datetime(YEAR, 7, 31, 16, 20, 0))
        c = self.host(lambda c: c["_month"] == 4 and c["CaneBeUsedForEvents"], headroom="25.00")
        p3 = self.event_use(c, created=datetime(YEAR, 3, 31, 23, 30, 0))
        self.expect(
            "premature_credit_use",
            USE,
            [p1],
            "booking on 2025-05-30 10:00 paid from a June credit",
            "the meeting took place before the credit's ValidFrom (2025-06-01)",
        )
        self.expect(
            "premature_credit_use",
            USE,
            [p2, p3],
            "an invoice-line use created 2025-07-31T16:20:00Z on "
            "an August credit; an event use created 2025-03-31T23:30:00Z on an April credit",
            "usage time (CreatedOn) before ValidFrom, by 7 h 40 min and by 30 min",
        )

    def plant_uses(self) -> None:
        c = self.host(lambda c: not c["CaneBeUsedForBookings"], headroom="12.50")
        i1 = self.booking_use(c, resource=c["_loc"]["resources"][3], hours="1")
        c = self.host(lambda c: not c["CaneBeUsedForEvents"], headroom="25.00")
        i2 = self.event_use(c)
        c = self.host(lambda c: not c["CaneBeUsedForEvents"], headroom="25.00")
        i3 = self.event_use(c)
        self.expect(
            "ineligible_use",
            USE,
            [i1],
            "a booking paid from a Community credit (CaneBeUsedForBookings false)",
            "this credit may not pay for bookings",
        )
        self.expect(
            "ineligible_use",
            USE,
            [i2, i3],
            "event tickets paid from Hot Desk Plus credits (CaneBeUsedForEvents false)",
            "these credits may not pay for events",
        )

        c = self.host(lambda c: c["CaneBeUsedForBookings"])
        n1 = self.booking_use(c)
        self.set_amount(n1, "0.00")
        c = self.host(lambda c: c["CaneBeUsedForEvents"])
        n2 = self.event_use(c)
        self.set_amount(n2, "-15.00")
        c = self.host()
        n3 = self.invoice_use(c, amount="5.00")
        self.set_amount(n3, "-5.00")
        self.expect(
            "non_positive_use",
            USE,
            [n1, n2, n3],
            "linked uses with CreditUsed 0.00 (booking), -15.00 (event) and -5.00 (invoice line)",
            "a booking, event or invoice line is paid "
            "with a positive amount; refunds are not recorded as negative linked uses (all three "
            "count in their credits' balances, which are set with them)",
        )

        c = self.host(headroom="20.00")
        d1 = self.invoice_use(c)
        ev_cw = c["_cw"]
        d1.update(EventAttendeeFullName=ev_cw["name"], EventAttendeeEmail=ev_cw["email"])
        c = self.host(lambda c: c["CaneBeUsedForBookings"], headroom="30.00")
        d2 = self.booking_use(
            c,
            start=self.weekday_slot(c["_month"], Decimal(2)).replace(hour=14, minute=0),
            hours="1",
        )
        d2["BookingToTime"] = d2["BookingFromTime"][:11] + "13:00:00"
        c = self.host(lambda c: c["CaneBeUsedForEvents"], headroom="25.00")
        d3 = self.event_use(c)
        _, inv, number = self.next_invoice_line()
        d3.update(
            CoworkerInvoiceLineCoworkerInvoiceId=inv,
            CoworkerInvoiceLineCoworkerInvoiceInvoiceNumber=number,
        )
        c = self.host(lambda c: c["CaneBeUsedForEvents"], headroom="25.00")
        d4 = self.event_use(c)
        d4["BookingResourceName"] = c["_loc"]["resources"][1][0]
        self.expect(
            "denormalisation_mismatch",
            USE,
            [d1],
            "invoice-line use carrying EventAttendeeFullName and "
            "EventAttendeeEmail while EventAttendeeId is null",
            "EventAttendee* set without the link",
        )
        self.expect(
            "denormalisation_mismatch",
            USE,
            [d2],
            "booking use with BookingToTime 13:00 before BookingFromTime 14:00 the same day",
            "a booking cannot end before it starts",
        )
        self.expect(
            "denormalisation_mismatch",
            USE,
            [d3],
            "event use carrying CoworkerInvoiceLineCoworkerInvoiceId "
            "and ...InvoiceNumber while CoworkerInvoiceLineId is null",
            "CoworkerInvoiceLineCoworkerInvoice* set without the link",
        )
        self.expect(
            "denormalisation_mismatch",
            USE,
            [d4],
            "event use carrying a BookingResourceName while BookingId is null",
            "Booking* set without the link",
        )

    def plant_extra_services(self) -> None:
        a = self.host_allowance(pred=lambda a: a["_month"] == 6)
        a["ExpireDate"] = "30/06/2025"
        self.expect(
            "schema_violation",
            ALLOWANCE,
            [a],
            'allowance ExpireDate "30/06/2025"',
            "not an ISO-8601 date-time; its uses are not judged for expiry",
            field="ExpireDate",
        )
        a = self.host_allowance()
        u = self.es_use(None, cw=a["_cw"], loc=a["_loc"], month=a["_month"])
        u["_raw_parent"] = "null"
        self.expect(
            "schema_violation",
            ES_USE,
            [u],
            "extra-service use with CoworkerExtraServiceId null (booking linked)",
            "the allowance link is required; not judged as an orphan",
            field="CoworkerExtraServiceId",
        )

        xs = []
        for kind in ("minutes", "guest"):
            a = self.host_allowance(
                kind,
                pred=lambda a: (
                    sum(u["_amount"] for u in a["_uses"])
                    < a["TotalUses"] - (60 if a["_kind"] == "minutes" else 1)
                ),
            )
            xs.append(
                self.es_use(
                    a,
                    amount=60 if kind == "minutes" else 1,
                    linked=False,
                    created=self.random_created(
                        datetime(YEAR, a["_month"], 2, 8), datetime(YEAR, a["_month"], 27, 18)
                    ),
                )
            )
        self.expect(
            "extra_service_unlinked",
            ES_USE,
            xs,
            "extra-service uses (60 minutes; 1 guest pass) with no BookingId",
            "an allowance is only spent by a booking; counted in the allowances' balances",
        )

        cw = self.cw_at(1202)
        o1 = self.es_use(None, cw=cw, loc=cw["loc"], month=5)
        o1["_raw_parent"] = 0
        cw = self.cw_at(1201)
        o2 = self.es_use(None, cw=cw, loc=cw["loc"], month=8)
        o2["_raw_parent"] = 20999
        self.expect(
            "extra_service_orphan",
            ES_USE,
            [o1, o2],
            "CoworkerExtraServiceId 0 and 20999",
            "no such allowance in the snapshot",
        )

        a = self.host_allowance("minutes")
        a["_remaining_delta"] = a["_uses"][-1]["_amount"]
        b = self.host_allowance(
            "guest", pred=lambda a: sum(u["_amount"] for u in a["_uses"]) < a["TotalUses"]
        )
        b["_remaining_delta"] = -1
        self.expect(
            "extra_service_balance_mismatch",
            ALLOWANCE,
            [a, b],
            f"RemainingUses {a['_remaining_delta']} "
            "minutes too high on a meeting-hours allowance (its last use never deducted); "
            "1 guest pass "
            "too low on a guest-pass allowance",
            "TotalUses - RemainingUses disagrees with the sum of the uses",
        )

        exp = []
        for day_after, hour in ((3, 10), (1, 9)):
            a = self.host_allowance(
                "minutes",
                pred=lambda a: (
                    a["_month"] < 9 and sum(u["_amount"] for u in a["_uses"]) <= a["TotalUses"] - 60
                ),
            )
            start = month_end(a["_month"]) + timedelta(days=day_after, hours=hour)
            while start.weekday() >= 5:
                start += timedelta(days=1)
            exp.append(self.es_use(a, start=start, amount=60))
        self.expect(
            "extra_service_expired_use",
            ES_USE,
            exp,
            "meeting-room bookings a few days after their "
            "allowance's month (ExpireDate the last day at midnight)",
            "the booking starts after the allowance expired",
        )

    def plant_hard_non_defects(self) -> None:
        c = self.host(lambda c: c["_month"] == 3 and c["CaneBeUsedForBookings"], headroom="30.00")
        u = self.booking_use(c, start=datetime(YEAR, 3, 31, 17, 30), hours="1")
        self.clean(
            [u],
            USE,
            "booking 2025-03-31T17:30:00 on a credit whose ExpireDate is 2025-03-31T00:00:00",
            "a midnight ExpireDate covers the whole day",
        )

        cw = self.cw_at(1201)
        c = self.new_credit(
            cw,
            5,
            manual=True,
            total="120.00",
            bookings=True,
            events=True,
            universal=False,
            description="Relocation welcome credit",
            created=datetime(YEAR, 4, 28, 9, 12, 3),
        )
        c["_taken"] = True
        rooms = LOCATIONS[0]["resources"]
        for day in (6, 13, 20, 27):
            self.booking_use(c, start=datetime(YEAR, 5, day, 11), hours="1", resource=rooms[0])
        self.booking_use(c, start=datetime(YEAR, 5, 22, 15), hours="2", resource=rooms[3])
        c["_remaining_fixed"] = Decimal("59.997")
        self.clean(
            [c],
            CREDIT,
            "TotalCredit 120.00, uses 60.00, RemainingCredit 59.997",
            "off by 0.003, within the 0.005 tolerance",
        )

        drift = []
        cw = self.cw_at(1202)
        c = self.new_credit(
            cw,
            4,
            manual=True,
            total="0.30",
            bookings=False,
            events=False,
            universal=True,
            description="Printing balance carried over from 2024",
            created=datetime(YEAR, 3, 30, 10, 0, 0),
        )
        for day, amt in ((9, "0.10"), (23, "0.20")):
            self.invoice_use(c, amount=amt, created=datetime(YEAR, 4, day, 11, 30))
        drift.append(c)
        cw = self.cw_at(1203)
        c = self.new_credit(
            cw,
            5,
            manual=True,
            total="1.00",
            bookings=False,
            events=False,
            universal=True,
            description="Printing top-up",
            created=datetime(YEAR, 4, 29, 8, 0, 0),
        )
        for _ in range(10):
            self.invoice_use(c, amount="0.10")
        drift.append(c)
        cw = self.cw_at(1204)
        c = self.new_credit(
            cw,
            3,
            manual=True,
            total="100.00",
            bookings=False,
            events=True,
            universal=True,
            description="Workshop series credit (3 sessions)",
            created=datetime(YEAR, 2, 26, 9),
        )
        for amt in ("33.33", "33.33", "33.34"):
            self.invoice_use(c, amount=amt)
        drift.append(c)
        cw = self.cw_at(1201)
        c = self.new_credit(
            cw,
            7,
            manual=True,
            total="250.00",
            bookings=False,
            events=True,
            universal=True,
            description="Accelerator programme credit (6 sessions)",
            created=datetime(YEAR, 6, 27, 9),
        )
        for day, amt in zip((3, 8, 10, 15, 17, 22), (*("41.67",) * 5, "41.65"), strict=True):
            self.invoice_use(
                c, amount=amt, created=datetime(YEAR, 7, day, 17, 5)
            )  # file order = this order
        drift.append(c)
        for cr in drift:
            cr["_taken"] = True
        self.clean(
            drift,
            CREDIT,
            "credits of 0.30 (uses 0.10 + 0.20), 1.00 (ten uses of 0.10), 100.00 "
            "(33.33 + 33.33 + 33.34) and 250.00 (5 × 41.67 + 41.65), each fully spent",
            "exact in cents; naive float sums give 0.30000000000000004 (> 0.30), "
            "0.9999999999999999 "
            "and 250.00000000000003 (> 250.00): not overdrawn, not mismatched",
        )

        c = self.host(
            lambda c: c["_month"] in (4, 5, 6, 7) and c["CaneBeUsedForBookings"], headroom="30.00"
        )
        vf = datetime(YEAR, c["_month"], 1)
        start = vf + timedelta(days=1, hours=9)
        while start.weekday() >= 5:
            start += timedelta(days=1)
        u = self.booking_use(
            c, start=start, hours="1", created=vf - timedelta(days=3, hours=-7, minutes=-12)
        )
        self.clean(
            [u],
            USE,
            f"booking made {u['CreatedOn']} for a meeting at {u['BookingFromTime']}, on a "
            f"credit valid from {c['ValidFrom']}",
            "the usage time of a booking use is "
            "BookingFromTime, inside the window; when the booking was made does not matter",
        )

        c = self.host(lambda c: not c["CaneBeUsedForBookings"], headroom="15.00")
        u = self.invoice_use(c, amount="15.00")
        self.clean(
            [u],
            USE,
            "invoice-line use of a Community credit (CaneBeUsedForBookings false)",
            "an invoice-line use is never ineligible",
        )

        self.clean(
            [self.goodwill],
            USE,
            "negative manual adjustment -25.00 (goodwill credit given back)",
            "only its manual_adjustment warning: the credit's RemainingCredit includes it, and "
            "non_positive_use judges linked uses only",
        )

        cw = self.cw_at(1204)
        c = self.new_credit(
            cw,
            5,
            manual=True,
            total="50.00",
            bookings=True,
            events=False,
            universal=False,
            description="Partner programme meeting credit",
            valid_from="2025-05-01T00:00:00Z",
            expire="2025-05-31T00:00:00Z",
            created=datetime(YEAR, 4, 29, 13, 45, 0),
        )
        c["_taken"] = True
        rooms = LOCATIONS[3]["resources"]
        self.booking_use(c, start=datetime(YEAR, 5, 14, 10), hours="1", resource=rooms[0])
        u = self.booking_use(c, start=datetime(YEAR, 5, 31, 16), hours="1", resource=rooms[1])
        self.clean(
            [c, u],
            CREDIT + " / " + USE,
            "credit whose ValidFrom/ExpireDate carry a literal Z "
            "(2025-05-31T00:00:00Z) and a booking on 2025-05-31 at 16:00",
            "with the default UTC zone the ExpireDate is midnight local, so it covers the whole "
            "day",
        )

        a = self.host_allowance(
            "minutes", pred=lambda a: sum(u["_amount"] for u in a["_uses"]) <= a["TotalUses"] - 60
        )
        start = month_end(a["_month"]).replace(hour=15)
        u = self.es_use(a, start=start, amount=60)
        self.clean(
            [u],
            ES_USE,
            f"extra-service booking at {u['BookingFromTime']}, the expiry day of its "
            "allowance (ExpireDate at midnight)",
            "a midnight ExpireDate covers the whole day",
        )

        cw = self.cw_at(1203)
        a = self.new_allowance(cw, 9, "minutes", total=600)
        a["_taken"] = True
        a["_remaining_fixed"] = 480
        self.clean(
            [a],
            ALLOWANCE,
            "allowance with TotalUses 600, RemainingUses 480 and no uses in the snapshot",
            "extra_service_balance_mismatch requires at least one use",
        )

        charges = [
            self.booking_charge(cw, m)
            for cw, m in (
                (self.cw_at(1201), 3),
                (self.cw_at(1202), 5),
                (self.cw_at(1203), 6),
                (self.cw_at(1204), 8),
                (self.cw_at(1201), 9),
                (self.cw_at(1203), 2),
            )
        ]
        self.clean(
            charges,
            ALLOWANCE,
            "plain booking charges in CoworkerExtraService (TotalUses, RemainingUses, "
            "ValidFrom, ExpireDate null; BookingId set)",
            "no uses point at them, so no balance or "
            "expiry rule applies; null optional fields are valid",
        )

        dup_credit = self.duplicate_rows[0]["_credit"]
        self.clean(
            [dup_credit],
            CREDIT,
            "credit whose use history holds one row twice",
            "the repeated row counts once; RemainingCredit matches counting it once",
        )
        excluded = [
            p["refs"]["c"] for p in self.plants if p.get("refs") and p["rule"] == "schema_violation"
        ]
        self.clean(
            excluded,
            CREDIT,
            "credits with one use whose CreditUsed or CoworkerBookingCreditId fails the schema",
            "that use is left out of the balance sum and RemainingCredit is set without it",
        )

    # ============================================================== finalize
    def finalize(self) -> None:
        for i, c in enumerate(sorted(self.credits, key=lambda r: (r["_created"], r["_seq"]))):
            c["Id"] = 10_001 + i
        for i, u in enumerate(sorted(self.uses, key=lambda r: (r["_created"], r["_seq"]))):
            u["Id"] = 500_001 + i
        for i, a in enumerate(sorted(self.allowances, key=lambda r: (r["_created"], r["_seq"]))):
            a["Id"] = 20_001 + i
        for i, u in enumerate(sorted(self.es_uses, key=lambda r: (r["_created"], r["_seq"]))):
            u["Id"] = 700_001 + i
        assert max(c["Id"] for c in self.credits) < 10_000 + 999, (
            "credit Ids must not reach 10999/19876"
        )

        for u in self.uses:
            raw = u["_credit_id_raw"]
            if u["_credit"] is None:
                u["CoworkerBookingCreditId"] = raw
            elif raw == "string":
                u["CoworkerBookingCreditId"] = str(u["_credit"]["Id"])
            else:
                u["CoworkerBookingCreditId"] = u["_credit"]["Id"]
        for c in self.credits:
            spent = self.spent(c)
            if "_remaining_fixed" in c:
                remaining = c["_remaining_fixed"]
            else:
                remaining = c["_total"] - spent + c.get("_remaining_delta", Decimal(0))
            c["RemainingCredit"] = money(remaining)
            last = max([c["_created"]] + [u["_created"] for u in c["_uses"]])
            if last > c["_created"]:
                c["UpdatedOn"] = utc(min(last + timedelta(seconds=2), SNAPSHOT_TAKEN))
        for u in self.es_uses:
            if u["_allowance"] is None:
                u["CoworkerExtraServiceId"] = (
                    None if u["_raw_parent"] == "null" else u["_raw_parent"]
                )
            else:
                u["CoworkerExtraServiceId"] = u["_allowance"]["Id"]
        for a in self.allowances:
            if a["_kind"] == "charge":
                continue
            if "_remaining_fixed" in a:
                a["RemainingUses"] = a["_remaining_fixed"]
            else:
                a["RemainingUses"] = (
                    a["TotalUses"]
                    - sum(u["_amount"] for u in a["_uses"])
                    + a.get("_remaining_delta", 0)
                )

    # ================================================================ output
    @staticmethod
    def public(rec: dict, fields: list[str]) -> dict:
        drop = rec.get("_drop", [])
        return {f: rec[f] for f in fields if f not in drop}

    def write(self) -> None:
        credits = [
            self.public(c, CREDIT_FIELDS) for c in sorted(self.credits, key=lambda r: r["Id"])
        ]
        pages = []
        total_pages = math.ceil(len(credits) / PAGE_SIZE)
        for p in range(1, total_pages + 1):
            chunk = credits[(p - 1) * PAGE_SIZE : p * PAGE_SIZE]
            pages.append(
                {
                    "Records": chunk,
                    "CurrentPage": p,
                    "CurrentPageSize": PAGE_SIZE,
                    "CurrentOrderField": "Id",
                    "CurrentSortDirection": 0,
                    "FirstItem": (p - 1) * PAGE_SIZE + 1,
                    "LastItem": (p - 1) * PAGE_SIZE + len(chunk),
                    "TotalItems": len(credits),
                    "TotalPages": total_pages,
                    "HasNextPage": p < total_pages,
                    "HasPreviousPage": p > 1,
                }
            )
        write_text(
            "coworkerbookingcredits.json", json.dumps(pages, indent=2, ensure_ascii=False) + "\n"
        )

        lines = []
        for u in sorted(self.uses, key=lambda r: r["Id"]):
            line = json.dumps(self.public(u, USE_FIELDS), ensure_ascii=False)
            lines.append(line)
            if any(u is d for d in self.duplicate_rows):
                lines.append(line)
        write_text("coworkerbookingcreditusehistories.jsonl", "\n".join(lines) + "\n")

        allowances = [
            self.public(a, ALLOWANCE_FIELDS) for a in sorted(self.allowances, key=lambda r: r["Id"])
        ]
        write_text(
            "coworkerextraservices.json",
            json.dumps(allowances, indent=2, ensure_ascii=False) + "\n",
        )
        write_text(
            "coworkerextraserviceusehistories.jsonl",
            "".join(
                json.dumps(self.public(u, ES_USE_FIELDS), ensure_ascii=False) + "\n"
                for u in sorted(self.es_uses, key=lambda r: r["Id"])
            ),
        )

        oracle = [
            {"rule": r, "entity": e, "record_id": rec["Id"], "field": f}
            for r, e, rec, f in self.findings
        ]
        oracle.sort(
            key=lambda x: (
                x["rule"],
                x["entity"],
                x["record_id"] is not None,
                x["record_id"] or 0,
                x["field"] is not None,
                x["field"] or "",
            )
        )
        write_text("expected_findings.json", json.dumps(oracle, indent=2) + "\n")
        write_text("README.md", self.readme(oracle))

    # ================================================================ README
    def readme(self, oracle: list[dict]) -> str:
        def ids(records: list[dict]) -> str:
            return ", ".join(
                str(i) for i in dict.fromkeys(r["Id"] for r in records)
            )  # listed order

        def fill(text: str, refs: dict | None) -> str:
            for k, v in (refs or {}).items():
                text = text.replace("{" + k + "}", str(v["Id"]))
            return text.replace("|", "\\|")

        kinds = {"booking": 0, "event": 0, "invoice": 0, "none": 0}
        for u in self.uses:
            link = next((k for k, f in LINK_KINDS if u[f] is not None), "none")
            kinds[link] += 1
        by_rule: dict[str, int] = {}
        for f in oracle:
            by_rule[f["rule"]] = by_rule.get(f["rule"], 0) + 1
        locations = [
            f"| {loc['name']} ({loc['id']}) | {loc['ccy']} "
            f"| {sum(1 for c in self.credits if c['BusinessId'] == loc['id'])} "
            f"| {sum(1 for a in self.allowances if a['BusinessId'] == loc['id'])} |"
            for loc in LOCATIONS
        ]
        plants = [
            f"| `{p['rule']}` | {p['entity']} | {ids(p['records'])} "
            f"| {fill(p['what'], p.get('refs'))} | {fill(p['why'], p.get('refs'))} |"
            for p in sorted(self.plants, key=lambda p: p["rule"])
        ]
        clean = [
            f"| {n['entity']} | {ids(n['records'])} | {fill(n['what'], None)} "
            f"| {fill(n['why'], None)} |"
            for n in self.clean_notes
        ]
        linked = [u for u in self.uses if u["_credit"] is not None and u["BookingFromTime"]]
        out = README.format(
            locations="\n".join(locations),
            pages=math.ceil(len(self.credits) / PAGE_SIZE),
            credits=len(self.credits),
            use_rows=len(self.uses) + len(self.duplicate_rows),
            uses=len(self.uses),
            allowances=len(self.allowances),
            es_uses=len(self.es_uses),
            findings=len(oracle),
            members=len(self.coworkers),
            **kinds,
            plants="\n".join(plants),
            by_rule=", ".join(f"`{k}` {v}" for k, v in sorted(by_rule.items())),
            clean="\n".join(clean),
            expiry_day=sum(
                1 for u in linked if u["_credit"]["ExpireDate"][:10] == u["BookingFromTime"][:10]
            ),
            early=sum(
                1
                for u in linked
                if u["CreatedOn"][:19] < u["_credit"]["ValidFrom"][:19] <= u["BookingFromTime"]
            ),
        )
        return out


def remove_identical(items: list, obj: object) -> None:
    """Remove obj itself (not an equal dict) from items, searching from the end."""
    for i in range(len(items) - 1, -1, -1):
        if items[i] is obj:
            del items[i]
            return
    raise ValueError("object not in list")


def allowance_name(kind: str) -> str:
    return "Meeting room hours (included)" if kind == "minutes" else "Guest day passes (included)"


def write_text(name: str, text: str) -> None:
    (OUT_DIR / name).write_text(text, encoding="utf-8", newline="\n")


def main() -> None:
    gen = Generator()
    gen.build()
    gen.finalize()
    gen.write()
    print(
        f"wrote {len(gen.credits)} credits, {len(gen.uses)} uses "
        f"(+{len(gen.duplicate_rows)} repeated row), "
        f"{len(gen.allowances)} allowances, {len(gen.es_uses)} extra-service uses, "
        f"{len(gen.findings)} expected findings to {OUT_DIR}"
    )


if __name__ == "__main__":
    main()
