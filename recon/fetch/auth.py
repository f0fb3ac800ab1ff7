"""Authentication: a bearer token, obtained and refreshed as the API asks.

``NexudusAuth`` is an ``httpx.Auth`` flow, so it works with any transport:
it signs in with the form-encoded password grant on ``/api/token`` when it
has no token, and when a request gets HTTP 401 it obtains a fresh token once
(refresh grant, else password grant) and repeats the request. A 401 that
persists is left for the caller to report: the API answers 401 both for a bad
token and for a missing role.
"""

from __future__ import annotations

import threading
from collections.abc import Generator

import httpx

from ..errors import CredentialsError
from .credentials import Credentials


class TokenEndpointUnavailable(Exception):
    """The token endpoint failed in a way worth retrying (5xx, a body that is not a token)."""


class NexudusAuth(httpx.Auth):
    # httpx reads each response body before handing it to ``auth_flow`` (the token
    # endpoint's JSON is needed); a flow that overrides sync_auth_flow would skip that.
    requires_response_body = True

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
            if response.status_code == 200:
                self._accept(response)
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
        if response.status_code in (400, 401):
            raise CredentialsError(
                f"signing in to {self._token_url} failed ({_describe_refusal(response)}); "
                "check NEXUDUS_USERNAME and NEXUDUS_PASSWORD"
            )
        if response.status_code != 200:
            raise TokenEndpointUnavailable(f"HTTP {response.status_code} from {self._token_url}")
        self._accept(response)

    def _token_request(self, form: dict[str, str]) -> httpx.Request:
        # Form-encoded, not JSON: the token endpoint refuses JSON bodies.
        return httpx.Request("POST", self._token_url, data=form)

    def _accept(self, response: httpx.Response) -> None:
        try:
            answer = response.json()
            token = answer["access_token"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenEndpointUnavailable(
                f"no access_token in the answer of {self._token_url}"
            ) from exc
        self._token = token
        self._refresh_token = answer.get("refresh_token")
        self._generation += 1


def _describe_refusal(response: httpx.Response) -> str:
    try:
        answer = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(answer, dict):
        reason = answer.get("error_description") or answer.get("error")
        if isinstance(reason, str):
            return reason.rstrip(".")
    return f"HTTP {response.status_code}"
