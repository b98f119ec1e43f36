"""Which AWS API action each request to the emulator is, in IAM's vocabulary.

The emulator counts every action it serves, by access key. Running all the
solution notebooks then tells exactly which IAM actions a participant needs,
which is how the participant policy for shared AWS accounts is generated and
checked. Recognition works from the wire alone: the SigV4 credential scope
names the service, and the JSON target header, the query ``Action`` or the REST
method and path (matched against botocore's own service models) name the action.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from urllib.parse import parse_qs

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ..errors import EmulatorError

ACTIONS_PATH = "/_streamlab/actions"
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
# API operation names that IAM spells differently.
_IAM_NAMES = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("s3", "ListObjectsV2"): "ListBucket",
    ("s3", "ListObjects"): "ListBucket",
    ("s3", "HeadBucket"): "ListBucket",
    ("s3", "HeadObject"): "GetObject",
}
# Signing name -> botocore service names that may be signed with it.
_SERVICES_BY_SIGNING_NAME = {"dynamodb": ("dynamodb", "dynamodbstreams")}


@dataclass(frozen=True)
class Action:
    """One recognised call: the IAM action (``dynamodb:PutItem``) and who made it."""

    service: str  # IAM prefix, e.g. "dynamodb" (also for DynamoDB Streams)
    operation: str  # API operation, e.g. "GetRecords"
    access_key: str
    region: str

    @property
    def iam_action(self) -> str:
        return f"{self.service}:{_IAM_NAMES.get((self.service, self.operation), self.operation)}"


@dataclass(frozen=True)
class _RestRoute:
    operation: str
    method: str
    pattern: re.Pattern
    query_keys: frozenset
    literal_length: int


@cache
def _rest_routes(service: str) -> list[_RestRoute]:
    model = botocore.session.get_session().get_service_model(service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = http["requestUri"].partition("?")
        regex = ""
        for piece in re.split(r"(\{[^}]+\})", path.rstrip("/") or "/"):
            if piece.startswith("{"):
                regex += "(.+)" if piece.endswith("+}") else "([^/]+)"
            else:
                regex += re.escape(piece)
        keys = frozenset(k.split("=")[0] for k in query.split("&") if k)
        literal = len(re.sub(r"\{[^}]+\}", "", path)) + len(keys)
        routes.append(_RestRoute(name, http["method"], re.compile(regex + "/?$"), keys, literal))
    return sorted(routes, key=lambda route: -route.literal_length)


def _rest_operation(service: str, method: str, path: str, query: str) -> str | None:
    query_keys = set(parse_qs(query, keep_blank_values=True))
    for route in _rest_routes(service):
        if route.method == method and route.pattern.match(path) and route.query_keys <= query_keys:
            return route.operation
    return None


def identify(environ: dict, body: bytes) -> Action | None:
    """The action a request asks for, or None when it is not a signed AWS call."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None
    access_key, region, signing_name = match.groups()
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return Action(signing_name, target.rsplit(".", 1)[-1], access_key, region)
    if environ.get("REQUEST_METHOD") == "POST" and b"Action=" in body[:4096]:
        operation = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
        return Action(signing_name, operation, access_key, region) if operation else None
    for service in _SERVICES_BY_SIGNING_NAME.get(signing_name, (signing_name,)):
        try:
            operation = _rest_operation(
                service,
                environ.get("REQUEST_METHOD", "GET"),
                environ.get("PATH_INFO", "/"),
                environ.get("QUERY_STRING", ""),
            )
        except botocore.exceptions.UnknownServiceError:
            return None
        if operation:
            return Action(signing_name, operation, access_key, region)
    return None


class ActionLog:
    """A thread-safe tally of the actions served, by IAM action and access key.

    ``identity_of`` names the issued key's identity (notebook, function or service;
    see ``identities``), so readers need not know the random keys themselves.
    """

    def __init__(self, identity_of: Callable[[str], str | None] = lambda key: None) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()
        self._identity_of = identity_of

    def record(self, action: Action) -> None:
        with self._lock:
            self._counts[(action.iam_action, action.access_key)] += 1

    def snapshot(self) -> list[dict]:
        with self._lock:
            items = sorted(self._counts.items())
        return [
            {
                "action": action,
                "access_key": key,
                "identity": self._identity_of(key),
                "count": count,
            }
            for (action, key), count in items
        ]

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


def read_actions(endpoint: str, *, clear: bool = False, timeout: float = 10.0) -> list[dict]:
    """The emulator's action log (``clear``: empty it), asked with a signed request.

    The log tells what the participant did, so only the owner's signed calls read it.
    """
    from .identities import issued

    keys = issued().notebook
    request = AWSRequest(method="DELETE" if clear else "GET", url=endpoint + ACTIONS_PATH)
    SigV4Auth(Credentials(keys.access_key, keys.secret_key), "streamlab", "us-east-1").add_auth(
        request
    )
    prepared = urllib.request.Request(
        request.url, headers=dict(request.headers.items()), method=request.method
    )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with direct.open(prepared, timeout=timeout) as response:
            return json.loads(response.read())["actions"]
    except urllib.error.HTTPError as exc:
        raise EmulatorError(
            f"The emulator at {endpoint} refused to show its action log ({exc.code}): "
            f"{exc.read(500).decode('utf-8', 'replace')}"
        ) from None
