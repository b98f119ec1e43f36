"""``python -m streamlab``: the same as the ``streamlab`` command."""

import sys

from streamlab.tooling.cli import main

sys.exit(main())
