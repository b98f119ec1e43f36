"""``python -m streamlab``: the same as the ``streamlab`` command."""

import sys

from .cli import main

sys.exit(main())
