"""What checks read from a deployed function: its configuration, an invocation and its log.

Shared by the checks of every lab whose exercise deploys a function (03 to 06).
"""

from __future__ import annotations

import json
from typing import Any

from streamlab.aws.invoke import decode_log_result, decode_payload
from streamlab.aws.session import Lab
from streamlab.checks.exercise import fail

DEPLOY_HINT = "run the %%lambda_function cell above (its summary line says created or updated)."


def deployed_configuration(lab: Lab, name: str, exercise: str) -> dict[str, Any]:
    """The function's configuration, or a failed check that says to deploy it first."""
    client = lab.lambda_
    try:
        return client.get_function_configuration(FunctionName=lab.name(name))
    except client.exceptions.ResourceNotFoundException:
        fail(exercise, f"there is no function {lab.name(name)!r} yet.", DEPLOY_HINT)


def invoke_with_tail(lab: Lab, function_name: str, event: Any) -> tuple[dict[str, Any], Any, str]:
    """Invoke synchronously: the raw response, the parsed payload and the decoded log tail."""
    response = lab.lambda_.invoke(
        FunctionName=function_name, Payload=json.dumps(event).encode(), LogType="Tail"
    )
    payload = decode_payload(response["Payload"].read())
    return response, payload, decode_log_result(response.get("LogResult"))
