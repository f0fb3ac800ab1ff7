"""Throttling: exact sliding windows, HTTP 409 with Retry-After and an empty body."""

import time

import pytest

from recon.sandbox import Limits
from recon.sandbox.throttle import Throttle

CREDITS = "/api/billing/coworkerbookingcredits"
USES = "/api/billing/coworkerbookingcreditusehistories"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_sliding_windows_are_exact():
    clock = Clock()
    throttle = Throttle(Limits(all_methods=((60.0, 3),), writes=()), clock)
    for offset in (0.0, 10.0, 20.0):
        clock.now = 1000.0 + offset
        assert throttle.admit("a", write=False) is None
    clock.now = 1059.5
    assert throttle.admit("a", write=False) == 1  # the first leaves the window at 1060.0
    clock.now = 1030.0
    assert throttle.admit("a", write=False) == 30
    clock.now = 1060.0
    assert throttle.admit("a", write=False) is None  # exactly 60 s later: slid out
    assert throttle.admit("a", write=False) == 10  # full again until 1070
    assert throttle.admit("b", write=False) is None  # counted per account


def test_refused_requests_do_not_count_and_writes_have_their_own_windows():
    clock = Clock()
    throttle = Throttle(Limits(all_methods=((1.0, 5),), writes=((60.0, 2),)), clock)
    assert throttle.admit("a", write=True) is None
    assert throttle.admit("a", write=True) is None
    assert throttle.admit("a", write=True) == 60
    assert throttle.admit("a", write=False) is None  # reads still pass
    for _ in range(20):
        throttle.admit("a", write=True)  # refused: the read window holds 3, not 23
    assert throttle.admit("a", write=False) is None
    assert throttle.admit("a", write=False) is None
    assert throttle.admit("a", write=False) == 1  # 5 in the last second


def test_documented_limits():
    clock = Clock()
    throttle = Throttle(Limits(), clock)
    assert throttle.admit("a", write=False) is None
    assert throttle.admit("a", write=False) == 1  # 1 per 100 ms
    admitted = 1
    while admitted < 120:
        clock.now += 0.25  # exact in binary: no rounding at the window's edge
        assert throttle.admit("a", write=False) is None
        admitted += 1
    clock.now += 0.25
    assert throttle.admit("a", write=False) == 30  # 120 a minute: the first leaves at +60 s
    assert Throttle(None).admit("a", write=True) is None  # limits off


def test_409_with_retry_after_and_an_empty_body(start, client):
    sandbox = start(limits="documented")
    http = client(sandbox)
    assert http.get(CREDITS).status_code == 200
    refused = http.get(CREDITS)
    assert refused.status_code == 409
    assert refused.headers["Retry-After"] == "1"
    assert refused.content == b"" and refused.headers["Content-Length"] == "0"
    time.sleep(0.12)
    assert http.get(CREDITS).status_code == 200
    assert sandbox.stats.throttled == 1
    assert sandbox.stats.requests["/api/billing/coworkerbookingcredits"][409] == 1


def test_custom_limits_per_minute_and_for_writes(start, client):
    limits = Limits(all_methods=((60.0, 4),), writes=((60.0, 1),))
    http = client(start(limits=limits))
    body = {"CoworkerBookingCreditId": 1, "CreditUsed": 1.0}
    assert http.post(USES, json=body).status_code == 200
    write = http.post(USES, json=body)
    assert write.status_code == 409 and int(write.headers["Retry-After"]) == 60
    assert [http.get(CREDITS).status_code for _ in range(4)] == [200, 200, 200, 409]


def test_sign_in_is_not_throttled_and_401s_are_not_counted(start, client):
    sandbox = start(limits=Limits(all_methods=((60.0, 1),), writes=()))
    anonymous = client(sandbox, headers={})
    form = {
        "grant_type": "password",
        "username": "admin@example.com",
        "password": "sandbox-password",
    }
    assert [anonymous.post("/api/token", data=form).status_code for _ in range(3)] == [200] * 3
    assert anonymous.get(CREDITS).status_code == 401
    assert client(sandbox).get(CREDITS).status_code == 200


def test_limits_must_make_sense():
    with pytest.raises(ValueError, match="throttling window"):
        Limits(all_methods=((0.0, 1),))
