"""A fetch while credits and their uses change together describes one moment, not two.

The sandbox changes three credits and their uses (a new use, a use raised, the
balance lowered to match) just before it answers the first page of uses: after
the credits' walk, before the uses'. Audited, the ledger before and the ledger
after are each as clean as they were; only a snapshot that mixes the two (the
credits before, the uses after) shows balance findings. The fetched snapshot
must show none that exists neither before nor after.
"""

from __future__ import annotations

import json
from pathlib import Path

from fetch.test_cli_sandbox import AS_OF, _fetch_args, _sandbox, recon_cli
from fetch.test_hostile_server import LEDGER

from recon.entities import CREDIT, CREDIT_USE, ENTITIES
from recon.sandbox import LedgerChange

BALANCE_RULES = ("balance_mismatch", "overdrawn_credit")


def _write(directory: Path, records: dict[str, list[dict]]) -> Path:
    directory.mkdir()
    for entity in ENTITIES:
        if records.get(entity.name):
            (directory / f"{entity.stem}.json").write_text(json.dumps(records[entity.name]))
    return directory


def _balance_findings(snapshot: Path, report: Path) -> set[tuple[str, int]]:
    run = recon_cli("audit", snapshot, "--out", report, "--format", "json", "--as-of", AS_OF)
    assert run.returncode in (0, 1), run.stderr
    findings = json.loads((report / "findings.json").read_text())["findings"]
    return {(f["rule"], f["record_id"]) for f in findings if f["rule"] in BALANCE_RULES}


def test_credits_and_uses_changed_between_entities_are_fetched_as_of_one_moment(tmp_path):
    change = LedgerChange(credits=3, entity=CREDIT_USE, at_search=1, seed=5)
    with _sandbox(snapshot=LEDGER, ledger_change=change) as sandbox:
        before = {entity.name: sandbox.records(entity) for entity in ENTITIES}
        run = recon_cli(*_fetch_args(sandbox, tmp_path / "snap", "--page-size", "50"))
        after = {entity.name: sandbox.records(entity) for entity in ENTITIES}
        (event,) = sandbox.mutations_log
    assert run.returncode == 0, run.stderr
    assert event.cause == "ledger change" and len(event.inserted) == 3
    assert before == {name: LEDGER[name] for name in before}

    known = _balance_findings(_write(tmp_path / "before", before), tmp_path / "r-before")
    known |= _balance_findings(_write(tmp_path / "after", after), tmp_path / "r-after")
    # The test can fail: a snapshot mixing the two moments has findings of neither.
    mixed = {**after, CREDIT.name: before[CREDIT.name]}
    spurious = _balance_findings(_write(tmp_path / "mixed", mixed), tmp_path / "r-mixed") - known
    assert len(spurious) >= 3, spurious

    fetched = _balance_findings(tmp_path / "snap", tmp_path / "r-fetched")
    assert fetched <= known, f"findings of no moment: {sorted(fetched - known)}"

    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    moment = manifest["moment"]
    assert moment["one_moment"] is True and moment["passes"] == 2, moment
    # Three credits changed after their walk read them; three uses were new, three changed
    # (or read after the change already: then they are no news).
    assert moment["records_changed_during_fetch"][CREDIT.name] == 3, moment
    assert moment["records_reread"][CREDIT_USE.name] >= 6, moment
    assert manifest["entities"][CREDIT.name]["records_reread"] >= 3
