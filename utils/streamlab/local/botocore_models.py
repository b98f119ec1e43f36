"""One botocore model loader for the whole emulator process.

botocore parses its JSON models into Python objects: ``endpoints.json`` alone
is about 7 MiB of them, a service's API model several more. Every botocore
session has its own loader and so its own copy, and moto creates a new loader
for each service model it reads. The emulator reads the same files from
several places (moto's list of regions per backend, the action recogniser,
the clients of its calls into itself), so they read through this one loader:
each file is parsed once. The models are read-only to all of them, as they are
to the clients of one botocore session, which share its loader in just this
way. (moto's own service models stay moto's: it adds its extras to them.)
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
from botocore.loaders import Loader, create_loader
from moto.core.base_backend import AccountSpecificBackend

from ..aws.session import isolated_botocore_session

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


@cache
def _moto_session() -> boto3.Session:
    return boto3.Session(botocore_session=use_shared_loader(isolated_botocore_session()))


def share_with_moto() -> None:
    """moto lists each backend's regions from a boto3 session it keeps for the process
    (``AccountSpecificBackend.get_session``): let that session read the shared loader,
    so ``endpoints.json`` is parsed once, not once more for moto."""
    AccountSpecificBackend.get_session = classmethod(lambda cls: _moto_session())
