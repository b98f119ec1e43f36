"""The one place that plugs our additions into the emulator application.

Each extension (the Lambda runtime, the event source mapping pollers) is a
module with ``install(app)``; adding one means adding it to ``EXTENSIONS``.
"""

from __future__ import annotations

import importlib

from .app import EmulatorApp

EXTENSIONS: list[str] = [
    "streamlab.local.runtime",
]


def install_extensions(app: EmulatorApp) -> None:
    for module_name in EXTENSIONS:
        importlib.import_module(module_name).install(app)
