"""Async invoke configuration kept as Lambda keeps it: Put replaces, Update merges.

moto stores ``PutFunctionEventInvokeConfig`` by appending to a list and
answers every later Get and Update with the first entry, so a corrected
configuration never takes effect. The runtime reads the configuration to
retry and route async events, so we make moto keep exactly one, at this
boundary: Put replaces it, Update changes only the fields given.
"""

from __future__ import annotations

from typing import Any

from moto.awslambda.models import EventInvokeConfig, LambdaBackend

_applied = False


def _put(self: LambdaBackend, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
    fn = self.get_function(function_name)
    event_config = EventInvokeConfig(fn.function_arn, fn.last_modified, config)
    fn.event_invoke_config = [event_config]
    return event_config.response()


def _update(self: LambdaBackend, function_name: str, config: dict[str, Any]) -> dict[str, Any]:
    fn = self.get_function(function_name)
    merged = dict(fn.event_invoke_config[0].config) if fn.event_invoke_config else {}
    merged.update(config)
    return _put(self, function_name, merged)


def apply() -> None:
    global _applied
    if _applied:
        return
    LambdaBackend.put_function_event_invoke_config = _put
    LambdaBackend.update_function_event_invoke_config = _update
    _applied = True
