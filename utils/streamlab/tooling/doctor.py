"""``streamlab doctor``: is this machine ready for the labs? One line per check.

Each check prints PASS or FAIL with the fix, and the exit status says whether
everything passed, so instructors can run it on every laptop before a workshop.
What doctor could not check (no right to simulate the policy, to read the
account's settings) is never a PASS: it prints ``----  name: not checked: why``
and the exit status is 2.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import botocore.exceptions
from packaging.requirements import Requirement

from streamlab.aws.roles import permissions_boundary
from streamlab.config import LabConfig, load_config
from streamlab.errors import LabError
from streamlab.tooling.participant_policy import lab_actions, sample_requests, with_implied

MIN_PYTHON = (3, 10)
CORE_PACKAGES = ("boto3", "moto", "jupyterlab", "ipywidgets", "psutil")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    checked: bool = True  # False: doctor could not tell (``detail`` says why); never a pass

    def line(self) -> str:
        if not self.checked:
            return f"----  {self.name}: not checked: {self.detail}"
        return f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def not_checked(name: str, why: str) -> Check:
    """A check doctor could not make: neither a pass nor a failure of the laptop."""
    return Check(name, False, why, checked=False)


def _declared_requirements() -> dict[str, Requirement]:
    requirements = {}
    for text in metadata.requires("streamlab") or []:
        requirement = Requirement(text)
        if requirement.marker is None:
            requirements[requirement.name.lower()] = requirement
    return requirements


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] >= MIN_PYTHON
    fix = "" if ok else f"; install Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer"
    return Check("python", ok, f"{version}{fix}")


def check_packages() -> Iterator[Check]:
    declared = _declared_requirements()
    for name in CORE_PACKAGES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            yield Check(name, False, 'not installed; run `make lab` or `pip install -e ".[dev]"`')
            continue
        requirement = declared.get(name)
        if requirement and not requirement.specifier.contains(version, prereleases=True):
            yield Check(
                name,
                False,
                f"{version} is outside {requirement.specifier}; run `make lab` to update",
            )
        else:
            yield Check(name, True, version)


def check_local(config: LabConfig) -> Iterator[Check]:
    from streamlab.local import control

    yield Check("endpoint", True, f"{config.endpoint} (loopback only)")
    try:
        health = control.start(config.port)
    except LabError as exc:
        yield Check("emulator", False, str(exc))
        return
    yield Check(
        "emulator",
        True,
        f"version {health.info.get('version')}, pid {health.info.get('pid')}, port {config.port}",
    )
    yield from _round_trip(config)


def _round_trip(config: LabConfig) -> Iterator[Check]:
    from streamlab.aws.session import connect

    try:
        lab = connect(config, start_emulator=False)
        identity = lab.sts.get_caller_identity()
        lab.dynamodb.list_tables(Limit=1)
    except LabError as exc:
        yield Check("api", False, str(exc))
        return
    except Exception as exc:  # any AWS or network failure becomes one line
        yield Check("api", False, f"{type(exc).__name__}: {exc}")
        return
    yield Check("identity", True, f"account {identity['Account']}, {identity['Arn']}")


def check_aws(config: LabConfig) -> Iterator[Check]:
    from streamlab.aws.session import aws_session, connect

    try:
        session = aws_session(config.region)
    except LabError as exc:
        yield Check("credentials", False, str(exc))
        return
    credentials = session.get_credentials()
    yield Check("credentials", True, f"found ({credentials.method})")
    try:
        lab = connect(config, start_emulator=False)
    except LabError as exc:  # e.g. a prefix the whole room would share
        yield Check("prefix", False, str(exc))
        return
    yield Check("prefix", True, f"{lab.prefix!r} (from {lab.config.prefix_source})")
    yield _guarded("regions", lambda: check_regions(lab))
    yield from _round_trip(lab.config)
    yield _guarded("lambda concurrency", lambda: check_lambda_concurrency(lab))
    try:
        yield _guarded("permissions", lambda: check_permissions(lab, lab_actions()))
    except LabError as exc:
        yield Check("permissions", False, str(exc))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"[:300]


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """A check that broke in an unforeseen way is "not checked" in one line, not a traceback."""
    try:
        return check()
    except LabError:
        raise
    except Exception as exc:  # noqa: BLE001 - doctor must finish and print every line
        return not_checked(name, _first_line(exc))


def check_regions(lab: Any) -> Check:
    """Lab 06 needs a second region, other than the lab's, that this account can use."""
    region, replica = lab.region, lab.config.replica_region
    if not replica or replica == region:
        return Check(
            "regions",
            False,
            f"lab {region}, replica {replica or 'none'}: set LAB_REPLICA_REGION to another "
            "region, e.g. us-west-2",
        )
    try:
        lab.client("dynamodb", replica).list_tables(Limit=1)
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code in ("AccessDeniedException", "AccessDenied"):
            return not_checked("regions", f"lab {region}, replica {replica}; {code} in {replica}")
        return Check(
            "regions",
            False,
            f"lab {region}, replica {replica} cannot be used ({code}): enable the region in "
            "the account, or set LAB_REPLICA_REGION to one that is",
        )
    except botocore.exceptions.BotoCoreError as exc:
        return not_checked("regions", f"lab {region}, replica {replica}; {exc}")
    return Check("regions", True, f"lab {region}, replica {replica} (lab 06)")


def check_lambda_concurrency(lab: Any) -> Check:
    """A low account concurrency quota makes functions queue (and totals lag) for the room."""
    from streamlab.aws.account import ENOUGH_CONCURRENCY, QUOTA_ADVICE

    try:
        limit = lab.lambda_.get_account_settings().get("AccountLimit", {})
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        why = (
            "this identity may not call lambda:GetAccountSettings"
            if "AccessDenied" in code
            else "lambda:GetAccountSettings failed"
        )
        return not_checked("lambda concurrency", f"{code}: {why}")
    except botocore.exceptions.BotoCoreError as exc:
        return not_checked("lambda concurrency", str(exc))
    total = limit.get("ConcurrentExecutions")
    if total is None:
        return not_checked("lambda concurrency", "the account settings name no quota")
    unreserved = limit.get("UnreservedConcurrentExecutions", total)
    detail = f"{total} concurrent executions for the account ({unreserved} unreserved)"
    if int(total) < ENOUGH_CONCURRENCY:
        return Check(
            "lambda concurrency",
            False,
            f"{detail}: below {ENOUGH_CONCURRENCY}, the labs' functions queue behind each other "
            f"and totals lag; {QUOTA_ADVICE}",
        )
    return Check("lambda concurrency", True, detail)


def principal_arn(caller_arn: str, role_path: str = "/") -> str:
    """The IAM principal to simulate: an assumed role's session ARN becomes the role's ARN.

    An STS ARN drops the role's path, which IAM needs: IAM Identity Center (SSO)
    roles live under ``/aws-reserved/sso.amazonaws.com/``; ``role_path`` puts it back.
    """
    if ":assumed-role/" in caller_arn:
        account = caller_arn.split(":")[4]
        role = caller_arn.split(":assumed-role/")[1].split("/")[0]
        return f"arn:aws:iam::{account}:role{role_path}{role}"
    return caller_arn


def _context_entries(context: dict[str, Any]) -> list[dict[str, Any]]:
    """A request's condition keys in SimulatePrincipalPolicy's shape."""
    entries = []
    for key, value in sorted(context.items()):
        many = isinstance(value, (list, tuple))
        entries.append(
            {
                "ContextKeyName": key,
                "ContextKeyValues": [str(v) for v in value] if many else [str(value)],
                "ContextKeyType": "stringList" if many else "string",
            }
        )
    return entries


SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"


def resolve_principal(lab: Any, caller_arn: str) -> str:
    """The caller's IAM principal ARN with its real path (read with iam:GetRole if allowed)."""
    if ":assumed-role/" not in caller_arn:
        return caller_arn
    role = caller_arn.split(":assumed-role/")[1].split("/")[0]
    try:
        return str(lab.iam.get_role(RoleName=role)["Role"]["Arn"])
    except botocore.exceptions.ClientError:
        path = SSO_ROLE_PATH if role.startswith("AWSReservedSSO_") else "/"
        return principal_arn(caller_arn, path)


def check_permissions(lab: Any, actions: list[str]) -> Check:
    """Simulate the caller's policies against what the labs call: each action on the ARN
    shape AWS authorises it on (a function, a mapping, a stream ...) under the prefix,
    with the condition keys the kit's calls carry (the role's boundary, PassRole's
    service, a mapping's function, the kit's tags)."""
    identity = lab.sts.get_caller_identity()
    source = resolve_principal(lab, identity["Arn"])
    actions = sorted(with_implied(actions))
    by_request: dict[tuple[str, str], list[str]] = defaultdict(list)
    for action in actions:
        for request in sample_requests(
            action, lab.prefix, lab.region, identity["Account"], permissions_boundary()
        ):
            key = (request.resource, json.dumps(dict(request.context), sort_keys=True))
            by_request[key].append(action)
    denied: list[str] = []
    try:
        for (resource, context), names in sorted(by_request.items()):
            paginator = lab.iam.get_paginator("simulate_principal_policy")
            entries = _context_entries(json.loads(context))
            extra = {"ContextEntries": entries} if entries else {}
            for page in paginator.paginate(
                PolicySourceArn=source, ActionNames=names, ResourceArns=[resource], **extra
            ):
                denied += [
                    result["EvalActionName"]
                    for result in page["EvaluationResults"]
                    if result["EvalDecision"] != "allowed"
                ]
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        return not_checked(
            "permissions",
            f"{code}: this identity may not call iam:SimulatePrincipalPolicy for {source}; "
            "ask your instructor whether lab_guide/iam/participant-policy.json is attached "
            f"with PREFIX={lab.prefix!r}",
        )
    except Exception as exc:  # noqa: BLE001 - an unreadable answer: say so, never pass
        return not_checked("permissions", f"the policy simulation failed: {_first_line(exc)}")
    if denied:
        shown = ", ".join(sorted(denied)[:5]) + (" ..." if len(denied) > 5 else "")
        return Check(
            "permissions",
            False,
            f"{len(denied)} of {len(actions)} lab actions denied ({shown}); attach "
            f"lab_guide/iam/participant-policy.json with PREFIX={lab.prefix!r}",
        )
    return Check("permissions", True, f"all {len(actions)} lab actions allowed for {source}")


def run_checks(config_loader: Callable[[], LabConfig] = load_config) -> list[Check]:
    checks = [check_python(), *check_packages()]
    try:
        config = config_loader()
    except LabError as exc:
        return [*checks, Check("settings", False, str(exc))]
    prefix = "(from your AWS identity)" if config.prefix_pending else repr(config.prefix)
    checks.append(
        Check(
            "backend",
            True,
            f"{config.backend}, region {config.region or '(from profile)'}, prefix {prefix}",
        )
    )
    checks.extend(check_local(config) if config.is_local else check_aws(config))
    return checks


def main() -> int:
    checks = run_checks()
    for check in checks:
        print(check.line())
    failed = [check for check in checks if check.checked and not check.ok]
    unchecked = [check for check in checks if not check.checked]
    if failed:
        extra = f", {len(unchecked)} not checked" if unchecked else ""
        print(f"{len(failed)} check(s) failed{extra}")
        return 1
    if unchecked:
        print(f"{len(unchecked)} check(s) not checked (see why above); the others passed")
        return 2
    print("all checks passed")
    return 0
