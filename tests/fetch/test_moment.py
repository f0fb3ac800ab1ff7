"""``moment.settle``: passes until one finds nothing new, and a stop when none does.

The API is a function (``httpx.MockTransport``): it answers the re-read
searches (``from_<Entity>_UpdatedOn``) with the records given for each pass.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from recon.entities import CREDIT, CREDIT_USE
from recon.fetch import Credentials, NexudusClient, RetryPolicy, Unlimited, moment
from recon.fetch.errors import NotOneMoment

STARTED = dt.datetime(2026, 3, 1, 9, 30, 15, tzinfo=dt.UTC)


def _api(answer):
    """A client whose searches get ``answer(entity_stem, since, call)`` as their records."""
    calls = []

    def handler(request):
        stem = request.url.path.rsplit("/", 1)[-1]
        since = next(v for k, v in request.url.params.items() if k.endswith("_UpdatedOn"))
        calls.append((stem, since))
        records = answer(stem, since, len(calls))
        body = {"Records": records, "TotalItems": len(records)}
        return httpx.Response(200, content=json.dumps(body).encode())

    api = NexudusClient(
        "http://api.test",
        Credentials(token="t"),
        transport=httpx.MockTransport(handler),
        limiter=Unlimited(),
        retry=RetryPolicy(attempts=1),
    )
    return api, calls


def _settle(api, held, tmp_path):
    return moment.settle(
        api,
        {CREDIT: {}, CREDIT_USE: {}},
        STARTED,
        held,
        tmp_path,
        size=100,
        concurrency=1,
        max_requests=100,
        now=lambda: STARTED + dt.timedelta(minutes=5),
    )


def test_nothing_changed_is_one_pass_from_the_start_less_a_minute(tmp_path):
    api, calls = _api(lambda stem, since, call: [])
    settled = _settle(api, lambda entity, ids: {}, tmp_path)
    assert settled.passes == 1 and settled.pages == {} and settled.changed == {}
    assert calls == [
        ("coworkerbookingcredits", "2026-03-01T09:29"),
        ("coworkerbookingcreditusehistories", "2026-03-01T09:29"),
    ]


def test_a_change_is_re_read_until_a_pass_finds_it_unchanged(tmp_path):
    changed = {"Id": 7, "UpdatedOn": "2026-03-01T09:31:00Z", "RemainingCredit": 4.5}
    api, calls = _api(lambda stem, since, call: [changed] if "credits" in stem else [])
    held = {CREDIT: {7: "2025-01-01T00:00:00Z"}}
    settled = _settle(api, lambda entity, ids: {i: held[entity][i] for i in ids}, tmp_path)
    assert settled.passes == 2 and settled.changed == {CREDIT.name: 1}
    assert settled.reread == {CREDIT.name: 2, CREDIT_USE.name: 0}
    # The second pass asks from the first pass's start, floored, less a minute.
    assert sorted({since for _, since in calls}) == ["2026-03-01T09:29", "2026-03-01T09:34"]
    assert settled.pages[CREDIT].read_bytes().count(b"\n") == 2


def test_records_that_keep_changing_stop_the_fetch(tmp_path):
    def answer(stem, since, call):
        return [{"Id": 7, "UpdatedOn": f"2026-03-01T09:{call:02d}:00Z"}]

    api, _ = _api(answer)
    with pytest.raises(NotOneMoment) as raised:
        _settle(api, lambda entity, ids: {}, tmp_path)
    message = str(raised.value)
    assert f"each of {moment.MAX_PASSES} passes" in message and "\n" not in message
    assert "run again when the API is quieter" in message
