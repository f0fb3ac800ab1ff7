"""The evidence bundle of a month-end close (contract section 6d): writing and verifying.

By module: ``write`` (``close``: audit, close, render, stage, rename), ``presentation``
(the reports of a close), ``rules_text`` (the rule set in force as TOML), ``manifest``
(``manifest-sha256.txt``), ``previous`` (reading the close of the month before) and
``verify``. The numbers are ``recon.closing``'s; this package presents and seals them.
"""

from __future__ import annotations

from .previous import BundleError
from .verify import Verification, verify
from .write import close

__all__ = ["BundleError", "Verification", "close", "verify"]
