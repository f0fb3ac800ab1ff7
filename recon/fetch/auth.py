"""Authentication: a bearer token, obtained and refreshed as the API asks.

``NexudusAuth`` is an ``httpx.Auth`` flow, so it works with any transport:
it signs in with the form-encoded password grant on ``/api/token`` when it
has no token, and when a request gets HTTP 401 it obtains a fresh token once
(refresh grant, else password grant) and repeats the request. A 401 that
persists is left for the caller to report: the API answers 401 both for a bad
token and for a missing role.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator

import httpx

from ..errors import CredentialsError
from .credentials import Credentials


class TokenEndpointUnavailable(Exception):
    """The token endpoint failed in a way worth retrying (5xx, a body that is not a token)."""


class NexudusAuth(httpx.Auth):
    # The API's answers are streamed by the client, which caps their size and time: httpx
    # must not read them whole here. The token endpoint's answers are read in
    # ``_obtain_token``, the only place that needs a body.
    requires_response_body = False

    def __init__(self, credentials: Credentials, token_url: str) -> None:
        self._credentials = credentials
        self._token_url = token_url
        self._token = credentials.token
        self._refresh_token: str | None = None
        self._generation = 0
        # Threads share one token; the lock makes one of them renew it while the others wait.
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        with self._lock:
            generation = self._generation
            if self._token is None:
                yield from self._obtain_token()
            token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401 or not self._credentials.can_sign_in:
            return
        with self._lock:
            if self._generation == generation:  # nobody renewed it meanwhile
                yield from self._obtain_token()
            token = self._token
        request.headers["Authorization"] = f"Bearer {token}"
        yield request

    def _obtain_token(self) -> Generator[httpx.Request, httpx.Response, None]:
        if self._refresh_token is not None:
            response = yield self._token_request(
                {"grant_type": "refresh_token", "refresh_token": self._refresh_token}
            )
            body = _read(response)
            if response.status_code == 200:
                self._accept(body)
                return
        if not self._credentials.can_sign_in:
            return
        response = yield self._token_request(
            {
                "grant_type": "password",
                "username": self._credentials.username or "",
                "password": self._credentials.password or "",
            }
        )
        body = _read(response)
        if response.status_code in (400, 401):
            raise CredentialsError(
                f"signing in to {self._token_url} failed "
                f"({_describe_refusal(response.status_code, body)}); "
                "check NEXUDUS_USERNAME and NEXUDUS_PASSWORD"
            )
        if response.status_code != 200:
            raise TokenEndpointUnavailable(f"HTTP {response.status_code} from {self._token_url}")
        self._accept(body)

    def _token_request(self, form: dict[str, str]) -> httpx.Request:
        # Form-encoded, not JSON: the token endpoint refuses JSON bodies.
        return httpx.Request("POST", self._token_url, data=form)

    def _accept(self, body: bytes) -> None:
        try:
            answer = json.loads(body)
            token = answer["access_token"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            raise TokenEndpointUnavailable(
                f"no access_token in the answer of {self._token_url}"
            ) from exc
        self._token = token
        self._refresh_token = answer.get("refresh_token")
        self._generation += 1


def _read(response: httpx.Response) -> bytes:
    """A token endpoint's answer, read whole (httpx reads it again before the next request
    of the flow, so it cannot be streamed here; a token answer is a few hundred bytes)."""
    try:
        return response.read()
    except httpx.HTTPError as exc:
        raise TokenEndpointUnavailable(f"{type(exc).__name__} reading the token answer") from exc


def _describe_refusal(status: int, body: bytes) -> str:
    try:
        answer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return f"HTTP {status}"
    if isinstance(answer, dict):
        reason = answer.get("error_description") or answer.get("error")
        if isinstance(reason, str):
            return reason.rstrip(".")
    return f"HTTP {status}"
