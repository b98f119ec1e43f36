"""The emulator's side of workshop participants: their keys are known, their policy enforced.

A participant is an IAM user ``streamlab-NAME`` that the owner created in this emulator
(``streamlab env --participant NAME``, ``local/participants.py``), as an instructor does
in a shared account. The emulator accepts SigV4 signatures by such a user's active
access key (besides the keys it issued to its owner), and under ``--profile aws`` it
decides every call such a key signs as IAM would: the user's attached and inline
policies, evaluated by ``local/iam/evaluator.py`` on the call's real resource ARNs and
condition keys (``local/iam/requests.py``). A call IAM would deny is answered with
AWS's AccessDenied, before it reaches moto. moto's own IAM enforcement is not used: it
ignores Resource and Condition, which is exactly what keeps participants apart.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request as HttpRequest
from werkzeug.wrappers import Response

from .actions import Action
from .auth_errors import access_denied_response
from .iam.evaluator import evaluate_all
from .iam.moto_state import ACCOUNT_ID
from .iam.requests import Call, authorisations
from .participants import USER_PREFIX

# Calls IAM never refuses: "No permissions are required to perform this operation", even
# under an explicit Deny (STS API reference, GetCallerIdentity).
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity"})


def _iam_backend() -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[ACCOUNT_ID]["global"]


def _document(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    text = unquote(value) if isinstance(value, str) and value.startswith("%7B") else value
    return json.loads(text)


def _default_version(policy: Any) -> Any:
    return next(v for v in policy.versions if v.version_id == policy.default_version_id)


class ParticipantAccess:
    """Knows participants' keys and decides their calls (see the module docstring)."""

    def __init__(self, moto_lock: Any, account_state: Any) -> None:
        self._lock = moto_lock
        self._state = account_state  # a role's boundary, a mapping's tags (local/iam/moto_state)

    def _user_of(self, access_key: str) -> Any | None:
        for name, user in list(_iam_backend().users.items()):
            if not name.startswith(USER_PREFIX):
                continue
            for key in getattr(user, "access_keys", []):
                if key.access_key_id == access_key and key.status == "Active":
                    return user
        return None

    def secret_for(self, access_key: str) -> str | None:
        """The secret of a participant's active key, or None (not a participant's)."""
        with self._lock:
            user = self._user_of(access_key)
            if user is None:
                return None
            for key in user.access_keys:
                if key.access_key_id == access_key:
                    return key.secret_access_key
        return None

    def participant_of(self, access_key: str) -> str | None:
        with self._lock:
            user = self._user_of(access_key)
        return None if user is None else user.name[len(USER_PREFIX) :]

    def policies_of(self, access_key: str) -> list[dict[str, Any]] | None:
        """The identity policies of the participant who owns ``access_key``; None if nobody."""
        with self._lock:
            user = self._user_of(access_key)
            if user is None:
                return None
            backend = _iam_backend()
            documents = [_document(text) for text in user.policies.values()]
            for arn in list(user.managed_policies):
                policy = backend.managed_policies.get(arn)
                if policy is not None:
                    documents.append(_document(_default_version(policy).document))
        return documents

    def _known_before(self, action: Action) -> dict[str, Any] | None:
        """What AWS knows before the call that the request does not say: the function of
        the mapping a Get/Update/Delete names (its ``lambda:FunctionArn``)."""
        uuid = action.params.get("UUID") if action.service == "lambda" else None
        if not uuid or action.params.get("FunctionName"):
            return None
        from moto.awslambda.models import lambda_backends

        with self._lock:
            try:
                mapping = lambda_backends[ACCOUNT_ID][action.region].get_event_source_mapping(uuid)
            except Exception:  # no such mapping: the call itself will say so
                return None
        arn = getattr(mapping, "function_arn", None)
        return {"FunctionArn": str(arn)} if arn else None

    def authorize(self, request: HttpRequest, action: Action) -> Response | None:
        """None to let the call through; AWS's AccessDenied when IAM would deny it."""
        if action.iam_action in ALWAYS_ALLOWED:
            return None
        policies = self.policies_of(action.access_key)
        if policies is None:
            return None  # the owner's, a function's or the service's keys: not a participant
        call = Call(
            action.service,
            action.operation,
            action.params,
            action.region,
            ACCOUNT_ID,
            self._known_before(action),
        )
        needed = authorisations(call, action.iam_action, self._state)
        decision = evaluate_all(needed.requests, policies)
        if decision.allowed:
            return None
        name = self.participant_of(action.access_key)
        user = f"arn:aws:iam::{ACCOUNT_ID}:user/{USER_PREFIX}{name}"
        message = (
            f"User: {user} is not authorized to perform: {action.iam_action} "
            f"({decision.reason})"
        )
        return access_denied_response(
            request.environ, request.get_data(), action.service, message
        )
