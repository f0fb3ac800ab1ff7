"""Credentials for the Nexudus API, from the environment, and a guard that keeps them secret.

``NEXUDUS_TOKEN`` (a bearer token), or ``NEXUDUS_USERNAME`` and
``NEXUDUS_PASSWORD`` (exchanged for a token). The values never leave this
module as text: ``repr`` and ``str`` show only which kind is set, and
``redact`` scrubs them from any message built elsewhere, so a secret cannot
reach a log, a report, a manifest or an exception.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import CredentialsError

TOKEN = "NEXUDUS_TOKEN"
USERNAME = "NEXUDUS_USERNAME"
PASSWORD = "NEXUDUS_PASSWORD"


@dataclass(frozen=True)
class Credentials:
    """A bearer token, or a username and password to obtain one."""

    token: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Credentials:
        environ = os.environ if environ is None else environ
        token = environ.get(TOKEN) or None
        username, password = environ.get(USERNAME) or None, environ.get(PASSWORD) or None
        if token is None and (username is None or password is None):
            raise CredentialsError(
                f"no Nexudus credentials: set {TOKEN}, or {USERNAME} and {PASSWORD}, "
                "in the environment"
            )
        return cls(token=token, username=username, password=password)

    @property
    def can_sign_in(self) -> bool:
        return self.username is not None and self.password is not None

    def secrets(self) -> tuple[str, ...]:
        return tuple(value for value in (self.token, self.password) if value)

    def __repr__(self) -> str:
        kinds = [
            name for name, value in (("token", self.token), ("password", self.password)) if value
        ]
        return f"Credentials({', '.join(kinds)} set)"

    __str__ = __repr__


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with every secret replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
