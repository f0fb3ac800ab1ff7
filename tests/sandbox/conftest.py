"""Fixtures for the sandbox tests: a small dataset, started sandboxes, HTTP clients.

Every sandbox here listens on 127.0.0.1 on a free port and is closed when the
test ends; throttling is off unless a test turns it on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from builders import credit, event_use, invoice_use, manual_use, use

from recon.sandbox import Sandbox, SandboxConfig

TOKEN = "sandbox-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def dataset() -> dict[str, list[dict[str, Any]]]:
    """Five credits (Ids 1-5) and 40 uses (Ids 101-140) with varied links, amounts, times."""
    credits = [
        credit(i, TotalCredit=100.0 + i, RemainingCredit=50.0 + i / 4, CoworkerId=500 + i % 2)
        for i in range(1, 6)
    ]
    uses = []
    for n in range(40):
        record_id, credit_id = 101 + n, 1 + n % 5
        day = f"2025-03-{1 + n % 28:02d}"
        # UpdatedOn in UTC with Z, booking times local without offset, as the API sends them.
        times = {
            "CreatedOn": f"{day}T08:{n % 60:02d}:00Z",
            "UpdatedOn": f"{day}T09:{n % 60:02d}:00Z",
            "CreditUsed": float(n % 7) + 0.5,
        }
        if n % 10 == 3:
            uses.append(event_use(record_id, credit_id, **times))
        elif n % 10 == 7:
            uses.append(invoice_use(record_id, credit_id, **times))
        elif n % 20 == 9:
            record = manual_use(record_id, credit_id, -2.0, "Goodwill adjustment")
            uses.append({**record, **times, "CreditUsed": -2.0})
        else:
            booking = {"BookingFromTime": f"{day}T10:00:00", "BookingToTime": f"{day}T11:00:00"}
            uses.append(use(record_id, credit_id, **times, **booking))
    return {"CoworkerBookingCredit": credits, "CoworkerBookingCreditUseHistory": uses}


@pytest.fixture
def start() -> Iterator[Callable[..., Sandbox]]:
    """``start(**config)`` -> a started sandbox (dataset(), limits off unless given)."""
    with ExitStack() as stack:

        def factory(**overrides: Any) -> Sandbox:
            overrides.setdefault("snapshot", dataset())
            overrides.setdefault("limits", "off")
            return stack.enter_context(Sandbox(SandboxConfig(**overrides)))

        yield factory


@pytest.fixture
def client() -> Iterator[Callable[..., httpx.Client]]:
    """``client(sandbox, **kwargs)`` -> an httpx.Client at the sandbox, Bearer by default."""
    with ExitStack() as stack:

        def factory(sandbox: Sandbox, **kwargs: Any) -> httpx.Client:
            kwargs.setdefault("headers", BEARER)
            kwargs.setdefault("timeout", 10)
            return stack.enter_context(httpx.Client(base_url=sandbox.base_url, **kwargs))

        yield factory


def _ids(response: httpx.Response) -> list[int]:
    body = response.json()
    records = body["Records"] if isinstance(body, dict) else body
    return [record["Id"] for record in records]


@pytest.fixture
def ids() -> Callable[[httpx.Response], list[int]]:
    """``ids(response)`` -> the Ids of a page envelope's records, or of a batch's array."""
    return _ids


@pytest.fixture
def data() -> dict[str, list[dict[str, Any]]]:
    """The records ``start`` serves unless told otherwise (a fresh copy)."""
    return dataset()
