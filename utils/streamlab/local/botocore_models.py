"""One botocore model loader for the whole emulator process.

botocore parses its JSON models into Python objects: ``endpoints.json`` alone
is about 7 MiB of them, a service's API model several more. Every botocore
session has its own loader and so its own copy, and moto creates a new loader
for each service model it reads. The emulator reads the same files from
several places (moto's responses, the action recogniser, the clients of its
calls into itself), so they all read through this one loader: each file is
parsed once. The models are read-only to all of them, as they are to the
clients of one botocore session, which share its loader in just this way.
"""

from __future__ import annotations

import threading
from typing import Any

from botocore.loaders import Loader, create_loader

_lock = threading.Lock()
_loader: Loader | None = None


def shared_loader() -> Loader:
    """The process's loader (created on first use, with botocore's usual search paths)."""
    global _loader
    with _lock:
        if _loader is None:
            _loader = create_loader()
        return _loader


def use_shared_loader(botocore_session: Any) -> Any:
    """Make ``botocore_session`` read its models through the shared loader; return it."""
    botocore_session.register_component("data_loader", shared_loader())
    return botocore_session
