"""Run by every kernel that ``streamlab lab`` starts (through ``PYTHONSTARTUP``).

A learner who runs a ``%%lambda_function`` cell before the notebook's first cells would
otherwise meet IPython's "Cell magic not found", which does not say what to run. Here the
magic and the kit's error display are there from the kernel's first cell on. The
learner's own ``PYTHONSTARTUP``, if any, still runs afterwards.
"""

from __future__ import annotations

import os
import runpy

USER_STARTUP_VARIABLE = "STREAMLAB_USER_PYTHONSTARTUP"


def main() -> None:
    try:
        from streamlab.jupyter.error_display import install_error_display
        from streamlab.jupyter.magics import load_magics

        load_magics()
        install_error_display()
    except Exception as exc:  # a kernel must start whatever happens here
        print(f"streamlab: the %%lambda_function magic is not loaded ({exc}); "
              "run the notebook's first cells.")
    user_startup = os.environ.get(USER_STARTUP_VARIABLE)
    if user_startup and os.path.isfile(user_startup):
        runpy.run_path(user_startup, run_name="__main__")


main()
