"""The real ``recon fetch`` / ``recon run`` in a subprocess against the sandbox on 127.0.0.1.

The sandbox runs in the test process (threads) and serves ``sample_data/``; the
CLI is a separate Python process that knows only its URL and the credentials
in its environment, as a user's would.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest
from builders import interrupt, interruptible, on_a_terminal

import recon
from recon.entities import CREDIT, CREDIT_USE, ENTITIES
from recon.sandbox import ALL_ROLES, Faults, Mutations, Sandbox, SandboxConfig
from recon.sandbox.app import Api

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
TOKEN = "tok-7Hq2-SANDBOX-secret"
USERNAME = "auditor@example.com"
PASSWORD = "pw-Zx81-SANDBOX-secret"
AS_OF = "2025-12-31T00:00:00Z"
REPEATED_USE = 503090
"""sample_data repeats this use row (same Id, same UniqueId), as offset paging over a changing
table would. A real API has each Id once (it is the primary key): most tests serve the sample
with the row once; one serves it twice, as a misbehaving server would."""


def _env(**credentials: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXUDUS_")}
    env.update(credentials)
    return env


def recon_cli(*args, env: dict[str, str] | None = None, timeout: float = 240):
    return subprocess.run(
        [sys.executable, "-m", "recon", *map(str, args)],
        capture_output=True,
        text=True,
        env=env if env is not None else _env(NEXUDUS_TOKEN=TOKEN),
        timeout=timeout,
    )


def _sample_once() -> dict[str, list[dict]]:
    """sample_data's records as a database holds them: each Id once."""
    with Sandbox(SandboxConfig(snapshot=SAMPLE, limits="off")) as sandbox:
        records = {entity.name: sandbox.records(entity) for entity in ENTITIES}
    uses = records[CREDIT_USE.name]
    first = next(i for i, record in enumerate(uses) if record["Id"] == REPEATED_USE)
    records[CREDIT_USE.name] = uses[: first + 1] + [
        record for record in uses[first + 1 :] if record["Id"] != REPEATED_USE
    ]
    return records


SAMPLE_ONCE = _sample_once()


def _sandbox(**settings) -> Sandbox:
    settings.setdefault("snapshot", SAMPLE_ONCE)
    settings.setdefault("token", TOKEN)
    settings.setdefault("username", USERNAME)
    settings.setdefault("password", PASSWORD)
    settings.setdefault("limits", "off")
    return Sandbox(SandboxConfig(**settings))


def _fetch_args(sandbox: Sandbox, out: Path, *extra) -> list:
    return ["fetch", "--base-url", sandbox.base_url, "--out", out, "--limits", "off", *extra]


def _frames(snapshot: Path) -> dict:
    """Every entity as the audit loads it, in Id order."""
    loaded = recon.load_snapshot(snapshot, recon.load_ruleset())
    return {
        entity: loaded.frame(entity).sort_values("Id", ignore_index=True)
        for entity in ENTITIES
        if entity in loaded
    }


def _served_ids(sandbox: Sandbox, entity) -> list[int]:
    return sorted(record["Id"] for record in sandbox.records(entity))


def _all_bytes_under(directory: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file())


@pytest.fixture(scope="module")
def sample_frames():
    """sample_data as a fetch of it should come out: every record, each Id once."""
    frames = _frames(SAMPLE)
    uses = frames[CREDIT_USE]
    assert (uses["Id"] == REPEATED_USE).sum() == 2
    frames[CREDIT_USE] = uses.drop_duplicates("Id", ignore_index=True)
    return frames


def _findings_without_rows(path: Path) -> list[dict]:
    """Findings minus ``row`` (a file position: a fetched snapshot is in Id order)."""
    findings = json.loads(path.read_text())["findings"]
    return sorted(
        json.dumps({k: v for k, v in f.items() if k != "row"}, sort_keys=True) for f in findings
    )


def test_a_fetch_under_a_ten_percent_fault_rate_returns_exactly_the_records_served(
    tmp_path, sample_frames
):
    faults = Faults(rate=0.10, kinds=("500", "503", "reset", "truncate", "html"), seed=7)
    with _sandbox(faults=faults) as sandbox:
        run = recon_cli(*_fetch_args(sandbox, tmp_path / "snap", "--page-size", "200"))
        stats = sandbox.stats
    assert run.returncode == 0, run.stderr
    assert sum(stats.faults.values()) >= 3, "the fault rate did not bite; the test proves nothing"
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    assert manifest["retries"] >= sum(stats.faults.values())
    assert all(entity["paging"] != "offset" for entity in manifest["entities"].values())
    fetched = _frames(tmp_path / "snap")
    assert fetched.keys() == sample_frames.keys()
    for entity, frame in sample_frames.items():
        pd.testing.assert_frame_equal(fetched[entity], frame, check_like=True)
    assert not (tmp_path / "snap" / ".recon-fetch").exists()


def test_a_server_that_serves_an_id_twice_still_gives_every_record_once(tmp_path, sample_frames):
    with _sandbox(snapshot=SAMPLE) as sandbox:
        assert _served_ids(sandbox, CREDIT_USE).count(REPEATED_USE) == 2
        run = recon_cli(*_fetch_args(sandbox, tmp_path / "snap", "--page-size", "300"))
    assert run.returncode == 0, run.stderr
    fetched = _frames(tmp_path / "snap")
    for entity, frame in sample_frames.items():
        pd.testing.assert_frame_equal(fetched[entity], frame, check_like=True)
    uses = json.loads((tmp_path / "snap" / "manifest.json").read_text())["entities"][
        CREDIT_USE.name
    ]
    # Rows are counted, not Ids: the keyset walk accounts for all 3,699 and says so.
    assert uses["paging"] == "keyset" and uses["total_items"] == [3699, 3699]
    assert uses["records_fetched"] == 3698
    assert uses["notes"] == [
        "the server served 1 row(s) with an Id another row has too; each Id is kept once, "
        "as last received"
    ]


@pytest.mark.parametrize(
    "server",
    [
        {},
        {"honour_id_range": False},
        {"honour_id_range": False, "dir_convention": "zero_one"},
    ],
    ids=["keyset", "offset-paging", "offset-paging-zero-one-dir"],
)
def test_rows_inserted_and_deleted_mid_walk_lose_and_repeat_no_record_that_stayed(tmp_path, server):
    mutations = Mutations(after_requests=3, entity=CREDIT_USE, inserts=40, deletes=40, seed=3)
    with _sandbox(mutations=mutations, **server) as sandbox:
        before = set(_served_ids(sandbox, CREDIT_USE))
        run = recon_cli(*_fetch_args(sandbox, tmp_path / "snap", "--page-size", "250"))
        after = set(_served_ids(sandbox, CREDIT_USE))
        (event,) = sandbox.mutations_log
    assert run.returncode == 0, run.stderr
    assert event.request == 3 and len(event.inserted) == 40 and len(event.deleted) == 40
    ids = _frames(tmp_path / "snap")[CREDIT_USE]["Id"].tolist()
    assert len(ids) == len(set(ids)), "a record was fetched twice"
    stayed = before & after
    assert stayed <= set(ids), f"lost records that existed throughout: {sorted(stayed - set(ids))}"
    assert set(ids) <= before | after
    manifest = json.loads((tmp_path / "snap" / "manifest.json").read_text())
    uses = manifest["entities"][CREDIT_USE.name]
    assert uses["records"] == len(ids)
    if server.get("honour_id_range", True):
        assert uses["paging"] == "keyset" and uses["total_items"] == [3698, 3698]
    else:
        # As many inserts as deletes: TotalItems held still, only comparing walks shows it.
        assert uses["paging"] == "offset" and uses["walks"] == 3
        assert "walks 1 and 2 saw different Ids: walked again" in uses["notes"]


def test_a_killed_fetch_resumes_without_starting_over(tmp_path, sample_frames):
    out = tmp_path / "snap"
    with _sandbox(latency=0.03) as sandbox:
        args = _fetch_args(sandbox, out, "--page-size", "100", "--concurrency", "1")
        process = subprocess.Popen(
            [sys.executable, "-m", "recon", *map(str, args)],
            env=_env(NEXUDUS_TOKEN=TOKEN),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pages = out / ".recon-fetch" / f"{CREDIT_USE.stem}.pages"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            if pages.exists() and pages.read_bytes().count(b"\n") >= 10:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL, "the fetch finished before it was killed"
        first_searches = sum(sandbox.stats.searches.values())
        first_credit_searches = sandbox.stats.searches[CREDIT.name]

        assert not (out / "manifest.json").exists()
        refused = recon_cli("audit", out, "--out", tmp_path / "report")
        assert refused.returncode == 2
        assert "unfinished fetch" in refused.stderr and len(refused.stderr.splitlines()) == 1

        resumed = recon_cli(*args)
        second_searches = sum(sandbox.stats.searches.values()) - first_searches
        second_credit_searches = sandbox.stats.searches[CREDIT.name] - first_credit_searches
    assert resumed.returncode == 0, resumed.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed"] is True
    total_pages = sum(entity["pages"] for entity in manifest["entities"].values())
    # Each pass that brings the entities to one moment searches every entity once more.
    passes = manifest["moment"]["passes"]
    assert second_searches - passes * len(ENTITIES) < total_pages, "the rerun started over"
    # Credits are walked first: their walk was complete when the fetch was killed.
    assert second_credit_searches == passes, "credits were walked again"
    fetched = _frames(out)
    for entity, frame in sample_frames.items():
        pd.testing.assert_frame_equal(fetched[entity], frame, check_like=True)


def test_a_failed_fetch_keeps_its_pages_and_the_same_command_resumes(tmp_path):
    out = tmp_path / "snap"
    lacking = f"{CREDIT_USE.name}-List"
    with _sandbox(roles=ALL_ROLES - {lacking}) as sandbox:
        port = sandbox.port
        args = _fetch_args(sandbox, out)
        failed = recon_cli(*args)
        credit_searches = sandbox.stats.searches[CREDIT.name]
    assert failed.returncode == 2
    assert failed.stdout == ""
    (line,) = failed.stderr.splitlines()
    assert line.startswith("recon: ") and CREDIT_USE.name in line and lacking in line
    assert "Traceback" not in failed.stderr
    assert (out / ".recon-fetch" / f"{CREDIT.stem}.pages").stat().st_size > 0
    # Credits were made into Parquet while the next entity was walked: nothing of that is
    # left to look like (part of) a snapshot.
    assert sorted(path.name for path in out.iterdir()) == [".recon-fetch"]

    # The role is granted; the same command on the same URL picks up where it stopped.
    with _sandbox(port=port) as sandbox:
        resumed = recon_cli(*args)
        searches = sandbox.stats.searches
    assert resumed.returncode == 0, resumed.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    # Only the pass that brings the entities to one moment searched credits again.
    passes = manifest["moment"]["passes"]
    assert searches[CREDIT.name] == passes < credit_searches, "credits were fetched again"
    assert searches[CREDIT_USE.name] > 0
    assert manifest["resumed"] is True


@pytest.mark.parametrize(
    "credentials",
    [
        {"NEXUDUS_TOKEN": TOKEN},
        {"NEXUDUS_USERNAME": USERNAME, "NEXUDUS_PASSWORD": PASSWORD},
    ],
    ids=["token", "password-grant"],
)
def test_recon_run_gates_like_audit_and_no_secret_lands_anywhere(tmp_path, credentials):
    out = tmp_path / "run"
    with _sandbox(token_ttl=None) as sandbox:
        run = recon_cli(
            "run",
            "--base-url",
            sandbox.base_url,
            "--out",
            out,
            "--limits",
            "off",
            "--as-of",
            AS_OF,
            env=_env(**credentials),
        )
        issued = sandbox.stats.tokens_issued
        secrets = [TOKEN, PASSWORD, *sandbox.issued_tokens]
        served = {entity.name: len(sandbox.records(entity)) for entity in ENTITIES}
        base_url = sandbox.base_url
    direct = recon_cli("audit", SAMPLE, "--out", tmp_path / "direct", "--as-of", AS_OF)
    assert run.returncode == direct.returncode == 1, run.stderr
    # The same findings as auditing sample_data directly, except the repeated row's pair
    # (the fetch keeps that Id once: nothing is duplicated any more).
    expected = [
        finding
        for finding in _findings_without_rows(tmp_path / "direct" / "findings.json")
        if f'"record_id": {REPEATED_USE}' not in finding
        or '"rule": "duplicate_record"' not in finding
    ]
    assert len(expected) == 55
    assert _findings_without_rows(out / "findings.json") == expected
    assert "Report:" in run.stdout and "recon fetch" in run.stdout
    assert issued == (1 if "NEXUDUS_PASSWORD" in credentials else 0)

    written = _all_bytes_under(out) + run.stdout.encode() + run.stderr.encode()
    assert len(secrets) == 2 + 2 * issued
    for secret in secrets:
        assert secret.encode() not in written
    manifest = json.loads((out / "snapshot" / "manifest.json").read_text())
    assert manifest["base_url"] == base_url
    assert {name: entity["records"] for name, entity in manifest["entities"].items()} == served


def test_a_missing_role_and_its_leftovers_leak_no_secret(tmp_path):
    lacking = f"{CREDIT_USE.name}-List"
    out = tmp_path / "snap"
    with _sandbox(roles=ALL_ROLES - {lacking}) as sandbox:
        run = recon_cli(
            *_fetch_args(sandbox, out),
            env=_env(NEXUDUS_USERNAME=USERNAME, NEXUDUS_PASSWORD=PASSWORD),
        )
        secrets = [PASSWORD, *sandbox.issued_tokens]
        # Signed in, refused, signed in again (the one renewal a 401 earns), refused.
        assert sandbox.stats.tokens_issued == 2
    assert run.returncode == 2
    assert run.stderr == (
        f"recon: the Nexudus API refused {CREDIT_USE.name} (HTTP 401): the account needs the "
        f"role {lacking} (or full administrator); grant it, or check the token, and run again\n"
    )
    leftovers = _all_bytes_under(out)
    assert leftovers, "the pages fetched before the failure were not kept"
    assert len(secrets) == 5
    for secret in secrets:
        assert secret.encode() not in leftovers + run.stderr.encode()


def test_wrong_credentials_are_one_line_without_the_password(tmp_path):
    with _sandbox() as sandbox:
        run = recon_cli(
            *_fetch_args(sandbox, tmp_path / "snap"),
            env=_env(NEXUDUS_USERNAME=USERNAME, NEXUDUS_PASSWORD="wrong-" + PASSWORD),
        )
    assert run.returncode == 2
    (line,) = run.stderr.splitlines()
    assert line.startswith("recon: ") and PASSWORD not in line


@dataclass(frozen=True)
class _Exchange:
    """One request the sandbox answered, timed by this process's monotonic clock."""

    method: str
    target: str
    arrived: float
    """When the sandbox began to handle it: after the client sent it."""
    answered: float
    """When its answer was ready: before the client could receive it."""
    status: int
    retry_after: str | None


@pytest.fixture
def exchanges(monkeypatch) -> list[_Exchange]:
    """Every request the sandbox answers, as it answers them.

    The sandbox runs in this process, so its request handler can be watched: it still
    answers every request itself. (Its ``stats`` count 409s but keep no times.)
    """
    log: list[_Exchange] = []
    handle = Api.handle

    def watched(api, request):
        arrived = time.monotonic()
        response = handle(api, request)
        headers = dict(response.headers)
        log.append(
            _Exchange(
                request.method,
                request.target,
                arrived,
                time.monotonic(),
                response.status,
                headers.get("Retry-After"),
            )
        )
        return response

    monkeypatch.setattr(Api, "handle", watched)
    return log


def _assert_every_409_honoured(log: list[_Exchange]) -> None:
    """After each 409, the request it refused is sent again, no sooner than Retry-After.

    A guarantee, not a race: the client cannot see the 409 before the sandbox answered it,
    and then waits Retry-After before sending anything; the sandbox sees the request again
    only after that. (Requests of other threads already on their way may arrive sooner.)
    """
    ordered = sorted(log, key=lambda exchange: exchange.arrived)
    for refused in (exchange for exchange in ordered if exchange.status == 409):
        wait = int(refused.retry_after)
        assert wait >= 1
        again = next(
            (
                later
                for later in ordered
                if later.arrived >= refused.answered
                and (later.method, later.target) == (refused.method, refused.target)
            ),
            None,
        )
        assert again is not None, f"{refused.target} was refused and never asked again"
        assert again.arrived - refused.answered >= wait, (
            f"{refused.target} asked again {again.arrived - refused.answered:.3f} s after a 409 "
            f"with Retry-After {wait}"
        )


def _assert_throttled_fetch_complete(snapshot, stats, log, sample_frames) -> None:
    """Every record fetched; every request answered 200 or 409; every 409 honoured and
    counted in the manifest; no request failed."""
    manifest = json.loads((snapshot / "manifest.json").read_text())
    statuses = Counter(exchange.status for exchange in log)
    assert set(statuses) <= {200, 409}, statuses
    assert manifest["retries"] == 0 and not stats.faults
    assert manifest["throttled"] == stats.throttled == statuses[409]
    served = sum(sum(counts.values()) for counts in stats.requests.values())
    assert manifest["requests"] == len(log) == served
    _assert_every_409_honoured(log)
    fetched = _frames(snapshot)
    assert fetched.keys() == sample_frames.keys()
    for entity, frame in sample_frames.items():
        pd.testing.assert_frame_equal(fetched[entity], frame, check_like=True)


def test_within_the_documented_limits_every_409_is_honoured(tmp_path, sample_frames, exchanges):
    # The client paces itself to the documented limits, so 409s should be rare; but how
    # many the server sends depends on timing on a loaded machine, so the test asserts
    # what the client guarantees: whatever 409s came were honoured, and nothing failed.
    with _sandbox(limits="documented") as sandbox:
        address = ("--base-url", sandbox.base_url)
        run = recon_cli("fetch", *address, "--out", tmp_path / "snap", "--page-size", "500")
        stats = sandbox.stats
    assert run.returncode == 0, run.stderr
    assert sum(stats.searches.values()) >= 10
    _assert_throttled_fetch_complete(tmp_path / "snap", stats, exchanges, sample_frames)


def test_a_client_past_the_limits_is_throttled_and_still_gets_everything(
    tmp_path, sample_frames, exchanges
):
    with _sandbox(limits="documented") as sandbox:
        run = recon_cli(*_fetch_args(sandbox, tmp_path / "snap", "--page-size", "500"))
        stats = sandbox.stats
    assert run.returncode == 0, run.stderr
    assert stats.throttled > 0, "limits off on the client should have hit the server's 409s"
    _assert_throttled_fetch_complete(tmp_path / "snap", stats, exchanges, sample_frames)


def test_since_merges_a_record_created_after_the_first_fetch(tmp_path):
    out = tmp_path / "snap"
    with _sandbox() as sandbox:
        first = recon_cli(*_fetch_args(sandbox, out))
        assert first.returncode == 0, first.stderr
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
        response = httpx.post(
            f"{sandbox.base_url}/api/billing/{CREDIT_USE.stem}",
            json={
                "CoworkerBookingCreditId": SAMPLE_ONCE[CREDIT.name][0]["Id"],
                "CreditUsed": 4.5,
                "Description": "late use",
            },
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        new_id = response.json()["Value"]["Id"]
        second = recon_cli(*_fetch_args(sandbox, out, "--since", since))
        served = _served_ids(sandbox, CREDIT_USE)
    assert second.returncode == 0, second.stderr
    ids = _frames(out)[CREDIT_USE]["Id"].tolist()
    assert new_id in ids and sorted(ids) == served
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["since"] is not None and manifest["previous"] is not None
    assert manifest["entities"][CREDIT_USE.name]["records_fetched"] >= 1


def test_progress_bars_on_a_terminal_and_silence_elsewhere(tmp_path):
    with _sandbox() as sandbox:
        process, terminal = on_a_terminal(
            _fetch_args(sandbox, tmp_path / "a"), env=_env(NEXUDUS_TOKEN=TOKEN), timeout=120
        )
        piped = recon_cli(*_fetch_args(sandbox, tmp_path / "b"))
        quiet = recon_cli(*_fetch_args(sandbox, tmp_path / "c", "--quiet"))
    assert process.returncode == 0
    assert CREDIT_USE.name in terminal and "records" in terminal and "pages" in terminal
    assert piped.returncode == 0 and piped.stderr == ""
    assert quiet.returncode == 0 and quiet.stdout == quiet.stderr == ""


def _assert_readme_output_is_real(readme: str, output: str) -> None:
    """Every line of the README's example output (but '...') stands in the real output, in
    order, once what varies from run to run (time, port, requests) is set aside."""

    def normal(line: str) -> str:
        line = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", line)
        line = re.sub(r"in \d+\.\d s, \d+ requests \(\d+ retried, \d+ throttled\)", "in T", line)
        return re.sub(r"as of \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "as of AS_OF", line)

    start = readme.index("recon run --base-url http://127.0.0.1:8642 --out my-snapshot\n```")
    block = re.search(r"```\n+```\n(.*?)\n```", readme[start:], re.S).group(1)
    expected = [normal(line) for line in block.splitlines() if line.strip() != "..."]
    real = [normal(line) for line in output.splitlines()]
    at = 0
    for line in expected:
        assert line in real[at:], f"README line not in the real output: {line!r}"
        at = real.index(line, at) + 1


def test_the_readme_walkthrough_recon_sandbox_then_recon_run(tmp_path):
    """The README's 'Try it without a Nexudus account', as a user types it."""
    readme = (SAMPLE.parent / "README.md").read_text()
    with subprocess.Popen(
        [sys.executable, "-m", "recon", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=SAMPLE.parent,
        preexec_fn=interruptible,
    ) as sandbox:
        try:
            announced = [sandbox.stdout.readline() for _ in range(4)]
            assert announced[0].startswith("Nexudus API sandbox serving"), announced
            export, command = announced[2].split(), announced[3].split()
            assert export[0] == "export" and command[:2] == ["recon", "run"]
            name, _, token = export[1].partition("=")
            run = subprocess.run(
                [sys.executable, "-m", "recon", *command[1:], "--as-of", AS_OF],
                capture_output=True,
                text=True,
                env=_env(**{name: token}),
                cwd=tmp_path,
                timeout=120,
            )
        finally:
            interrupt(sandbox)
    assert sandbox.returncode == 0
    assert run.returncode == 1, run.stderr
    assert announced[0].startswith("Nexudus API sandbox serving sample_data at "), announced
    _assert_readme_output_is_real(readme, run.stdout)
    summary = next(line for line in run.stdout.splitlines() if " findings: " in line)
    assert summary == "55 findings: 34 error, 21 warning, 0 info"
    assert summary in readme and "  export NEXUDUS_TOKEN=sandbox-token" in readme
    report = (
        "Report: my-snapshot/report.html (also findings.json, report.md, junit.xml, report.xlsx)"
    )
    assert report in run.stdout and report in readme
    assert (tmp_path / "my-snapshot" / "snapshot" / "manifest.json").exists()
    # Titled by the run's name and where and when it fetched, not "recon audit of snapshot".
    heading = (tmp_path / "my-snapshot" / "report.md").read_text().splitlines()[0]
    shown = heading.replace("\\", "").replace("\u200b", "")  # as Markdown renders it
    assert re.match(r"## recon run my-snapshot \(from http://127\.0\.0\.1:\d+, fetched 20", shown)
