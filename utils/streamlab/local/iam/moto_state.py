"""The account facts a call's authorisation needs, read from moto's backends.

``requests`` is pure and asks a ``State`` for what a request does not say
(``PutRolePolicy`` is authorised with the role's current permissions boundary
as ``iam:PermissionsBoundary``; a mapping's operations with its tags as
``aws:ResourceTag/...``); inside the emulator that state is moto's. Tags are
read before the call (``remember``), since deleting a mapping removes them.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

ACCOUNT_ID = DEFAULT_ACCOUNT_ID


_MAPPING_OPERATIONS = {
    "GetEventSourceMapping",
    "UpdateEventSourceMapping",
    "DeleteEventSourceMapping",
}
_REMEMBERED = 256  # calls in flight at once, far more than the emulator ever serves


class MotoState:
    """Reads moto's backends under the emulator's lock (they are not thread-safe)."""

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._mapping_tags: dict[str, dict[str, str]] = {}

    def remember(
        self, service: str, operation: str, params: Mapping[str, Any], region: str
    ) -> None:
        """Before a mapping call runs: keep the mapping's tags for its authorisation."""
        uuid = str(params.get("UUID", ""))
        if service != "lambda" or operation not in _MAPPING_OPERATIONS or not uuid:
            return
        tags = self._live_mapping_tags(ACCOUNT_ID, region, uuid)
        with self._lock:
            if len(self._mapping_tags) >= _REMEMBERED:
                self._mapping_tags.pop(next(iter(self._mapping_tags)))
            self._mapping_tags[uuid] = tags

    def mapping_tags(self, account: str, region: str, uuid: str) -> dict[str, str]:
        with self._lock:
            remembered = self._mapping_tags.pop(uuid, None)
        if remembered is not None:
            return remembered
        return self._live_mapping_tags(account, region, uuid)

    def _live_mapping_tags(self, account: str, region: str, uuid: str) -> dict[str, str]:
        from moto.awslambda.models import lambda_backends

        with self._lock:
            try:
                mapping = lambda_backends[account][region].get_event_source_mapping(uuid)
            except Exception:  # an unknown region or account: no tags
                return {}
            return dict(mapping.tags or {}) if mapping is not None else {}

    def role_boundary(self, account: str, role_name: str) -> str | None:
        from moto.iam.models import iam_backends

        with self._lock:
            try:
                role = iam_backends[account]["global"].get_role(role_name)
            except Exception:  # no such role: the call fails anyway, with no boundary
                return None
            return role.permissions_boundary_arn
