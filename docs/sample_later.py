"""Write a later snapshot of the sample, with changes made after July 2025 was closed.

    python docs/sample_later.py OUT

The sample (``sample_data``) is the snapshot July 2025 is closed on. OUT receives the same
snapshot as it might be fetched a month later, with four changes planted in July's closed
records, each of which ``recon close OUT --period 2025-08 --previous CLOSE-2025-07`` finds
(docs/close.md lists them):

- credit 10261: TotalCredit 75.00 -> 85.00 (and RemainingCredit with it), UpdatedOn moved:
  ``changed_after_close``;
- use 502291: CreditUsed 12.50 -> 15.00 with UpdatedOn left as it was (its credit's
  RemainingCredit follows): ``silent_change``;
- use 502293 deleted (its 2.00 given back to its credit): ``deleted_after_close``;
- use 509001, new, recorded on 30 July 2025 against credit 10261: ``backdated_entry``.

Every balance still ties out, so these are the only new findings. Deterministic.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "sample_data"
CREDITS = "coworkerbookingcredits.json"
USES = "coworkerbookingcreditusehistories.jsonl"
MOVED = "2025-09-03T09:00:00Z"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python docs/sample_later.py OUT", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    pages = json.loads((HERE / CREDITS).read_text(encoding="utf-8"))
    credits = {record["Id"]: record for page in pages for record in page["Records"]}
    uses = [json.loads(line) for line in (HERE / USES).read_text(encoding="utf-8").splitlines()]
    by_id = {use["Id"]: use for use in uses}

    changed = credits[10261]  # changed_after_close
    changed.update(TotalCredit=changed["TotalCredit"] + 10, UpdatedOn=MOVED)
    changed["RemainingCredit"] += 10

    silent = by_id[502291]  # silent_change: UpdatedOn stays
    credits[silent["CoworkerBookingCreditId"]]["RemainingCredit"] -= 15.0 - silent["CreditUsed"]
    silent["CreditUsed"] = 15.0

    deleted = by_id[502293]  # deleted_after_close
    credits[deleted["CoworkerBookingCreditId"]]["RemainingCredit"] += deleted["CreditUsed"]
    uses.remove(deleted)

    backdated = dict(by_id[502290])  # backdated_entry: a booking use, new, dated July
    backdated.update(
        Id=509001,
        UniqueId="6d1f3a52-0b7e-4c1e-9a57-509001509001",
        CoworkerBookingCreditId=10261,
        CreditUsed=5.0,
        BookingId=909001,
        BookingFromTime="2025-08-04T10:00:00",
        BookingToTime="2025-08-04T11:00:00",
        CreatedOn="2025-07-30T10:00:00Z",
        UpdatedOn="2025-07-30T10:00:00Z",
    )
    credits[10261]["RemainingCredit"] -= 5.0
    uses.append(backdated)

    (out / CREDITS).write_text(json.dumps(pages, indent=1, ensure_ascii=False), encoding="utf-8")
    lines = "".join(json.dumps(use, ensure_ascii=False) + "\n" for use in uses)
    (out / USES).write_text(lines, encoding="utf-8")
    for name in ("coworkerextraservices.json", "coworkerextraserviceusehistories.jsonl"):
        shutil.copyfile(HERE / name, out / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
