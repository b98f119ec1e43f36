"""moto's copy of AWS's managed policies, read from its file only when something uses it.

``moto.iam.models`` imports the text of every AWS managed policy, a 4.6 MiB
string (``moto/iam/aws_managed_policies.py``), and keeps it for the life of
the process. moto reads it only when told to load AWS's managed policies into
IAM (``MOTO_IAM_LOAD_MANAGED_POLICIES`` or moto's config; the emulator sets
neither: IAM starts with no policies, as moto's default) and in SSO Admin. So
the emulator drops the text and reads it again from moto's module when either
asks for it: moto's answers are the same, the process 4.5 MiB smaller.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

import moto.iam.aws_managed_policies as policies_module
import moto.iam.models as iam_models

NAME = "aws_managed_policies_data"
_MODULE = policies_module.__name__
_lock = threading.Lock()  # the text is lent to moto's IAM module while a backend loads it


def managed_policies_text() -> str:
    """The text moto's module holds, read again from it (its cached bytecode)."""
    spec = importlib.util.find_spec(_MODULE)
    if spec is None or spec.loader is None:  # pragma: no cover - moto is installed
        raise ImportError(_MODULE)
    namespace: dict[str, Any] = {}
    exec(spec.loader.get_code(_MODULE), namespace)  # noqa: S102 - moto's own module
    return namespace[NAME]


def _module_getattr(name: str) -> str:
    """``from moto.iam.aws_managed_policies import aws_managed_policies_data`` (SSO Admin)."""
    if name == NAME:
        return managed_policies_text()
    raise AttributeError(f"module {_MODULE!r} has no attribute {name!r}")


_original_init_aws_policies = iam_models.IAMBackend._init_aws_policies


def _init_aws_policies(self: iam_models.IAMBackend) -> list[Any]:
    """moto's ``IAMBackend._init_aws_policies`` with the text lent to it for the call."""
    if not iam_models.load_iam_aws_managed_policies():
        return []
    with _lock:
        setattr(iam_models, NAME, managed_policies_text())
        try:
            return _original_init_aws_policies(self)
        finally:
            delattr(iam_models, NAME)


def apply() -> None:
    """Drop the text from memory; moto reads it again when it uses it (idempotent)."""
    if iam_models.IAMBackend._init_aws_policies is _init_aws_policies:
        return
    iam_models.IAMBackend._init_aws_policies = _init_aws_policies  # type: ignore[method-assign]
    policies_module.__getattr__ = _module_getattr  # type: ignore[attr-defined]
    for module in (iam_models, policies_module):
        if NAME in vars(module):
            delattr(module, NAME)
