"""``connect()``: boto3 clients for the chosen backend, the same for every notebook cell.

Local: explicit dummy credentials and an explicit loopback endpoint, so real
credentials in the learner's shell can never create billable resources, and the
emulator is started when it is not already running. aws: boto3's standard
credential chain and nothing else; no emulator is ever started.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

import boto3
import botocore.config
import botocore.exceptions

from streamlab.config import PREFIX_FROM_STS, LabConfig, load_config, prefix_from_identity
from streamlab.errors import CredentialsError
from streamlab.local.identities import DUMMY_SECRET_KEY, NOTEBOOK_ACCESS_KEY

LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account
LOCAL_ACCESS_KEY = NOTEBOOK_ACCESS_KEY
LOCAL_SECRET_KEY = DUMMY_SECRET_KEY
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


def local_session(region: str, access_key: str = LOCAL_ACCESS_KEY) -> boto3.Session:
    """A boto3 session that cannot see the user's real credentials or profile.

    ``access_key`` only tells callers apart in the emulator's action log (see
    ``local.identities``); moto accepts any key.
    """
    return boto3.Session(
        aws_access_key_id=access_key,
        aws_secret_access_key=LOCAL_SECRET_KEY,
        aws_session_token=None,
        region_name=region,
        botocore_session=_isolated_botocore_session(),
    )


def _isolated_botocore_session() -> Any:
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
            from streamlab.local import control

            control.start(config.port)
        return Lab(config, local_session(config.region))
    session = aws_session(config.region)
    config = config.with_region(config.region or session.region_name)
    if config.prefix_pending:
        config = config.with_prefix(*identity_prefix(session, config.region))
    return Lab(config, session)


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
