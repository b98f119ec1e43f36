"""One botocore model loader for the whole emulator process, reading models compactly.

botocore parses its JSON models into Python objects: ``endpoints.json`` alone
is about 7 MiB of them, a service's API model one to three more. Every botocore
session has its own loader and so its own copy, and moto creates a new loader
for each service model it reads. The emulator reads the same files from
several places (moto's list of regions per backend, the action recogniser,
the clients of its calls into itself), so they read through this one loader:
each file is parsed once. The models are read-only to all of them, as they are
to the clients of one botocore session, which share its loader in just this
way. moto's service models are the shared ones too, except where moto adds its
extras to them (SQS's, S3's), which it does to a copy of its own.

Every model the process parses, the shared loader's and moto's, is parsed
compactly (``compact_models``), about a third of botocore's size:
plain dicts, no documentation (moto never reads it; the emulator shows no
docstring), names interned, and in ``endpoints.json`` no FIPS or dual-stack
``variants`` (the emulator's clients never ask for either: it drops every
``AWS_*`` setting; region lists never read them).
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import boto3
import moto.core.utils
from botocore.loaders import Loader
from moto.core.base_backend import AccountSpecificBackend
from moto.core.loaders import Loader as MotoLoader
from moto.core.loaders import moto_root

from ..aws.session import isolated_botocore_session
from .compact_models import CompactJSONFileLoader

_lock = threading.Lock()
_loader: Loader | None = None


def shared_loader() -> Loader:
    """The process's loader (created on first use, with botocore's usual search paths)."""
    global _loader
    with _lock:
        if _loader is None:
            _loader = Loader(file_loader=CompactJSONFileLoader(drop_endpoint_variants=True))
        return _loader


def use_shared_loader(botocore_session: Any) -> Any:
    """Make ``botocore_session`` read its models through the shared loader; return it."""
    botocore_session.register_component("data_loader", shared_loader())
    return botocore_session


@cache
def _moto_session() -> boto3.Session:
    return boto3.Session(botocore_session=use_shared_loader(isolated_botocore_session()))


class _MotoModelLoader(MotoLoader):
    """moto's loader (its files and extras), parsing compactly; a model to which neither
    moto nor botocore adds extras is the shared loader's very object, not a second copy
    (moto, like botocore's clients, only reads a model)."""

    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        shared = shared_loader()
        if service_name in self.list_available_services(type_name):
            version = api_version or self.determine_latest_version(service_name, type_name)
            if not _has_extras(self, service_name, type_name, version) and not _has_extras(
                shared, service_name, type_name, version
            ):
                return shared.load_service_model(service_name, type_name, version)
        return super().load_service_model(service_name, type_name, api_version)


def _has_extras(loader: Loader, service_name: str, type_name: str, api_version: str) -> bool:
    """Does ``loader`` add extras (moto's, botocore's ``sdk``) to this model?"""
    return any(True for _ in loader._find_extras(service_name, type_name, api_version))


def moto_loader() -> MotoLoader:
    """A loader as moto makes one for each model it reads (with its extras), parsing compactly."""
    return _MotoModelLoader(
        extra_search_paths=[moto_root],
        file_loader=CompactJSONFileLoader(drop_endpoint_variants=True),
    )


def share_with_moto() -> None:
    """moto lists each backend's regions from a boto3 session it keeps for the process
    (``AccountSpecificBackend.get_session``): let that session read the shared loader,
    so ``endpoints.json`` is parsed once, not once more for moto. The service models
    moto reads for its request parsers, serialisers and error shapes are the shared
    loader's, or, where moto adds extras, its own parsed compactly: moto reads their
    shapes, never their documentation."""
    AccountSpecificBackend.get_session = classmethod(lambda cls: _moto_session())
    moto.core.utils.create_loader = moto_loader
