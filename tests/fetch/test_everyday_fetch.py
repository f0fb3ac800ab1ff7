"""Everyday failure paths of ``recon fetch`` / ``recon run``, run the way a user runs them.

A mistyped ``--base-url`` is refused before any request; a refused connection
is tried a few times, each wait shown on a terminal, and leaves a state with
nothing fetched that the corrected command replaces without asking;
``--restart`` discards a state that holds pages; throttling answered with 429
and the wait in the body text is honoured; an optional entity the account may
not read is recorded and skipped while the required ones still stop the
fetch; ``--entities`` chooses what to fetch.
"""

from __future__ import annotations

import json
import socket

from builders import on_a_terminal
from fetch.test_cli_sandbox import TOKEN, _env, _fetch_args, _frames, _sandbox, recon_cli
from fetch.test_hostile_server import LEDGER

from recon.entities import ALLOWANCE, ALLOWANCE_USE, CREDIT, CREDIT_USE
from recon.sandbox import ALL_ROLES, Limits


def _one_line(run) -> str:
    assert run.returncode == 2, run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith("recon: ") and "Traceback" not in run.stderr
    assert "internal error" not in line
    return line


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _on_a_terminal(args: list) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; (exit status, what the terminal got)."""
    process, terminal = on_a_terminal(args, env=_env(NEXUDUS_TOKEN=TOKEN), timeout=120)
    return process.returncode, terminal


def test_a_mistyped_base_url_is_refused_before_any_request(tmp_path):
    out = tmp_path / "snap"
    line = _one_line(recon_cli("fetch", "--base-url", "notaurl", "--out", out))
    assert "--base-url 'notaurl' is not the address of an API" in line
    assert "https://spaces.nexudus.com" in line
    assert not out.exists(), "a URL no request can reach left a fetch state behind"
    line = _one_line(recon_cli("fetch", "--base-url", "spaces.nexudus.com", "--out", out))
    assert "did you mean https://spaces.nexudus.com?" in line


def test_a_refused_connection_shows_its_few_retries_and_the_corrected_command_runs(tmp_path):
    out = tmp_path / "snap"
    nowhere = f"http://127.0.0.1:{_free_port()}"
    status, terminal = _on_a_terminal(
        ["fetch", "--base-url", nowhere, "--out", out, "--limits", "off"]
    )
    assert status == 2
    lines = [line.strip() for line in terminal.splitlines() if line.strip()]
    retries = [line for line in lines if "cannot connect" in line and " try " in line]
    assert [line.split(" try ")[1].split()[0] for line in retries] == ["2", "3"], lines
    assert all(" s" in line.split(" in ")[-1] for line in retries)
    final = lines[-1]
    assert final.startswith("recon: ") and "3 tries failed" in final and "check --base-url" in final
    # A state with nothing fetched: the corrected command replaces it without asking.
    assert (out / ".recon-fetch" / "state.json").exists()
    with _sandbox(snapshot=LEDGER) as sandbox:
        corrected = recon_cli(*_fetch_args(sandbox, out))
    assert corrected.returncode == 0, corrected.stderr
    assert json.loads((out / "manifest.json").read_text())["resumed"] is False


def test_restart_discards_a_state_that_holds_pages(tmp_path):
    out = tmp_path / "snap"
    lacking = f"{CREDIT_USE.name}-List"
    with _sandbox(snapshot=LEDGER, roles=ALL_ROLES - {lacking}) as sandbox:
        assert recon_cli(*_fetch_args(sandbox, out)).returncode == 2
    assert (out / ".recon-fetch" / f"{CREDIT.stem}.pages").stat().st_size > 0
    with _sandbox(snapshot=LEDGER) as sandbox:
        other = _fetch_args(sandbox, out, "--page-size", "10")
        line = _one_line(recon_cli(*other))
        assert "unfinished fetch with other options" in line and "--restart" in line
        restarted = recon_cli(*other, "--restart")
    assert restarted.returncode == 0, restarted.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed"] is False
    assert manifest["entities"][CREDIT.name]["records"] == len(LEDGER[CREDIT.name])


def test_429_with_the_wait_in_the_body_slows_the_fetch_without_failing_it(tmp_path):
    out = tmp_path / "snap"
    throttling = {
        "limits": Limits(all_methods=((1.0, 10),)),
        "throttle_status": 429,
        "throttle_wait_in": "body",
    }
    with _sandbox(snapshot=LEDGER, **throttling) as sandbox:
        run = recon_cli(*_fetch_args(sandbox, out, "--page-size", "50"))
        throttled = sandbox.stats.throttled
    assert run.returncode == 0, run.stderr
    assert throttled > 0, "the client never met the throttle: the test proves nothing"
    assert json.loads((out / "manifest.json").read_text())["throttled"] == throttled
    assert sorted(_frames(out)[CREDIT_USE]["Id"]) == sorted(
        u["Id"] for u in LEDGER[CREDIT_USE.name]
    )


def test_an_optional_entity_the_account_may_not_read_is_recorded_and_the_run_goes_on(tmp_path):
    out = tmp_path / "run"
    lacking = f"{ALLOWANCE.name}-List"
    with _sandbox(snapshot=LEDGER, roles=ALL_ROLES - {lacking}) as sandbox:
        args = ["run", "--base-url", sandbox.base_url, "--out", out, "--limits", "off"]
        run = recon_cli(*args, "--format", "json")
    assert run.returncode in (0, 1), run.stderr
    manifest = json.loads((out / "snapshot" / "manifest.json").read_text())
    assert manifest["refused"] == {ALLOWANCE.name: lacking}
    assert set(manifest["entities"]) == {CREDIT.name, CREDIT_USE.name, ALLOWANCE_USE.name}
    assert not (out / "snapshot" / f"{ALLOWANCE.stem}.parquet").exists()
    assert f"{ALLOWANCE.name}: refused (the account lacks {lacking})" in run.stdout
    skipped = next(line for line in run.stdout.splitlines() if " rules: " in line)
    assert " 0 skipped" not in skipped, skipped


def test_entities_chooses_what_is_fetched(tmp_path):
    out = tmp_path / "snap"
    with _sandbox(snapshot=LEDGER) as sandbox:
        chosen = f"--entities={CREDIT.name},{CREDIT_USE.stem}"
        run = recon_cli(*_fetch_args(sandbox, out, chosen))
        searches = sandbox.stats.searches
        line = _one_line(recon_cli(*_fetch_args(sandbox, tmp_path / "b", "--entities", "Bogus")))
    assert run.returncode == 0, run.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["entities"]) == {CREDIT.name, CREDIT_USE.name}
    assert searches[ALLOWANCE.name] == searches[ALLOWANCE_USE.name] == 0
    assert "--entities: 'Bogus' is none of the entities" in line
