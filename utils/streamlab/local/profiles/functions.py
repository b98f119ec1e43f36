"""Lambda as a new AWS account sees it: roles that are not assumable yet, updates that
take time, and an account concurrency quota of 10.

* ``CreateFunction`` / ``UpdateFunctionConfiguration`` with a role created
  seconds ago: ``InvalidParameterValueException`` (see ``iam``);
* an update while the function is ``Pending`` or its last update
  ``InProgress``: ``ResourceConflictException`` (``runtime.states`` draws
  those periods from the profile's figures; Invoke of a Pending function is
  already refused by the runtime);
* at most ``lambda.account_concurrency`` synchronous invocations at once in an
  account: ``TooManyRequestsException`` (``Reason:
  ConcurrentInvocationLimitExceeded``). The pollers invoke over the same API,
  so a throttled mapping backs off and retries without counting a retry, as
  Lambda's pollers do. ``GetAccountSettings`` reports the quota, and reserved
  concurrency may not leave fewer than 10 unreserved executions.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict
from typing import Any
from urllib.parse import unquote

from werkzeug.wrappers import Request, Response

from ..runtime.api_errors import too_many_requests
from ..runtime.interceptor import error_response
from .clock import ProfileClock
from .iam import ROLE_NOT_ASSUMABLE, RoleConsistency
from .wire import Forward, lambda_error, pass_on, request_json

FUNCTION_PATH = re.compile(r"^/20\d\d-\d\d-\d\d/functions/(?P<name>[^/]+)/(?P<what>[a-z-]+)/?$")
CREATE_PATH = re.compile(r"^/2015-03-31/functions/?$")
ACCOUNT_SETTINGS_PATH = re.compile(r"^/2016-08-19/account-settings/?$")


def _function_name(path: str) -> str | None:
    match = FUNCTION_PATH.match(path)
    if not match:
        return None
    name = unquote(match.group("name"))
    return name.split(":function:", 1)[-1].split(":")[0] if ":" in name else name


class LambdaProfile:
    """The Lambda API calls the profile changes (matched by method and path)."""

    def __init__(
        self, clock: ProfileClock, roles: RoleConsistency, moto_lock: threading.RLock
    ) -> None:
        self.clock = clock
        self.roles = roles
        self._moto_lock = moto_lock
        self.quota = int(clock.value("lambda.account_concurrency"))
        self.minimum_unreserved = int(clock.value("lambda.minimum_unreserved_concurrency"))
        self._running: dict[str, int] = defaultdict(int)  # account -> invocations in flight
        self._lock = threading.Lock()

    def handle(
        self, operation: str, request: Request, forward: Forward, account_id: str, region: str
    ) -> Response | None:
        """The profile's answer, or None to let the emulator answer as usual."""
        if operation == "Invoke":
            return self._invoke(request, forward, account_id)
        if operation == "CreateFunction":
            return self._role_refusal(request_json(request), account_id)
        if operation in ("UpdateFunctionConfiguration", "UpdateFunctionCode"):
            name = _function_name(request.path)
            busy = name and self._update_conflict(account_id, region, name)
            if busy:
                return lambda_error("ResourceConflictException", busy, 409)
            if operation == "UpdateFunctionConfiguration":
                return self._role_refusal(request_json(request), account_id)
            return None
        if operation == "PutFunctionConcurrency":
            return self._reserve(request, account_id, region)
        if operation == "GetAccountSettings":
            return self._account_settings(request, forward, account_id, region)
        return None

    # -- roles and updates -------------------------------------------------------------
    def _role_refusal(self, spec: dict[str, Any], account_id: str) -> Response | None:
        role = spec.get("Role")
        if isinstance(role, str) and self.roles.not_assumable(account_id, role):
            return lambda_error("InvalidParameterValueException", ROLE_NOT_ASSUMABLE)
        return None

    def _function(self, account_id: str, region: str, name: str) -> Any:
        from moto.awslambda.models import lambda_backends

        try:
            return lambda_backends[account_id][region].get_function(name)
        except Exception:
            return None

    def _update_conflict(self, account_id: str, region: str, name: str) -> str | None:
        """AWS's message when the function cannot be updated yet, else None."""
        now = time.monotonic()
        with self._moto_lock:
            function = self._function(account_id, region, name)
            if function is None:
                return None  # moto answers ResourceNotFoundException
            arn = function.function_arn
            pending = now < getattr(function, "_lab_ready_at", 0.0)
            updating = now < getattr(function, "_lab_updated_at", 0.0)
        if pending:
            return (
                "The operation cannot be performed at this time. "
                "The function is currently in the following state: Pending"
            )
        if updating:
            return (
                "The operation cannot be performed at this time. "
                f"An update is in progress for resource: {arn}"
            )
        return None

    # -- concurrency ---------------------------------------------------------------------
    def _invoke(self, request: Request, forward: Forward, account_id: str) -> Response:
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind != "RequestResponse":
            return pass_on(forward, request).response()
        with self._lock:
            if self._running[account_id] >= self.quota:
                return error_response(too_many_requests("ConcurrentInvocationLimitExceeded"))
            self._running[account_id] += 1
        try:
            return pass_on(forward, request).response()
        finally:
            with self._lock:
                self._running[account_id] -= 1

    def _reserved_elsewhere(self, account_id: str, region: str, name: str | None) -> int:
        from moto.awslambda.models import lambda_backends

        total = 0
        with self._moto_lock:
            for function in lambda_backends[account_id][region].list_functions():
                reserved = getattr(function, "reserved_concurrency", None)
                if function.function_name != name and reserved not in (None, ""):
                    total += int(reserved)
        return total

    def _reserve(self, request: Request, account_id: str, region: str) -> Response | None:
        wanted = request_json(request).get("ReservedConcurrentExecutions")
        name = _function_name(request.path)
        if not isinstance(wanted, int) or name is None:
            return None
        unreserved = self.quota - self._reserved_elsewhere(account_id, region, name) - wanted
        if unreserved < self.minimum_unreserved:
            return lambda_error(
                "InvalidParameterValueException",
                "Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of "
                f"[{self.minimum_unreserved}].",
            )
        return None

    def _account_settings(
        self, request: Request, forward: Forward, account_id: str, region: str
    ) -> Response:
        """AWS's account settings with this account's quota (moto 5.2 has no such call)."""
        answer = pass_on(forward, request)
        payload = answer.json() if answer.status == 200 else None
        if not isinstance(payload, dict):
            payload = self._usage(account_id, region)
        limit = dict(payload.get("AccountLimit") or {})
        limit["ConcurrentExecutions"] = self.quota
        limit["UnreservedConcurrentExecutions"] = self.quota - self._reserved_elsewhere(
            account_id, region, None
        )
        payload["AccountLimit"] = limit
        return Response(json.dumps(payload), status=200, mimetype="application/json")

    def _usage(self, account_id: str, region: str) -> dict[str, Any]:
        from moto.awslambda.models import lambda_backends

        with self._moto_lock:
            functions = list(lambda_backends[account_id][region].list_functions())
            total = sum(int(getattr(f, "code_size", 0) or 0) for f in functions)
        return {
            "AccountLimit": {
                "TotalCodeSize": 80530636800,  # 75 GB (gettingstarted-limits.html)
                "CodeSizeUnzipped": 262144000,
                "CodeSizeZipped": 52428800,
            },
            "AccountUsage": {"TotalCodeSize": total, "FunctionCount": len(functions)},
        }
