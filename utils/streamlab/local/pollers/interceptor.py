"""The Lambda event source mapping API, as moto answers it plus what AWS adds.

moto stores and returns mappings; this interceptor sits in front of it for
``/2015-03-31/event-source-mappings``: it rejects what AWS rejects for a
DynamoDB stream (ranges, the record age rule, filters, destinations, the
execution role's permissions) with AWS's wording, lets moto answer the rest,
then starts, reconfigures or stops the mapping's poller from moto's answer and
reports AWS's defaults, ``State`` and ``LastProcessingResult``.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from ..app import EmulatorApp
from .permissions import role_problem
from .registry import MappingRegistry
from .settings import SettingsError, on_failure_destination, validate
from .source import is_dynamodb_stream_arn, parse_stream_arn

PATH_PREFIX = "/2015-03-31/event-source-mappings"
_REGION_IN_AUTH = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")


def _error(code: str, message: str, status: int = 400) -> Response:
    return Response(
        json.dumps({"Type": "User", "Message": message, "message": message}),
        status=status,
        headers={"x-amzn-ErrorType": code},
        mimetype="application/json",
    )


class EventSourceMappingApi:
    """Interceptor for the event source mapping operations of the Lambda API."""

    def __init__(self, app: EmulatorApp, registry: MappingRegistry) -> None:
        self.app = app
        self.registry = registry

    def matches(self, environ: dict[str, Any]) -> bool:
        return str(environ.get("PATH_INFO", "")).startswith(PATH_PREFIX)

    # -- dispatch --------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        tail = request.path[len(PATH_PREFIX) :].strip("/")
        body = request.get_data()
        if request.method == "POST" and not tail:
            return self._create(request, body)
        if request.method == "PUT" and tail:
            return self._update(request, body, tail)
        if request.method == "DELETE" and tail:
            return self._delete(request, body, tail)
        if request.method == "GET":
            return self._read(request, body, single=bool(tail))
        return self._moto(request, body)[0]

    # -- operations ---------------------------------------------------------------------
    def _create(self, request: Request, body: bytes) -> Response:
        spec = self._json(body)
        arn = spec.get("EventSourceArn") if isinstance(spec, dict) else None
        if not isinstance(arn, str) or not is_dynamodb_stream_arn(arn):
            return self._moto(request, body)[0]
        try:
            validate(spec, creating=True)
        except SettingsError as exc:
            return _error(exc.code, exc.message)
        problem = self._role_problem(
            request, spec.get("FunctionName"), arn, on_failure_destination(spec)
        )
        if problem:
            return _error("InvalidParameterValueException", problem)
        response, config = self._moto(request, body)
        if response.status_code != 201 or config is None:
            return response
        if spec.get("Enabled") is False:
            config["State"] = "Disabled"
        self.registry.created(config)
        result = self.registry.overlay(config)
        result["State"] = "Creating"
        return self._json_response(result, response)

    def _update(self, request: Request, body: bytes, uuid: str) -> Response:
        status = self.registry.status(uuid)
        if status is None:
            return self._moto(request, body)[0]
        spec = self._json(body)
        if not isinstance(spec, dict):
            spec = {}
        try:
            validate(spec, creating=False)
        except SettingsError as exc:
            return _error(exc.code, exc.message)
        poller = self.registry.poller(uuid)
        if poller is not None and ("FunctionName" in spec or "DestinationConfig" in spec):
            destination = (
                on_failure_destination(spec)
                if "DestinationConfig" in spec
                else poller.settings.on_failure_destination
            )
            problem = self._role_problem(
                request,
                spec.get("FunctionName") or poller.settings.function_arn,
                poller.settings.event_source_arn,
                destination,
            )
            if problem:
                return _error("InvalidParameterValueException", problem)
        response, config = self._moto(request, body)
        if response.status_code >= 300 or config is None:
            return response
        enabled = spec.get("Enabled") if isinstance(spec.get("Enabled"), bool) else None
        state = self.registry.updated(config, enabled)
        result = self.registry.overlay(config)
        result["State"] = state
        return self._json_response(result, response)

    def _delete(self, request: Request, body: bytes, uuid: str) -> Response:
        response, config = self._moto(request, body)
        if response.status_code >= 300 or config is None:
            return response
        if self.registry.status(uuid) is None:
            return response
        result = self.registry.overlay(config)
        self.registry.deleted(uuid)
        result["State"] = "Deleting"
        return self._json_response(result, response)

    def _read(self, request: Request, body: bytes, *, single: bool) -> Response:
        response, payload = self._moto(request, body)
        if response.status_code != 200 or payload is None:
            return response
        if single:
            payload = self._overlay(payload)
        else:
            payload["EventSourceMappings"] = [
                self._overlay(config) for config in payload.get("EventSourceMappings", [])
            ]
        return self._json_response(payload, response)

    # -- helpers -------------------------------------------------------------------------
    def _overlay(self, config: dict[str, Any]) -> dict[str, Any]:
        arn = config.get("EventSourceArn", "")
        return self.registry.overlay(config) if is_dynamodb_stream_arn(arn) else config

    def _role_problem(
        self, request: Request, function_name: Any, stream_arn: str, destination: str | None
    ) -> str | None:
        if not isinstance(function_name, str) or not function_name:
            return None  # moto answers the missing parameter
        region, account_id, _, _ = parse_stream_arn(stream_arn)
        match = _REGION_IN_AUTH.search(request.headers.get("Authorization", ""))
        function_region = match.group(1) if match else region
        from moto.awslambda.models import lambda_backends

        with self.app.moto_lock:
            try:
                function = lambda_backends[account_id][function_region].get_function(function_name)
            except Exception:
                return None  # moto answers with its own not-found error
            return role_problem(
                account_id=account_id,
                role_arn=function.role,
                stream_arn=stream_arn,
                destination_arn=destination,
            )

    @staticmethod
    def _json(body: bytes) -> Any:
        try:
            return json.loads(body) if body else {}
        except ValueError:
            return None

    def _moto(self, request: Request, body: bytes) -> tuple[Response, Any]:
        """Let moto answer the request; also return its JSON body when it has one."""
        environ = dict(request.environ)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.app.call_moto(environ, start_response)
        raw = b"".join(chunks)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        response = Response(raw, status=captured["status"], headers=headers)
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        return response, payload if isinstance(payload, dict) else None

    @staticmethod
    def _json_response(payload: dict[str, Any], template: Response) -> Response:
        headers = [
            (k, v)
            for k, v in template.headers.items()
            if k.lower() not in ("content-length", "content-type")
        ]
        return Response(
            json.dumps(payload),
            status=template.status_code,
            headers=headers,
            mimetype="application/json",
        )
