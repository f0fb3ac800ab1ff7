"""The one function that decides the exit status, locked by a table over --fail-on and the
severities of the findings."""

import pytest

from recon.exitcodes import ExitCode, FailOn, Severity, exit_code_for

NONE = {Severity.ERROR: 0, Severity.WARNING: 0, Severity.INFO: 0}


@pytest.mark.parametrize(
    ("fail_on", "counts", "expected"),
    [
        (FailOn.ERROR, {}, ExitCode.OK),
        (FailOn.ERROR, {Severity.INFO: 3}, ExitCode.OK),
        (FailOn.ERROR, {Severity.WARNING: 2}, ExitCode.OK),
        (FailOn.ERROR, {Severity.ERROR: 1}, ExitCode.FINDINGS),
        (FailOn.WARNING, {Severity.INFO: 3}, ExitCode.OK),
        (FailOn.WARNING, {Severity.WARNING: 1}, ExitCode.FINDINGS),
        (FailOn.WARNING, {Severity.ERROR: 1}, ExitCode.FINDINGS),
        (FailOn.NEVER, {Severity.ERROR: 5, Severity.WARNING: 5}, ExitCode.OK),
    ],
)
def test_exit_code_for(fail_on, counts, expected):
    assert exit_code_for({**NONE, **counts}, fail_on) is expected


def test_run_errors_exit_with_two():
    import recon

    for error in (
        recon.ReconError,
        recon.UsageError,
        recon.ConfigError,
        recon.SnapshotError,
        recon.SnapshotFileError,
        recon.OutputError,
    ):
        assert error("x").exit_code == ExitCode.RUN_ERROR == 2


@pytest.mark.parametrize(
    ("fail_on", "counts", "material", "expected"),
    [
        # --fail-on material: only materiality decides, whatever the severities
        (FailOn.MATERIAL, {Severity.ERROR: 5}, False, ExitCode.OK),
        (FailOn.MATERIAL, {}, True, ExitCode.FINDINGS),
        # any other --fail-on: materiality decides nothing
        (FailOn.ERROR, {}, True, ExitCode.OK),
        (FailOn.NEVER, {Severity.ERROR: 1}, True, ExitCode.OK),
        (FailOn.WARNING, {Severity.WARNING: 1}, False, ExitCode.FINDINGS),
    ],
)
def test_exit_code_for_materiality(fail_on, counts, material, expected):
    assert exit_code_for({**NONE, **counts}, fail_on, material=material) is expected
