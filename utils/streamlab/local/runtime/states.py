"""Function states as Lambda reports them: Pending -> Active, InProgress -> Successful.

moto marks a function ``Active`` the moment it exists. Lambda answers
``CreateFunction`` with ``State: Pending`` and an update with
``LastUpdateStatus: InProgress``; clients wait (boto3's ``function_active_v2``
and ``function_updated_v2`` waiters) and an Invoke of a Pending function fails.
We patch moto's function model at one boundary: the create and update
responses carry the in-progress states, and for ``LAB_LAMBDA_PENDING_SECONDS``
(default 0: the local runtime is ready at once) afterwards GetFunction and
GetFunctionConfiguration report them too.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LambdaFunction

_applied = False
Delay = float | Callable[[], float]  # seconds, or a function drawing them (the aws profile)
_pending_seconds: Delay = 0.0
_update_seconds: Delay = 0.0

_CREATING = {
    "State": "Pending",
    "StateReason": "The function is being created.",
    "StateReasonCode": "Creating",
}
_UPDATING = {
    "LastUpdateStatus": "InProgress",
    "LastUpdateStatusReason": "The function is being created.",
    "LastUpdateStatusReasonCode": "Creating",
}


def _wrap_init(original: Any) -> Any:
    def __init__(self: LambdaFunction, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self._lab_ready_at = time.monotonic() + _seconds(_pending_seconds)

    return __init__


def _wrap_get_configuration(original: Any) -> Any:
    def get_configuration(self: LambdaFunction, on_create: bool = False) -> dict[str, Any]:
        config = original(self, on_create)
        now = time.monotonic()
        if on_create or now < getattr(self, "_lab_ready_at", 0.0):
            config.update(_CREATING)
            if not on_create:
                config["LastUpdateStatus"] = "InProgress"
        else:
            config["State"] = "Active"
        if not on_create and now < getattr(self, "_lab_updated_at", 0.0):
            config.update(_UPDATING)
        return config

    return get_configuration


def _wrap_update(original: Any) -> Any:
    def update(self: LambdaFunction, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original(self, *args, **kwargs)
        self._lab_updated_at = time.monotonic() + _seconds(_update_seconds)
        config = dict(config)
        config.update(_UPDATING)
        return config

    return update


def _seconds(delay: Delay) -> float:
    return delay() if callable(delay) else delay


def apply(pending_seconds: Delay, update_seconds: Delay | None = None) -> None:
    """Install the state transitions (idempotent; the delays can be changed by calling again).

    ``update_seconds`` defaults to ``pending_seconds``; either may be a function that
    draws the delay for each function or update (the aws profile's seeded figures).
    """
    global _applied, _pending_seconds, _update_seconds
    _pending_seconds = pending_seconds
    _update_seconds = pending_seconds if update_seconds is None else update_seconds
    if _applied:
        return
    LambdaFunction.__init__ = _wrap_init(LambdaFunction.__init__)
    LambdaFunction.get_configuration = _wrap_get_configuration(LambdaFunction.get_configuration)
    LambdaFunction.update_configuration = _wrap_update(LambdaFunction.update_configuration)
    LambdaFunction.update_function_code = _wrap_update(LambdaFunction.update_function_code)
    _applied = True
