"""Injected faults: each kind as a client sees it, seeded and deterministic, never changing data."""

import contextlib
import socket
import time

import httpx
import pytest

from recon.sandbox import Faults

CREDITS = "/api/billing/coworkerbookingcredits"
USES = "/api/billing/coworkerbookingcreditusehistories"
SIGN_IN = {
    "grant_type": "password",
    "username": "admin@example.com",
    "password": "sandbox-password",
}


def raw_get(sandbox, path):
    """Send one GET on a fresh socket; (bytes received until the server closed, error or None)."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sandbox-token\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    received = b""
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as connection:
        connection.sendall(request)
        try:
            while chunk := connection.recv(65536):
                received += chunk
        except ConnectionResetError as error:
            return received, error
    return received, None


def only(kind, **extra):
    return Faults(rate=1.0, kinds=(kind,), **extra)


def test_500_and_503(start, client):
    http = client(start(faults=only("500")))
    failed = http.get(CREDITS)
    assert failed.status_code == 500 and failed.json() == {"Message": "An error has occurred."}
    http = client(start(faults=only("503")))
    assert http.get(CREDITS).status_code == 503


def test_html_instead_of_json(start, client):
    answer = client(start(faults=only("html"))).get(CREDITS)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.text == "<html><body>Service Unavailable</body></html>"


def test_reset_closes_without_any_response(start, client):
    sandbox = start(faults=only("reset"))
    received, _ = raw_get(sandbox, CREDITS)
    assert received == b""
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        client(sandbox).get(CREDITS)
    assert sandbox.stats.faults["reset"] == 2
    assert sandbox.stats.requests["/api/billing/coworkerbookingcredits"][0] == 2


def test_truncate_announces_the_whole_body_and_sends_half(start, client):
    sandbox = start(faults=only("truncate"))
    received, _ = raw_get(sandbox, USES + "?size=40")
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    length = int(
        next(
            line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        ).split(b":")[1]
    )
    assert length > 1000 and len(body) == length // 2
    with pytest.raises(httpx.RemoteProtocolError):
        client(sandbox).get(USES)


def test_slow_answers_after_a_delay(start, client):
    sandbox = start(faults=only("slow", slow_seconds=0.5))
    with pytest.raises(httpx.ReadTimeout):
        client(sandbox, timeout=0.1).get(CREDITS)
    began = time.monotonic()
    assert client(sandbox).get(CREDITS).status_code == 200
    assert time.monotonic() - began >= 0.5


def test_faults_are_seeded_and_deterministic(start, client):
    def statuses(seed):
        sandbox = start(faults=Faults(rate=0.5, kinds=("500", "503", "html"), seed=seed))
        http = client(sandbox)
        return [
            (answer.status_code, answer.headers["content-type"][:9])
            for answer in (http.get(CREDITS) for _ in range(30))
        ]

    first = statuses(7)
    assert first == statuses(7)
    assert first != statuses(8)
    assert {status for status, _ in first} == {200, 500, 503}


def test_faults_never_change_the_data_and_spare_sign_in(start, client):
    sandbox = start(faults=Faults(rate=1.0, kinds=("truncate", "500")))
    http = client(sandbox)
    for _ in range(10):
        with contextlib.suppress(httpx.RemoteProtocolError):  # a truncated answer
            http.post(USES, json={"CoworkerBookingCreditId": 1, "CreditUsed": 1.0})
    assert len(sandbox.records("CoworkerBookingCreditUseHistory")) == 40
    anonymous = client(sandbox, headers={})
    assert all(anonymous.post("/api/token", data=SIGN_IN).status_code == 200 for _ in range(5))


def test_token_in_kinds_lets_faults_hit_sign_in(start, client):
    sandbox = start(faults=Faults(rate=1.0, kinds=("500", "token")))
    assert client(sandbox, headers={}).post("/api/token", data=SIGN_IN).status_code == 500
    assert sandbox.stats.tokens_issued == 0


def test_fault_settings_are_checked():
    with pytest.raises(ValueError, match="unknown fault"):
        Faults(kinds=("teapot",))
    with pytest.raises(ValueError, match="fault kind"):
        Faults(rate=0.5, kinds=("token",))
