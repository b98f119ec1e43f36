"""The account facts a call's authorisation needs, read from moto's IAM backend.

``requests`` is pure and asks a ``State`` for what a request does not say
(``PutRolePolicy`` is authorised with the role's current permissions boundary
as ``iam:PermissionsBoundary``); inside the emulator that state is moto's.
"""

from __future__ import annotations

import threading

from moto.core import DEFAULT_ACCOUNT_ID

ACCOUNT_ID = DEFAULT_ACCOUNT_ID


class MotoState:
    """Reads moto's backends under the emulator's lock (they are not thread-safe)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock

    def role_boundary(self, account: str, role_name: str) -> str | None:
        from moto.iam.models import iam_backends

        with self._lock:
            try:
                role = iam_backends[account]["global"].get_role(role_name)
            except Exception:  # no such role: the call fails anyway, with no boundary
                return None
            return role.permissions_boundary_arn
