"""``python -m recon``: the same as the ``recon`` command."""

import sys

from .cli import main

sys.exit(main())
