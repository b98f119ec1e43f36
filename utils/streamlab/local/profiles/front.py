"""The aws profile's interceptor: sees every AWS call first, answers or passes it on.

It sits at the head of the emulator's interceptors. Each call is recognised
from the wire (``actions.identify``: service and operation) and handed to the
module that knows that service; when that module has nothing to say, the call
goes on to the other interceptors and moto exactly as in the default profile.
The emulator's own calls (pollers, destinations) carry the Lambda service's
key and skip the account quotas, as AWS's service calls do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

from ..actions import Action
from ..app import ACTION_KEY
from ..identities import SERVICE_ACCESS_KEY
from ..runtime.interceptor import account_for
from .functions import LambdaProfile
from .iam import POLICY_ACTIONS, RoleConsistency
from .logs import LogsProfile
from .mappings import DeletingMappings
from .tables import TableProfile
from .wire import Forward, pass_on

# Who may call what: the participant policy evaluator (issue 14, second half) plugs in
# here (``app.profile.interceptor.authorizer = ...``). It gets the request and its
# recognised action (``action.iam_action``, ``action.access_key``, ``action.region``) and
# returns a refusal (AWS's AccessDeniedException for that protocol) or None to let the
# call through. The Lambda service's own calls (pollers, destinations) never reach it;
# calls made by function code carry ``identities.FUNCTION_ACCESS_KEY``.
Authorizer = Callable[[Request, Action], Response | None]


class AwsProfileInterceptor:
    """Dispatches recognised calls to the service modules of the profile."""

    def __init__(
        self,
        forward: Callable[[Any], Forward],
        *,
        roles: RoleConsistency,
        functions: LambdaProfile,
        tables: TableProfile,
        logs: LogsProfile,
        mappings: DeletingMappings,
    ) -> None:
        self._forward = forward
        self.roles = roles
        self.functions = functions
        self.tables = tables
        self.logs = logs
        self.mappings = mappings
        self.authorizer: Authorizer | None = None

    def matches(self, environ: dict[str, Any]) -> bool:
        return environ.get(ACTION_KEY) is not None

    def handle(self, request: Request) -> Response:
        action: Action = request.environ[ACTION_KEY]
        forward = self._forward(self)
        if self.authorizer is not None and action.access_key != SERVICE_ACCESS_KEY:
            refusal = self.authorizer(request, action)
            if refusal is not None:
                return refusal
        answer = self._answer(action, request, forward)
        if answer is not None:
            return answer
        return pass_on(forward, request).response()

    def _answer(self, action: Action, request: Request, forward: Forward) -> Response | None:
        operation = action.operation
        if action.access_key == SERVICE_ACCESS_KEY and operation != "Invoke":
            return None  # the Lambda service's own calls: no account quotas, no delays
        account_id = account_for(action.access_key, request.headers)
        region = action.region
        if action.service == "iam":
            if operation in POLICY_ACTIONS:
                role_name = parse_qs(request.get_data(as_text=True)).get("RoleName", [""])[0]
                if role_name:
                    self.roles.before_policy_change(account_id, role_name)
            return None
        if action.service == "lambda":
            if operation.endswith("EventSourceMapping") or operation == "ListEventSourceMappings":
                return self.mappings.handle(operation, request, forward)
            return self.functions.handle(operation, request, forward, account_id, region)
        if action.service == "dynamodb":
            return self.tables.handle(operation, request, forward, account_id, region)
        if action.service == "logs":
            return self.logs.handle(operation, request, forward, account_id, region)
        return None
