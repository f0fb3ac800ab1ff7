"""Hypothesis settings of the fuzz suite: about a minute of CI by default;
``RECON_FUZZ_EXAMPLES=N`` runs every property N times instead (e.g. 2000, for hours)."""

import os

from hypothesis import HealthCheck, settings

EXAMPLES = int(os.environ.get("RECON_FUZZ_EXAMPLES") or 0)


def examples(default: int) -> settings:
    """Settings for a property worth ``default`` examples in an ordinary run."""
    return settings(
        max_examples=EXAMPLES or default,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )
