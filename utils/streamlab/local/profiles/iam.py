"""IAM's eventual consistency: new roles and changed role policies take seconds to reach Lambda.

On AWS a role created moments ago cannot yet be assumed by Lambda, so
``CreateFunction`` (and ``UpdateFunctionConfiguration`` with that role) fails
with ``InvalidParameterValueException``; a changed role policy reaches other
services seconds later, so a mapping created right after granting the stream
actions is refused as if the grant had not happened. Code that retries on the
documented message passes; code that does not is caught here, not on AWS.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any

from .clock import ProfileClock

ROLE_NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."
POLICY_ACTIONS = ("PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy", "DetachRolePolicy")


def _iam_backend(account_id: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account_id]["global"]


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:  # moto keeps naive UTC datetimes
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def policy_documents(role: Any) -> list[str]:
    """The role's inline and attached policy documents, as JSON text."""
    documents = [str(document) for document in role.policies.values()]
    for policy in role.managed_policies.values():
        default = next((v for v in policy.versions if v.is_default), None)
        if default is not None:
            documents.append(default.document)
    return documents


class RoleConsistency:
    """When a role becomes assumable, and which policies other services still see."""

    def __init__(self, clock: ProfileClock, moto_lock: threading.RLock) -> None:
        self.clock = clock
        self._moto_lock = moto_lock
        self._propagation: dict[str, float] = {}  # role id -> seconds after its creation
        self._history: dict[str, list[tuple[float, list[str]]]] = {}  # role id -> (until, docs)
        self._lock = threading.Lock()

    # -- new roles ----------------------------------------------------------------------
    def not_assumable(self, account_id: str, role_arn: str) -> bool:
        """True while a role this new cannot be assumed by Lambda yet (unknown roles: False)."""
        with self._moto_lock:
            try:
                role = _iam_backend(account_id).get_role_by_arn(role_arn)
            except Exception:
                return False  # moto answers for a role that does not exist
            role_id, created = role.id, _epoch(role.create_date)
        with self._lock:
            if role_id not in self._propagation:
                self._propagation[role_id] = self.clock.delay("iam.role_propagation_seconds")
            delay = self._propagation[role_id]
        return time.time() < created + delay

    # -- changed policies ------------------------------------------------------------------
    def before_policy_change(self, account_id: str, role_name: str) -> None:
        """Remember what the role allowed until its change has propagated."""
        with self._moto_lock:
            try:
                role = _iam_backend(account_id).get_role(role_name)
            except Exception:
                return
            role_id, documents = role.id, policy_documents(role)
        until = time.monotonic() + self.clock.delay("iam.policy_propagation_seconds")
        with self._lock:
            self._history.setdefault(role_id, []).append((until, documents))

    def documents_seen(self, role: Any) -> list[str] | None:
        """The role's policies as other services see them now; None: the current ones.

        Called with moto's lock held (it reads the role).
        """
        now = time.monotonic()
        with self._lock:
            history = [entry for entry in self._history.get(role.id, []) if entry[0] > now]
            if history:
                self._history[role.id] = history
            else:
                self._history.pop(role.id, None)
        return history[0][1] if history else None
