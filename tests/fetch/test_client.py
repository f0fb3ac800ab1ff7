"""The API client: requests, parsing, auth, retries, throttling, typed errors, and secrets kept."""

import json

import httpx
import pytest

import recon
from recon import readers
from recon.entities import CREDIT, CREDIT_USE
from recon.fetch import Credentials, NexudusClient, RetryPolicy, Unlimited

TOKEN = "tok-SECRET-1234"
PASSWORD = "pw-SECRET-5678"


def client(handler, *, credentials=None, sleeps=None, attempts=4):
    sleeps = [] if sleeps is None else sleeps
    return NexudusClient(
        "http://api.test",
        credentials or Credentials(token=TOKEN),
        transport=httpx.MockTransport(handler),
        limiter=Unlimited(),
        retry=RetryPolicy(attempts=attempts, sleep=sleeps.append),
    )


def page(records, total=None, **extra):
    body = {"Records": records, "TotalItems": len(records) if total is None else total, **extra}
    return httpx.Response(200, content=json.dumps(body, indent=2).encode())


def test_search_sends_paging_order_and_filters_and_reads_the_page():
    seen = []

    def handler(request):
        seen.append(request)
        return page([{"Id": 7}, {"Id": 9}], total=12, CurrentSortDirection=1)

    result = client(handler).search(
        CREDIT_USE,
        page=2,
        size=5000,
        direction=1,
        filters={"CoworkerBookingCreditUseHistory_BookingId": "3"},
    )
    (request,) = seen
    assert request.url.path == "/api/billing/coworkerbookingcreditusehistories"
    assert dict(request.url.params) == {
        "page": "2",
        "size": "1000",
        "orderBy": "Id",
        "dir": "1",
        "CoworkerBookingCreditUseHistory_BookingId": "3",
    }
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert (result.ids.tolist(), result.count, result.total_items, result.sort_direction) == (
        [7, 9],
        2,
        12,
        1,
    )
    assert b"\n" not in result.body and json.loads(result.body)["Records"][1]["Id"] == 9


def test_page_with_an_id_pyarrow_cannot_type_is_read_by_json():
    result = client(lambda r: page([{"Id": 1}, {"Id": "x"}, {"Id": 3}])).search(CREDIT)
    assert (result.ids.tolist(), result.count) == ([1, 3], 3)


def test_get_one_batch_and_missing():
    def handler(request):
        if request.url.path.endswith("/5"):
            return httpx.Response(200, json={"Id": 5})
        if request.url.path.endswith("/6"):
            return httpx.Response(404, json="Not found")
        assert request.url.params["id"] == "[1,2]"
        return httpx.Response(200, json=[{"Id": 1}, {"Id": 2}])

    api = client(handler)
    assert api.get(CREDIT, 5) == {"Id": 5}
    assert api.get(CREDIT, 6) is None
    assert api.get_many(CREDIT, [1, 2]) == [{"Id": 1}, {"Id": 2}]


def test_create_returns_the_new_id():
    def handler(request):
        assert json.loads(request.content) == {"CoworkerBookingCreditId": 1, "CreditUsed": 5}
        return httpx.Response(200, json={"Status": 200, "Value": {"Id": 99}, "WasSuccessful": True})

    assert client(handler).create_use({"CoworkerBookingCreditId": 1, "CreditUsed": 5}) == 99


@pytest.mark.parametrize("status", [400, 200])
def test_create_refusal_is_typed_and_lists_each_property(status):
    refusal = {
        "Message": "CreditUsed: is a required field",
        "Value": None,
        "WasSuccessful": False,
        "Errors": [
            {
                "AttemptedValue": None,
                "Message": "is a required field",
                "PropertyName": "CreditUsed",
            },
            {
                "AttemptedValue": 0,
                "Message": "does not exist",
                "PropertyName": "CoworkerBookingCreditId",
            },
        ],
    }
    with pytest.raises(recon.errors.CreateRejected) as raised:
        client(lambda r: httpx.Response(status, json=refusal)).create_use(
            {"CoworkerBookingCreditId": 0}
        )
    assert raised.value.errors == [
        ("CreditUsed", "is a required field"),
        ("CoworkerBookingCreditId", "does not exist"),
    ]
    assert "CreditUsed: is a required field; CoworkerBookingCreditId: does not exist" in str(
        raised.value
    )


@pytest.mark.parametrize(
    "fault",
    [
        lambda request: httpx.Response(503),
        lambda request: httpx.Response(500, json={"Message": "An error has occurred."}),
        lambda request: httpx.Response(200, text="<html><body>Service Unavailable</body></html>"),
        lambda request: httpx.Response(200, content=b'{"Records": [{"Id": 1}, {"Id'),
        lambda request: (_ for _ in ()).throw(httpx.ReadError("connection reset by peer")),
        lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("timed out")),
        lambda request: (_ for _ in ()).throw(httpx.RemoteProtocolError("peer closed connection")),
    ],
)
def test_transient_faults_are_retried_with_backoff(fault):
    calls, sleeps = [], []

    def handler(request):
        calls.append(request)
        return fault(request) if len(calls) < 3 else page([{"Id": 1}])

    api = client(handler, sleeps=sleeps)
    assert api.search(CREDIT).ids.tolist() == [1]
    assert len(calls) == 3 and len(sleeps) == 2 and api.stats["failures"] == 2
    assert all(0 <= wait <= 1.0 for wait in sleeps)  # jittered below the first two bounds


def test_faults_past_the_retries_are_one_clear_error():
    with pytest.raises(recon.errors.ApiUnavailable) as raised:
        client(lambda r: httpx.Response(502), attempts=3).search(CREDIT, page=4)
    message = str(raised.value)
    assert (
        "GET http://api.test/api/billing/coworkerbookingcredits: 3 tries failed; last: HTTP 502"
        in message
    )
    assert "run the same command again to resume" in message and "\n" not in message


@pytest.mark.parametrize("status", [409, 429])
@pytest.mark.parametrize(
    ("answer", "wait"),
    [
        ({"headers": {"Retry-After": "7"}}, 7.0),
        ({"json": {"Message": "Too many requests. Wait 7 seconds."}}, 7.0),
        ({"text": "API calls quota exceeded! Try again in 2.5 seconds"}, 2.5),
        ({"headers": {"Retry-After": "3"}, "text": "Wait 9 seconds"}, 3.0),
        ({"text": "slow down"}, 1.0),
    ],
    ids=["retry-after", "body-wait", "body-try-again", "header-first", "neither"],
)
def test_throttling_waits_as_long_as_the_server_says(status, answer, wait):
    calls = []

    class Recording(Unlimited):
        def __init__(self):
            super().__init__()
            self.deferred = []

        def defer(self, seconds):
            self.deferred.append(seconds)

    def handler(request):
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(status, **answer)
        return page([{"Id": 1}])

    limiter = Recording()
    api = NexudusClient(
        "http://api.test",
        Credentials(token=TOKEN),
        transport=httpx.MockTransport(handler),
        limiter=limiter,
        retry=RetryPolicy(sleep=lambda s: None),
    )
    assert api.search(CREDIT).count == 1
    assert limiter.deferred == [wait] and api.stats["throttled"] == 1 and api.stats["failures"] == 0


def test_a_password_is_exchanged_for_a_token_with_the_form_grant():
    seen = []

    def handler(request):
        seen.append(request)
        if request.url.path == "/api/token":
            return httpx.Response(200, json={"access_token": "issued-1", "refresh_token": "r"})
        return page([{"Id": 1}])

    api = client(handler, credentials=Credentials(username="ada@example.com", password=PASSWORD))
    api.search(CREDIT)
    token_request, search = seen
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert dict(httpx.QueryParams(token_request.content.decode())) == {
        "grant_type": "password",
        "username": "ada@example.com",
        "password": PASSWORD,
    }
    assert search.headers["Authorization"] == "Bearer issued-1"


def test_an_expired_token_is_refreshed_once():
    seen = []

    def handler(request):
        seen.append(request)
        if request.url.path == "/api/token":
            return httpx.Response(200, json={"access_token": "fresh", "refresh_token": "r2"})
        if request.headers["Authorization"] == f"Bearer {TOKEN}":
            return httpx.Response(401)
        return page([{"Id": 1}])

    api = client(handler, credentials=Credentials(token=TOKEN, username="u", password=PASSWORD))
    assert api.search(CREDIT).count == 1
    assert [r.url.path for r in seen] == [
        "/api/billing/coworkerbookingcredits",
        "/api/token",
        "/api/billing/coworkerbookingcredits",
    ]


@pytest.mark.parametrize(
    "credentials", [Credentials(token=TOKEN), Credentials(username="u", password=PASSWORD)]
)
def test_a_401_that_persists_names_the_entity_and_the_role(credentials):
    def handler(request):
        if request.url.path == "/api/token":
            return httpx.Response(200, json={"access_token": "fresh"})
        return httpx.Response(
            401, json={"Message": "Authorization has been denied for this request."}
        )

    with pytest.raises(recon.errors.AccessDenied) as raised:
        client(handler, credentials=credentials).search(CREDIT_USE)
    assert raised.value.role == "CoworkerBookingCreditUseHistory-List"
    assert "needs the role CoworkerBookingCreditUseHistory-List" in str(raised.value)


def test_bad_credentials_are_a_credentials_error():
    def handler(request):
        return httpx.Response(
            400,
            json={
                "error": "invalid_grant",
                "error_description": "The user name or password is incorrect.",
            },
        )

    with pytest.raises(recon.errors.CredentialsError) as raised:
        client(handler, credentials=Credentials(username="u", password=PASSWORD)).search(CREDIT)
    assert "The user name or password is incorrect" in str(raised.value)


def test_no_credentials_in_the_environment():
    with pytest.raises(
        recon.errors.CredentialsError, match="set NEXUDUS_TOKEN, or NEXUDUS_USERNAME"
    ):
        Credentials.from_environment({})


def test_secrets_appear_in_no_message_or_repr():
    credentials = Credentials(token=TOKEN, username="u", password=PASSWORD)
    texts = [repr(credentials), str(credentials)]
    for status in (401, 500, 404):
        try:
            client(
                lambda r, s=status: httpx.Response(s, text=f"{TOKEN} {PASSWORD}"),
                credentials=credentials,
                attempts=1,
            ).search(CREDIT)
        except recon.ReconError as exc:
            texts.append(str(exc))
    assert len(texts) == 5
    assert not any(TOKEN in text or PASSWORD in text for text in texts)


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"null", "not a page envelope but a JSON null"),
        (b" null\n", "not a page envelope but a JSON null"),
        (b"[]", "not a page envelope but a JSON array"),
        (b"42", "not a page envelope but a JSON number"),
        (b'"OK"', "not a page envelope but a JSON string"),
        (b"true", "not a page envelope but a JSON boolean"),
        (b"", "not JSON"),
        (b'{"Records": null}', "Records is a JSON null, not a list"),
        (b'{"Records": 5}', "Records is a JSON number, not a list"),
        (b'{"Records": {"Id": 1}}', "Records is a JSON object, not a list"),
        (b'{"Records": []} null', "not JSON"),
    ],
)
def test_a_body_that_is_not_a_page_is_retried_then_one_clear_error(body, said):
    """Never handed to pyarrow's JSON reader when it is not an object: 'null' crashes it."""
    for schema in (readers.typed_schema(CREDIT), None):  # the walk's parse, and the checks'
        api = client(lambda r: httpx.Response(200, content=body), attempts=2)
        with pytest.raises(recon.errors.ApiUnavailable) as raised:
            api.search(CREDIT, records_schema=schema)
        assert said in str(raised.value) and "2 tries failed" in str(raised.value)
        assert api.stats["requests"] == 2
