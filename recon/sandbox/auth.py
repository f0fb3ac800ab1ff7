"""Sign-in and credentials: ``/api/token`` grants, Bearer tokens, HTTP Basic and roles.

As the API notes describe: the token endpoint takes form-encoded password and
refresh-token grants and answers OAuth-style JSON; every API request carries
``Authorization: Bearer <token>`` or ``Basic base64(email:password)``. The
configured token is accepted without sign-in and never expires; tokens issued
here stop working ``token_ttl`` seconds after issue, whatever ``expires_in``
said (the notes warn that real tokens may expire early). A refresh token stays
valid for the life of the sandbox, bound to the ``client_id`` of its sign-in.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .config import SandboxConfig

EXPIRES_IN = 604799
DENIED = {"Message": "Authorization has been denied for this request."}


@dataclass(frozen=True)
class TokenAnswer:
    """The token endpoint's answer: HTTP status and JSON body."""

    status: int
    body: dict[str, Any]


class Accounts:
    """The one account a sandbox knows, its issued tokens, and who a request is."""

    def __init__(self, config: SandboxConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._access: dict[str, float | None] = {}  # token -> monotonic expiry (None: never)
        self._refresh: dict[str, str | None] = {}  # refresh token -> client_id at sign-in
        self.issued = 0

    def grant(self, form: dict[str, str], client_id: str | None) -> TokenAnswer:
        """Answer a token request (``form``: its decoded form fields)."""
        grant_type = form.get("grant_type", "")
        if grant_type == "password":
            username = form.get("username", "")
            password = form.get("password", "")
            if not self._is_user(username, password):
                return TokenAnswer(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "The user name or password is incorrect.",
                    },
                )
            return TokenAnswer(200, self._issue(client_id))
        if grant_type == "refresh_token":
            token = form.get("refresh_token", "")
            with self._lock:
                known = token in self._refresh
                bound = self._refresh.get(token)
            if not known:
                return TokenAnswer(
                    400, {"error": "invalid_grant", "error_description": "Invalid refresh token."}
                )
            if bound is not None and bound != client_id:
                return TokenAnswer(
                    400,
                    {
                        "error": "invalid_client",
                        "error_description": "Refresh token is issued to a different clientId.",
                    },
                )
            return TokenAnswer(200, self._issue(client_id))
        return TokenAnswer(400, {"error": "unsupported_grant_type"})

    def issued_tokens(self) -> list[str]:
        """Every access and refresh token issued so far (for tests that look for leaks)."""
        with self._lock:
            return [*self._access, *self._refresh]

    def _issue(self, client_id: str | None) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        ttl = self._config.token_ttl
        with self._lock:
            self._access[access] = None if ttl is None else self._clock() + ttl
            self._refresh[refresh] = client_id
            self.issued += 1
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": EXPIRES_IN,
            "refresh_token": refresh,
        }

    def authenticate(self, header: str | None) -> str | None:
        """The account an ``Authorization`` header signs in as, or None (then HTTP 401)."""
        if not header:
            return None
        scheme, _, credentials = header.strip().partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer":
            if hmac.compare_digest(credentials.encode(), self._config.token.encode()):
                return self._config.username
            with self._lock:
                if credentials not in self._access:
                    return None
                expiry = self._access[credentials]
            if expiry is not None and self._clock() >= expiry:
                return None
            return self._config.username
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            username, _, password = decoded.partition(":")
            return self._config.username if self._is_user(username, password) else None
        return None

    def _is_user(self, username: str, password: str) -> bool:
        # An email address: case does not matter. The password is compared in constant time.
        return username.casefold() == self._config.username.casefold() and hmac.compare_digest(
            password.encode(), self._config.password.encode()
        )

    def allows(self, role: str) -> bool:
        """Whether the account holds ``role`` (a full administrator holds every role)."""
        return self._config.roles is None or role in self._config.roles
