"""Which AWS API action each request to the emulator is, in IAM's vocabulary.

The emulator counts every action it serves, by access key. Running all the
solution notebooks then tells exactly which IAM actions a participant needs,
which is how the participant policy for shared AWS accounts is generated and
checked. Recognition works from the wire alone: the SigV4 credential scope
names the service, and the JSON target header, the query ``Action`` or the REST
method and path (matched against botocore's own service models) name the action.

Each call also keeps its parameters, and the log records, per access key, what
IAM authorises for it (``local.iam.requests``: actions, resource ARNs and
condition keys), so the participant policy is checked against the real ARNs of
every call, not against action names alone.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import botocore.exceptions
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.model import ServiceModel

from ..errors import EmulatorError
from .botocore_models import shared_loader
from .iam.evaluator import Request
from .iam.requests import Authorisations

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
    # The call's parameters (JSON body, query or form fields, REST path fields).
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)

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
    names: tuple[str, ...] = ()
    # Headers the operation requires: S3's PUT /{Bucket}/{Key+} is CopyObject only with
    # ``x-amz-copy-source``, else PutObject.
    headers: frozenset = frozenset()


@cache
def _rest_routes(service: str) -> list[_RestRoute]:
    model = ServiceModel(shared_loader().load_service_model(service, "service-2"), service)
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        path, _, query = http["requestUri"].partition("?")
        regex = ""
        names = tuple(n.strip("{}+") for n in re.findall(r"\{[^}]+\}", path))
        for piece in re.split(r"(\{[^}]+\})", path.rstrip("/") or "/"):
            if piece.startswith("{"):
                regex += "(.+)" if piece.endswith("+}") else "([^/]+)"
            else:
                regex += re.escape(piece)
        keys = frozenset(k.split("=")[0] for k in query.split("&") if k)
        literal = len(re.sub(r"\{[^}]+\}", "", path)) + len(keys)
        headers = _required_headers(model.operation_model(name).input_shape)
        routes.append(
            _RestRoute(
                name, http["method"], re.compile(regex + "/?$"), keys, literal, names, headers
            )
        )
    return sorted(routes, key=lambda route: (-route.literal_length, -len(route.headers)))


def _required_headers(shape: Any) -> frozenset:
    """The lower-case names of the headers an operation's input requires."""
    if shape is None:
        return frozenset()
    required = set(getattr(shape, "required_members", ()) or ())
    return frozenset(
        member.serialization["name"].lower()
        for name, member in shape.members.items()
        if name in required and member.serialization.get("location") == "header"
    )


def _rest_match(
    service: str, method: str, path: str, query: str, headers: frozenset = frozenset()
) -> tuple[str, dict[str, str]] | None:
    """The REST operation and its path fields (``{FunctionName}`` ...), or None.

    ``headers`` are the lower-case names of the request's headers."""
    query_keys = set(parse_qs(query, keep_blank_values=True))
    for route in _rest_routes(service):
        match = route.pattern.match(path) if route.method == method else None
        if match and route.query_keys <= query_keys and route.headers <= headers:
            return route.operation, dict(zip(route.names, match.groups(), strict=False))
    return None


def _rest_operation(
    service: str, method: str, path: str, query: str, headers: frozenset = frozenset()
) -> str | None:
    found = _rest_match(service, method, path, query, headers)
    return found[0] if found else None


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _fields(text: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def identify(environ: dict, body: bytes) -> Action | None:
    """The action a request asks for, or None when it is not a signed AWS call."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return None
    access_key, region, signing_name = match.groups()
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        operation = target.rsplit(".", 1)[-1]
        return Action(signing_name, operation, access_key, region, _json(body))
    if environ.get("REQUEST_METHOD") == "POST" and b"Action=" in body[:4096]:
        params = _fields(body.decode("utf-8", "replace"))
        operation = params.get("Action", "")
        return Action(signing_name, operation, access_key, region, params) if operation else None
    query = environ.get("QUERY_STRING", "")
    headers = frozenset(
        key[5:].replace("_", "-").lower() for key in environ if key.startswith("HTTP_")
    )
    for service in _SERVICES_BY_SIGNING_NAME.get(signing_name, (signing_name,)):
        try:
            found = _rest_match(
                service,
                environ.get("REQUEST_METHOD", "GET"),
                environ.get("PATH_INFO", "/"),
                query,
                headers,
            )
        except botocore.exceptions.UnknownServiceError:
            return None
        if found:
            operation, path_fields = found
            params = {**_fields(query), **_json(body), **path_fields}
            return Action(signing_name, operation, access_key, region, params)
    return None


def request_record(request: Request) -> dict[str, Any]:
    """One authorisation as plain JSON: action, resource ARN and condition keys."""
    return {
        "action": request.action,
        "resource": request.resource,
        "context": dict(request.context),
    }


class ActionLog:
    """A thread-safe tally of the actions served, by IAM action and access key, and of
    what IAM authorises for each distinct call (its resource ARNs and condition keys).

    ``identity_of`` names the issued key's identity (notebook, function or service;
    see ``identities``), so readers need not know the random keys themselves.
    """

    def __init__(self, identity_of: Callable[[str], str | None] = lambda key: None) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._requests: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()
        self._identity_of = identity_of

    def record(self, action: Action, authorisations: Authorisations | None = None) -> None:
        entry = None
        if authorisations is not None:
            entry = json.dumps(
                {
                    "mapped": authorisations.mapped,
                    "authorisations": [request_record(r) for r in authorisations.requests],
                },
                sort_keys=True,
            )
        with self._lock:
            self._counts[(action.iam_action, action.access_key)] += 1
            if entry is not None:
                self._requests[(action.access_key, action.iam_action, entry)] += 1

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

    def requests(self) -> list[dict]:
        """Each distinct call once per access key: the IAM action and its authorisations."""
        with self._lock:
            items = sorted(self._requests.items())
        return [
            {
                "access_key": key,
                "identity": self._identity_of(key),
                "call": action,
                "count": count,
                **json.loads(entry),
            }
            for (key, action, entry), count in items
        ]

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._requests.clear()


def read_action_log(endpoint: str, *, clear: bool = False, timeout: float = 10.0) -> dict:
    """The emulator's action log (``actions`` and ``requests``; ``clear``: empty it),
    asked with a signed request: the log tells what the participant did, so only the
    owner's signed calls read it."""
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
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise EmulatorError(
            f"The emulator at {endpoint} refused to show its action log ({exc.code}): "
            f"{exc.read(500).decode('utf-8', 'replace')}"
        ) from None


def read_actions(endpoint: str, *, clear: bool = False, timeout: float = 10.0) -> list[dict]:
    """The recorded actions alone (see ``read_action_log``)."""
    return read_action_log(endpoint, clear=clear, timeout=timeout)["actions"]
