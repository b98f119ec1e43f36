"""``connect()``: boto3 clients for the chosen backend, the same for every notebook cell.

Local: the credentials the emulator issued to this user (never the shell's real
ones) and an explicit loopback endpoint, so real credentials in the learner's
shell can never create billable resources; the user's own emulator is started
when it is not already running. aws: boto3's standard credential chain and
nothing else; no emulator is ever started.
"""

from __future__ import annotations

import dataclasses
import os
from functools import cached_property
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from streamlab.config import PREFIX_FROM_STS, LabConfig, load_config, prefix_from_identity
from streamlab.errors import CredentialsError
from streamlab.local.identities import KeyPair, issued

LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account
SERVICES = ("dynamodb", "dynamodbstreams", "lambda", "logs", "iam", "sqs", "sns", "sts", "s3")
_LOCAL_CLIENT_CONFIG = botocore.config.Config(
    retries={"max_attempts": 3, "mode": "standard"},
    proxies={},  # never send loopback traffic to a proxy from the environment
)
#: On AWS a room of learners shares the account's API rate quotas (FilterLogEvents about
#: 5 calls/s, DescribeStream 10/s, the Lambda control plane): botocore's default (standard
#: mode, 3 attempts) gives up after about a second of throttling. ``adaptive`` mode backs
#: off and rate-limits this client when throttled, and 10 attempts ride out the bursts.
AWS_MAX_ATTEMPTS = 10
AWS_CLIENT_CONFIG = botocore.config.Config(
    retries={"max_attempts": AWS_MAX_ATTEMPTS, "mode": "adaptive"},
)


def local_session(
    region: str, keys: KeyPair | None = None, botocore_session: Any = None
) -> boto3.Session:
    """A boto3 session that signs with emulator-issued ``keys`` and cannot see real ones.

    ``keys`` default to the notebook identity's (see ``local.identities``); the
    emulator refuses any request not signed by a key it issued.
    ``botocore_session`` (default: a new ``isolated_botocore_session()``) is the
    emulator's own, whose model loader its other readers share.
    """
    keys = keys or issued().notebook
    return boto3.Session(
        aws_access_key_id=keys.access_key,
        aws_secret_access_key=keys.secret_key,
        aws_session_token=None,
        region_name=region,
        botocore_session=botocore_session or isolated_botocore_session(),
    )


def isolated_botocore_session() -> Any:
    """A botocore session blind to AWS_PROFILE and the user's config and credentials files."""
    import botocore.session

    return botocore.session.Session(
        session_vars={
            "profile": (None, None, None, None),
            "config_file": (None, None, os.devnull, None),
            "credentials_file": (None, None, os.devnull, None),
        }
    )


class Lab:
    """The backend a notebook talks to: clients, resources, names and identity."""

    def __init__(self, config: LabConfig, session: boto3.Session) -> None:
        self.config = config
        self.session = session

    # -- identity -----------------------------------------------------------------
    @property
    def backend(self) -> str:
        return self.config.backend

    @property
    def region(self) -> str:
        return self.config.region

    @property
    def prefix(self) -> str:
        return self.config.prefix

    @property
    def endpoint(self) -> str | None:
        return self.config.endpoint if self.config.is_local else None

    @cached_property
    def account_id(self) -> str:
        if self.config.is_local:
            return LOCAL_ACCOUNT_ID
        return self.sts.get_caller_identity()["Account"]

    def name(self, base: str) -> str:
        """The resource name with this participant's prefix, e.g. ``alice-GameRecords``."""
        return f"{self.prefix}{base}"

    # -- clients and resources -----------------------------------------------------
    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for ``service`` (in ``region``, default the lab's region)."""
        return self.session.client(service, region_name=region or self.region, **self._extra())

    def resource(self, service: str, region: str | None = None) -> Any:
        return self.session.resource(service, region_name=region or self.region, **self._extra())

    def _extra(self) -> dict[str, Any]:
        if self.config.is_local:
            return {"endpoint_url": self.config.endpoint, "config": _LOCAL_CLIENT_CONFIG}
        return {"config": AWS_CLIENT_CONFIG}

    @cached_property
    def dynamodb(self) -> Any:
        return self.client("dynamodb")

    @cached_property
    def dynamodb_resource(self) -> Any:
        return self.resource("dynamodb")

    @cached_property
    def dynamodbstreams(self) -> Any:
        return self.client("dynamodbstreams")

    @cached_property
    def lambda_(self) -> Any:
        return self.client("lambda")

    @cached_property
    def logs(self) -> Any:
        return self.client("logs")

    @cached_property
    def iam(self) -> Any:
        return self.client("iam")

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def sns(self) -> Any:
        return self.client("sns")

    @cached_property
    def sts(self) -> Any:
        return self.client("sts")

    @cached_property
    def s3(self) -> Any:
        return self.client("s3")

    def __getattr__(self, item: str) -> Any:
        if item == "lambda":  # getattr(lab, "lambda") for symmetry with boto3's name
            return self.lambda_
        raise AttributeError(item)

    def __repr__(self) -> str:
        where = self.config.endpoint if self.config.is_local else "AWS"
        return (
            f"<Lab backend={self.backend} region={self.region} prefix={self.prefix!r} at {where}>"
        )


def connect(config: LabConfig | None = None, *, start_emulator: bool = True) -> Lab:
    """Connect to the backend named by ``LAB_BACKEND`` (``local`` by default).

    In a notebook it also makes the kit's errors show as one line (see ``jupyter.error_display``).
    """
    from streamlab.jupyter.error_display import install_error_display

    install_error_display()
    config = config or load_config()
    if config.is_local:
        if start_emulator:
            config = start_own_emulator(config)
        return Lab(config, local_session(config.region))
    session = aws_session(config.region)
    config = config.with_region(config.region or session.region_name)
    if config.prefix_pending:
        config = config.with_prefix(*identity_prefix(session, config.region))
    return Lab(config, session)


def start_own_emulator(config: LabConfig, profile: Any = None) -> LabConfig:
    """Start (or find) this user's emulator; the config names the port it really uses.

    ``profile`` (``local.profiles.ProfileOptions``) is passed to an emulator that starts.
    """
    from streamlab.local import control

    health = control.start_own(config.port, movable=config.endpoint_movable, profile=profile)
    port = health.info.get("port", config.port)
    if port == config.port:
        return config
    return dataclasses.replace(
        config, endpoint=f"http://127.0.0.1:{port}", endpoint_source="recorded"
    )


def identity_prefix(session: boto3.Session, region: str) -> tuple[str, str]:
    """The prefix from the caller's STS identity (user or role-session name), and its source.

    Asked only when neither LAB_PREFIX nor JUPYTERHUB_USER is set; a generic name
    (the account root, an instance's session) is refused by ``LabConfig.with_prefix``.
    """
    sts = session.client("sts", region_name=region, config=AWS_CLIENT_CONFIG)
    try:
        arn = sts.get_caller_identity()["Arn"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise CredentialsError(
            f"Your AWS identity could not be read to choose your name prefix ({exc}): set "
            "LAB_PREFIX (e.g. LAB_PREFIX=alice-), or fix the credentials (`aws sso login`)."
        ) from None
    return prefix_from_identity(arn), f"{PREFIX_FROM_STS} ({arn})"


def aws_session(region: str) -> boto3.Session:
    """A session from the standard chain; a clear error when there is nothing to use."""
    try:
        session = boto3.Session(region_name=region or None)
        credentials = session.get_credentials()
    except botocore.exceptions.ProfileNotFound as exc:
        raise CredentialsError(
            f"{exc}: set AWS_PROFILE to a profile in ~/.aws/config, or unset it."
        ) from None
    except botocore.exceptions.BotoCoreError as exc:
        raise CredentialsError(f"AWS credentials could not be loaded: {exc}") from None
    if not session.region_name:
        raise CredentialsError(
            "LAB_BACKEND=aws but no region is set: set LAB_REGION (for example us-east-1), "
            "or a region in your AWS profile."
        )
    if credentials is None:
        raise CredentialsError(
            "LAB_BACKEND=aws but no AWS credentials were found: run `aws configure` or "
            "`aws sso login`, or set AWS_PROFILE; or unset LAB_BACKEND to use the local emulator."
        )
    return session
