"""Deploy a Lambda function from the text of a notebook cell.

The cell's text becomes the function's module, byte for byte: it is zipped in
memory (no files on disk that could drift from the notebook), given an
execution role with a least-privilege policy, and created or updated. Running
the same cell again converges the function to that cell: new code, new
settings, new permissions. The waits and retries that real AWS needs (IAM
propagation, ``Pending`` -> ``Active``, ``InProgress`` -> ``Successful``) are
done here so that the next cell can invoke the function at once on either
backend.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import botocore.exceptions

from streamlab.aws import roles
from streamlab.aws.logs import ensure_log_group
from streamlab.aws.session import Lab
from streamlab.aws.waiting import Wait
from streamlab.errors import LabError

DEFAULT_HANDLER = "handler.lambda_handler"
DEFAULT_RUNTIME = "python3.12"
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128
ROLE_NOT_ASSUMABLE = "cannot be assumed by Lambda"
#: How long to keep retrying while a new role propagates through IAM (AWS: 5-30 s).
ROLE_PROPAGATION_SECONDS = 90.0
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same cell text gives the same CodeSha256
_HANDLER = re.compile(
    r"^(?P<module>[A-Za-z_][\w/]*(?:\.[A-Za-z_]\w*)*)\.(?P<function>[A-Za-z_]\w*)$"
)
_CONFIG_FIELDS = ("Handler", "Runtime", "Timeout", "MemorySize", "Role", "Description")

T = TypeVar("T")


@dataclass
class Deployment:
    """What a deploy did: ``action`` is ``created``, ``updated`` or ``unchanged``."""

    configuration: dict[str, Any]
    action: str
    role_arn: str
    policy: dict[str, Any] = field(repr=False)

    @property
    def function_name(self) -> str:
        return self.configuration["FunctionName"]

    @property
    def function_arn(self) -> str:
        return self.configuration["FunctionArn"]

    def summary(self) -> str:
        c = self.configuration
        return (
            f"{c['FunctionName']} {self.action}: {c['Handler']} on {c['Runtime']}, "
            f"{c['MemorySize']} MB, timeout {c['Timeout']} s, "
            f"role {self.role_arn.rsplit('/', 1)[-1]}, state {c.get('State', '?')}"
        )

    def __str__(self) -> str:
        return self.summary()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.summary())


def module_file(handler: str) -> str:
    """The file Lambda imports for ``handler``: ``handler.lambda_handler`` -> ``handler.py``."""
    match = _HANDLER.match(handler)
    if not match:
        raise LabError(
            f"Handler {handler!r} is not MODULE.FUNCTION: use for example "
            f"{DEFAULT_HANDLER!r} (the cell becomes handler.py, its lambda_handler runs)."
        )
    return match["module"].replace(".", "/") + ".py"


def build_zip(code: str, handler: str = DEFAULT_HANDLER) -> bytes:
    """A deployment package holding ``code`` as the handler's module, built in memory.

    Timestamps and permissions are fixed so the same text always gives the same
    bytes (and the same ``CodeSha256``), which lets a re-run skip a no-op update.
    """
    info = zipfile.ZipInfo(module_file(handler), date_time=_ZIP_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(info, code.encode("utf-8"))
    return buffer.getvalue()


def code_sha256(package: bytes) -> str:
    """Lambda's ``CodeSha256``: the base64 of the package's SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode("ascii")


def table_variable(table: str) -> str:
    """The variable that tells the code a table's full name.

    ``GameScoresByUser`` -> ``GAME_SCORES_BY_USER_TABLE``, so a handler reads
    ``os.environ["GAME_SCORES_BY_USER_TABLE"]`` and never hard-codes the prefix.
    """
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|[^A-Za-z0-9]+", "_", table).strip("_").upper()
    return f"{snake}_TABLE"


def call_with_role_retry(
    call: Callable[[], T],
    *,
    deadline_seconds: float = ROLE_PROPAGATION_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``call``, retrying while Lambda cannot yet assume a freshly created role.

    On AWS a new role takes seconds to reach Lambda, and ``CreateFunction`` fails
    meanwhile with "The role defined for the function cannot be assumed by
    Lambda."; any other error is raised at once.
    """
    wait = Wait(
        "Lambda to be able to assume the new execution role (IAM propagation)",
        deadline_seconds,
        "",
        interval=1.0,
        backoff=2.0,
        max_interval=8.0,
        clock=clock,
        sleep=sleep,
    )
    while True:
        try:
            return call()
        except botocore.exceptions.ClientError as exc:
            message = exc.response.get("Error", {}).get("Message", "")
            if ROLE_NOT_ASSUMABLE not in message:
                raise
            now = wait.now()
            if wait.remaining(now) < wait.interval:
                raise LabError(
                    f"Lambda still cannot assume the execution role after "
                    f"{deadline_seconds:.0f} s: check that the role exists and trusts "
                    "lambda.amazonaws.com, then run the cell again."
                ) from None
            wait.pause("AWS says the role cannot be assumed yet", now=now)


def deploy_function(
    lab: Lab,
    name: str,
    code: str,
    *,
    handler: str = DEFAULT_HANDLER,
    runtime: str = DEFAULT_RUNTIME,
    timeout: int = DEFAULT_TIMEOUT,
    memory: int = DEFAULT_MEMORY,
    tables: Sequence[str] = (),
    streams: Sequence[str] = (),
    queues: Sequence[str] = (),
    topics: Sequence[str] = (),
    environment: Mapping[str, str] | None = None,
    description: str = "",
    statements: Iterable[Mapping[str, Any]] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> Deployment:
    """Create or update the function ``lab.name(name)`` so that it runs exactly ``code``.

    ``tables``, ``streams``, ``queues`` and ``topics`` are base names (the lab
    prefix is added): the role may use those tables' items, read those tables'
    streams, and send to those queues and topics, and nothing else. Each table
    is also passed to the code as an environment variable (see
    ``table_variable``), so the handler never hard-codes a prefix.
    """
    _check_settings(timeout, memory)
    function_name = lab.name(name)
    package = build_zip(code, handler)
    full_tables = [lab.name(t) for t in tables]
    variables = {table_variable(t): lab.name(t) for t in tables}
    variables.update(environment or {})
    policy = roles.execution_policy(
        lab,
        function_name,
        tables=full_tables,
        streams=[lab.name(t) for t in streams],
        queues=[lab.name(q) for q in queues],
        topics=[lab.name(t) for t in topics],
        statements=statements,
    )
    role_arn, role_status = roles.ensure_execution_role(
        lab, function_name, policy, boundary=roles.permissions_boundary()
    )
    wanted = {
        "Handler": handler,
        "Runtime": runtime,
        "Timeout": timeout,
        "MemorySize": memory,
        "Role": role_arn,
        "Description": description,
        "Environment": {"Variables": dict(variables)},
    }
    client = lab.lambda_
    try:
        current = client.get_function_configuration(FunctionName=function_name)
    except client.exceptions.ResourceNotFoundException:
        current = None
    if current is None:
        call_with_role_retry(
            lambda: client.create_function(
                FunctionName=function_name,
                Code={"ZipFile": package},
                Tags=roles.lab_tags(lab),
                Publish=False,
                **wanted,
            ),
            sleep=sleep,
        )
        _wait(lab, "function_active_v2", function_name, "become Active")
        action = "created"
    else:
        action = _update(lab, function_name, current, package, wanted, sleep)
        if role_status != "unchanged":
            action = "updated"  # new permissions are a change to the function too
    ensure_log_group(lab, function_name)  # tagged, and kept for a day, not forever
    configuration = client.get_function_configuration(FunctionName=function_name)
    configuration.pop("ResponseMetadata", None)
    return Deployment(configuration=configuration, action=action, role_arn=role_arn, policy=policy)


def _update(
    lab: Lab,
    function_name: str,
    current: Mapping[str, Any],
    package: bytes,
    wanted: Mapping[str, Any],
    sleep: Callable[[float], None],
) -> str:
    """Bring an existing function to ``package`` and ``wanted``; one update at a time."""
    client = lab.lambda_
    changed = False
    if current.get("State") == "Pending":  # created a moment ago by an interrupted run
        _wait(lab, "function_active_v2", function_name, "become Active")
    _wait(lab, "function_updated_v2", function_name, "finish its previous update")
    if current.get("CodeSha256") != code_sha256(package):
        client.update_function_code(FunctionName=function_name, ZipFile=package)
        _wait(lab, "function_updated_v2", function_name, "finish updating its code")
        changed = True
    current_variables = current.get("Environment", {}).get("Variables", {})
    if any(current.get(k) != wanted[k] for k in _CONFIG_FIELDS if k in wanted) or (
        current_variables != wanted["Environment"]["Variables"]
    ):
        call_with_role_retry(
            lambda: client.update_function_configuration(FunctionName=function_name, **wanted),
            sleep=sleep,
        )
        _wait(lab, "function_updated_v2", function_name, "finish updating its configuration")
        changed = True
    client.tag_resource(Resource=current["FunctionArn"], Tags=roles.lab_tags(lab))
    return "updated" if changed else "unchanged"


#: What boto3's waiters of the same names look at: the field, its goal, the states on the way.
_WAITS = {
    "function_active_v2": ("State", "Active", ("Pending",), "StateReason"),
    "function_updated_v2": (
        "LastUpdateStatus",
        "Successful",
        ("InProgress",),
        "LastUpdateStatusReason",
    ),
}
#: How long a function may take to become Active or finish an update.
FUNCTION_WAIT_SECONDS = {"local": 60.0, "aws": 300.0}


def _wait(lab: Lab, waiter_name: str, function_name: str, what: str) -> None:
    """Wait like boto3's ``waiter_name`` (bounded, with progress); a failure is one line."""
    field_name, goal, on_the_way, reason_field = _WAITS[waiter_name]
    aws = lab.backend == "aws"
    wait = Wait(
        f"function {function_name} to {what}",
        FUNCTION_WAIT_SECONDS[lab.backend],
        "look at the function in the Lambda console, then run the cell again.",
        interval=1.0 if aws else 0.1,
        max_interval=5.0 if aws else 0.1,
        backoff=1.5,
        jitter=0.2 if aws else 0.0,
    )
    client = lab.lambda_
    while True:
        try:
            config = wait.look(
                lambda: client.get_function_configuration(FunctionName=function_name)
            )
        except client.exceptions.ResourceNotFoundException:
            raise LabError(
                f"Function {function_name} did not {what}: it does not exist. Deploy it (run the "
                "cell with %%lambda_function) and run this cell again."
            ) from None
        value = config.get(field_name, goal) if config is not None else None
        if value == goal:
            wait.done()
            return
        if value is not None and value not in on_the_way:
            reason = config.get(reason_field) or value
            raise LabError(
                f"Function {function_name} did not {what}: {reason}. Fix the cause and run the "
                "cell again."
            )
        wait.pause(f"still {value}" if value else "throttled")


def _check_settings(timeout: int, memory: int) -> None:
    if not 1 <= int(timeout) <= 900:
        raise LabError(f"timeout={timeout} is outside Lambda's 1-900 seconds: use e.g. 3.")
    if not 128 <= int(memory) <= 10240:
        raise LabError(f"memory={memory} is outside Lambda's 128-10240 MB: use e.g. 128.")


def delete_function(
    lab: Lab, name: str, *, delete_role: bool = True, delete_logs: bool = False
) -> bool:
    """Delete the function (and its execution role, and its log group); False if it was not there.

    Lambda keeps a deleted function's log group; a lab that starts afresh deletes it
    too, so that what it finds in the logs is from this run only. Keeping the role
    spares a re-run the wait for a new role to propagate on AWS.
    """
    function_name = lab.name(name)
    client = lab.lambda_
    try:
        client.delete_function(FunctionName=function_name)
        existed = True
    except client.exceptions.ResourceNotFoundException:
        existed = False
    if delete_role:
        roles.delete_execution_role(lab, function_name)
    if delete_logs:
        try:
            lab.logs.delete_log_group(logGroupName=f"/aws/lambda/{function_name}")
        except lab.logs.exceptions.ResourceNotFoundException:
            pass
    return existed
