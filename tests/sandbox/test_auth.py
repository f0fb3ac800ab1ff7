"""Sign-in (/api/token, form-encoded), refresh, Bearer and Basic, expiry, missing roles."""

import base64
import time

import httpx

CREDITS = "/api/billing/coworkerbookingcredits"
USES = "/api/billing/coworkerbookingcreditusehistories"
DENIED = {"Message": "Authorization has been denied for this request."}
SIGN_IN = {
    "grant_type": "password",
    "username": "admin@example.com",
    "password": "sandbox-password",
}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_password_grant_and_refresh(start, client):
    sandbox = start()
    anonymous = client(sandbox, headers={})
    granted = anonymous.post("/api/token", data=SIGN_IN)
    assert granted.status_code == 200
    tokens = granted.json()
    assert set(tokens) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 604799
    assert anonymous.get(CREDITS, headers=bearer(tokens["access_token"])).status_code == 200
    refreshed = anonymous.post(
        "/api/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    ).json()
    assert refreshed["access_token"] not in (tokens["access_token"], None)
    assert anonymous.get(CREDITS, headers=bearer(refreshed["access_token"])).status_code == 200
    assert sandbox.stats.tokens_issued == 2


def test_sign_in_failures(start, client):
    anonymous = client(start(), headers={})
    wrong = anonymous.post("/api/token", data={**SIGN_IN, "password": "nope"})
    assert wrong.status_code == 400
    assert wrong.json() == {
        "error": "invalid_grant",
        "error_description": "The user name or password is incorrect.",
    }
    # The endpoint reads a form: the same fields as JSON are refused.
    assert anonymous.post("/api/token", json=SIGN_IN).status_code == 400
    bad_refresh = {"grant_type": "refresh_token", "refresh_token": "forged"}
    assert anonymous.post("/api/token", data=bad_refresh).status_code == 400
    assert anonymous.post("/api/token", data={"grant_type": "magic"}).status_code == 400
    assert anonymous.get("/api/token").status_code == 405


def test_refresh_needs_the_client_id_of_the_sign_in(start, client):
    anonymous = client(start(), headers={})
    tokens = anonymous.post("/api/token", data=SIGN_IN, headers={"client_id": "app-1"}).json()
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    other = anonymous.post("/api/token", data=form, headers={"client_id": "app-2"})
    assert other.status_code == 400 and other.json()["error"] == "invalid_client"
    same = anonymous.post("/api/token", data=form, headers={"client_id": "app-1"})
    assert same.status_code == 200


def test_requests_need_a_valid_credential(start, client):
    sandbox = start()
    anonymous = client(sandbox, headers={})
    for headers in ({}, bearer("forged"), {"Authorization": "Token sandbox-token"}):
        refused = anonymous.get(CREDITS, headers=headers)
        assert refused.status_code == 401 and refused.json() == DENIED
    basic = base64.b64encode(b"Admin@Example.com:sandbox-password").decode()
    assert anonymous.get(CREDITS, headers={"Authorization": f"Basic {basic}"}).status_code == 200
    wrong = base64.b64encode(b"admin@example.com:guess").decode()
    assert anonymous.get(CREDITS, headers={"Authorization": f"Basic {wrong}"}).status_code == 401
    assert anonymous.get(CREDITS, headers=bearer("sandbox-token")).status_code == 200
    assert sandbox.stats.requests["/api/billing/coworkerbookingcredits"][401] == 4


def test_issued_tokens_expire_after_token_ttl(start, client):
    sandbox = start(token_ttl=0.3)
    anonymous = client(sandbox, headers={})
    tokens = anonymous.post("/api/token", data=SIGN_IN).json()
    assert tokens["expires_in"] == 604799  # it says a week, as the real one does, and lies
    assert anonymous.get(CREDITS, headers=bearer(tokens["access_token"])).status_code == 200
    time.sleep(0.35)
    assert anonymous.get(CREDITS, headers=bearer(tokens["access_token"])).status_code == 401
    fresh = anonymous.post(
        "/api/token", data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    ).json()
    assert anonymous.get(CREDITS, headers=bearer(fresh["access_token"])).status_code == 200
    # The configured token never expires.
    assert anonymous.get(CREDITS, headers=bearer("sandbox-token")).status_code == 200


def test_a_missing_role_answers_401(start, client):
    from recon.sandbox import ALL_ROLES

    roles = ALL_ROLES - {
        "CoworkerBookingCredit-List",
        "CoworkerBookingCreditUseHistory-Read",
        "CoworkerBookingCreditUseHistory-Create",
    }
    http = client(start(roles=roles))
    for answer in (
        http.get(CREDITS),
        http.get(CREDITS, params={"id": "[1]"}),
        http.get(USES + "/101"),
        http.post(USES, json={"CoworkerBookingCreditId": 1, "CreditUsed": 1}),
    ):
        assert answer.status_code == 401 and answer.json() == DENIED
    assert http.get(CREDITS + "/1").status_code == 200
    assert http.get(USES).status_code == 200


def test_only_the_loopback_address_is_bound(start):
    sandbox = start()
    assert sandbox.base_url == f"http://127.0.0.1:{sandbox.port}"
    assert sandbox._server.socket.getsockname() == ("127.0.0.1", sandbox.port)
    assert httpx.get(sandbox.base_url + CREDITS, headers=bearer("sandbox-token")).status_code == 200
