"""``recon sandbox``: its parser on a fresh argparse parser, the printed block, Ctrl-C, errors."""

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from builders import interrupt, interruptible

from recon.sandbox import cli

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
# A fresh parser, as any program embedding the subcommand would build it.
PROGRAM = (
    "import argparse, sys\n"
    "from recon.sandbox.cli import add_parser\n"
    "parser = argparse.ArgumentParser(prog='recon')\n"
    "add_parser(parser.add_subparsers())\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.handler(args))\n"
)


def parse(*argv):
    parser = argparse.ArgumentParser(prog="recon")
    cli.add_parser(parser.add_subparsers())
    return parser.parse_args(["sandbox", *argv])


def test_options_and_defaults():
    args = parse()
    assert (args.host, args.port, args.limits, args.fault_rate, args.latency_ms) == (
        "127.0.0.1",
        8642,
        "documented",
        0.0,
        0.0,
    )
    assert args.handler is cli.run and args.snapshot is None and args.missing_role == []
    args = parse(
        "--missing-role",
        "CoworkerExtraService-List",
        "--missing-role",
        "CoworkerBookingCredit-Read",
    )
    assert args.missing_role == ["CoworkerExtraService-List", "CoworkerBookingCredit-Read"]
    assert cli.default_snapshot() == SAMPLE


def test_bad_option_values_are_usage_errors(capsys):
    for argv in (["--missing-role", "Nope-List"], ["--fault-rate", "2"], ["--latency-ms", "-1"]):
        with pytest.raises(SystemExit) as exit_info:
            parse(*argv)
        assert exit_info.value.code == 2
    capsys.readouterr()


def test_serves_until_ctrl_c(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            PROGRAM,
            "sandbox",
            "--port",
            "0",
            "--token",
            "t0k3n",
            "--missing-role",
            "CoworkerExtraService-List",
            "--limits",
            "off",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        preexec_fn=interruptible,
    )
    try:
        lines = [process.stdout.readline() for _ in range(5)]
        url = lines[0].split(" at ")[1].split(" ")[0]
        assert url.startswith("http://127.0.0.1:")
        assert lines[2].strip() == "export NEXUDUS_TOKEN=t0k3n"
        assert lines[3].strip() == f"recon run --base-url {url} --out my-snapshot"
        headers = {"Authorization": "Bearer t0k3n"}
        page = httpx.get(url + "/api/billing/coworkerbookingcredits", headers=headers, timeout=10)
        assert page.json()["TotalItems"] == 369  # the sample data, found from the checkout
        refused = httpx.get(url + "/api/billing/coworkerextraservices", headers=headers, timeout=10)
        assert refused.status_code == 401
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0, err
    assert out == "" and err == ""


def test_port_in_use_is_one_line_and_exit_2(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.run(parse("--port", str(port), "--snapshot", str(SAMPLE))) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and f"port {port} on 127.0.0.1 is already in use" in err


def test_no_snapshot_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(cli, "default_snapshot", lambda: None)
    assert cli.run(parse("--port", "0")) == 2
    assert "pass --snapshot DIR" in capsys.readouterr().err
    assert cli.run(parse("--port", "0", "--snapshot", str(tmp_path / "nowhere"))) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere" in err


def test_ready_callback_runs_once_serving(monkeypatch, capsys):
    # run() in a thread, stopped through the sandbox it announced (no signal needed).
    started = {}

    def announce(sandbox, snapshot):
        started["sandbox"] = sandbox

    monkeypatch.setattr(cli, "_announce", announce)
    thread = threading.Thread(
        target=lambda: started.setdefault(
            "code", cli.run(parse("--port", "0", "--snapshot", str(SAMPLE)))
        )
    )
    thread.start()
    for _ in range(200):
        if "sandbox" in started:
            break
        threading.Event().wait(0.05)
    sandbox = started["sandbox"]
    assert (
        httpx.get(sandbox.base_url + "/api/billing/coworkerbookingcredits", timeout=10).status_code
        == 401
    )
    sandbox.close()
    thread.join(timeout=10)
    assert started["code"] == 0


def test_the_hostile_mode_from_the_command_line(tmp_path):
    """``recon sandbox --hostile body=null``, then ``recon fetch`` against it: one line, exit 2."""
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "recon",
            "sandbox",
            "--port",
            "0",
            "--limits",
            "off",
            "--hostile",
            "body=null",
            "--hostile",
            "entity=CoworkerBookingCreditUseHistory",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=interruptible,
    ) as sandbox:
        try:
            url = sandbox.stdout.readline().split(" at ")[1].split()[0]
            out, rest = tmp_path / "s", ["--limits", "off", "--tries", "1"]
            fetched = subprocess.run(
                [sys.executable, "-m", "recon", "fetch", "--base-url", url, "--out", out, *rest],
                capture_output=True,
                text=True,
                env={**os.environ, "NEXUDUS_TOKEN": "sandbox-token"},
                timeout=120,
            )
        finally:
            interrupt(sandbox)
    assert fetched.returncode == 2, fetched.stderr
    (line,) = fetched.stderr.splitlines()
    assert "CoworkerBookingCreditUseHistory" in line and "a JSON null" in line


def test_bad_hostile_settings_are_usage_errors(capsys):
    for argv in (["--hostile", "teapot=1"], ["--hostile", "padding=lots"]):
        with pytest.raises(SystemExit) as exit_info:
            parse(*argv)
        assert exit_info.value.code == 2
    assert parse("--hostile", "endless", "--hostile", "trickle=0.2").hostile == [
        ("endless", True),
        ("trickle", 0.2),
    ]
    capsys.readouterr()
