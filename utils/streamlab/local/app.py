"""The emulator's WSGI application: moto behind one lock, plus our interceptions.

moto's backends are not thread-safe while its server is threaded, so every
request into moto runs under ``moto_lock``. Interceptors (Lambda Invoke, the
stream pollers' hooks) see a request before moto does; they take the lock only
for their own short reads of moto's state and never while user code runs, since
that code calls back into the emulator and would deadlock.

Before any of that, every request passes two gates (see ``trust`` and
``signatures``): its Host must be this emulator's loopback address and no web
page may have sent it; then, except for the health endpoint, it must carry a
valid SigV4 signature by a key the emulator issued to its owner. No answer
carries CORS headers, so browsers never let a page read one.
"""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.wrappers import Request, Response

from .._version import __version__
from . import ttl
from .actions import ACTIONS_PATH, Action, ActionLog, identify
from .auth_errors import refusal_response
from .health import HEALTH_PATH, SERVICE_NAME, owner_id
from .iam.moto_state import ACCOUNT_ID, MotoState
from .iam.requests import NEEDS_RESPONSE, Call, authorisations
from .identities import NOTEBOOK, IssuedCredentials, issued
from .participant_access import ParticipantAccess
from .request_log import log as request_log
from .request_log import request_line
from .signatures import verify
from .trust import LOOPBACK_NAMES, environ_refusal, without_cors

ACTION_KEY = "streamlab.action"  # the recognised ``actions.Action`` of a request, in its environ

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves each Host it has seen.

    moto finds a request's backend by listing its own package folder (some
    180 ``stat`` calls) and then trying every service's URL patterns, twice
    per request. Both are fixed for the life of the process, so the answer
    for a host never changes and is looked up once.
    """

    MAX_HOSTS = 256  # hosts are service.region names; more than this is not a course

    def __init__(self, create_app: Callable[[Any], Any]) -> None:
        super().__init__(create_app)
        self._backend_of: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        try:
            return self._backend_of[host]
        except KeyError:
            pass
        backend = super().get_backend_for_host(host)
        if len(self._backend_of) < self.MAX_HOSTS:
            self._backend_of[host] = backend
        return backend


class Interceptor(Protocol):
    """Something that answers some requests before moto sees them."""

    def matches(self, environ: WSGIEnviron) -> bool:
        """Decide from method and path alone (the body is still unread)."""

    def handle(self, request: Request) -> Response:
        """Answer a request that ``matches`` accepted."""


class EmulatorApp:
    """moto's dispatcher, serialised, with a health endpoint and interceptors."""

    def __init__(self, *, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.started_at = time.time()
        self.last_request = time.monotonic()  # for stopping when nobody uses the emulator
        self.moto_lock = threading.RLock()
        self.interceptors: list[Interceptor] = []
        self.shutdown_hooks: list[Callable[[], None]] = []
        self.credentials: IssuedCredentials = issued()
        self.account_state = MotoState(self.moto_lock)
        self.participants = ParticipantAccess(self.moto_lock, self.account_state)
        self.action_log = ActionLog(self._identity_of)
        self.profile: Any = None  # profiles.AwsProfile when serving --profile aws
        self._moto = _Dispatcher(create_backend_app)

    def _secret_for(self, access_key: str) -> str | None:
        """The issued keys' secrets, and those of participants the owner created."""
        return self.credentials.secret_for(access_key) or self.participants.secret_for(access_key)

    def _identity_of(self, access_key: str) -> str | None:
        identity = self.credentials.identity_of(access_key)
        if identity is None:
            name = self.participants.participant_of(access_key)
            identity = None if name is None else f"participant:{name}"
        return identity

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def add_interceptor(self, interceptor: Interceptor, *, first: bool = False) -> None:
        """Add ``interceptor`` after the others (or ahead of them: a profile sees calls first)."""
        if first:
            self.interceptors.insert(0, interceptor)
        else:
            self.interceptors.append(interceptor)

    def forwarder(self, after: Interceptor) -> Callable[[WSGIEnviron, StartResponse], Iterable]:
        """Answer as if ``after`` had declined: the interceptors behind it, then moto."""

        def forward(environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
            rest = self.interceptors[self.interceptors.index(after) + 1 :]
            for interceptor in rest:
                if interceptor.matches(environ):
                    return interceptor.handle(Request(environ))(environ, start_response)
            return self.call_moto(environ, start_response)

        return forward

    def health(self) -> dict[str, Any]:
        """Who runs this emulator; nothing secret (it answers without a signature)."""
        return {
            "service": SERVICE_NAME,
            "version": __version__,
            "owner": owner_id(),
            "pid": os.getpid(),
            "host": self.host,
            "port": self.port,
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "profile": self.profile.describe() if self.profile is not None else {"name": "local"},
        }

    def __call__(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status = ["-"]

        def logged_start_response(status_line: str, headers: list, exc_info: Any = None) -> Any:
            status[0] = status_line
            return start_response(status_line, without_cors(headers), exc_info)

        try:
            return self._dispatch(environ, logged_start_response)
        finally:
            request_log.info(
                request_line(
                    environ.get("REQUEST_METHOD", "-"),
                    environ.get("PATH_INFO", "-"),
                    environ.get("streamlab.operation"),
                    status[0],
                    time.perf_counter() - started,
                )
            )

    def _dispatch(self, environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        refused = environ_refusal(environ, self.port, LOOPBACK_NAMES | {self.host})
        if refused:
            environ["streamlab.operation"] = "refused:host-or-origin"
            return Response(refused + "\n", status=403, mimetype="text/plain")(
                environ, start_response
            )
        self.last_request = time.monotonic()
        if environ.get("PATH_INFO") == HEALTH_PATH:
            response = Response(json.dumps(self.health()), mimetype="application/json")
            return response(environ, start_response)
        body = self._buffer_body(environ)
        verdict = verify(environ, body, self._secret_for)
        if not verdict.ok:  # the request log names why, never the key or the signature
            environ["streamlab.operation"] = f"refused:{verdict.failure}"
            return refusal_response(environ, body, verdict)(environ, start_response)
        if environ.get("PATH_INFO") == ACTIONS_PATH:
            return self._actions_endpoint(environ, start_response)
        if environ.get("PATH_INFO") == ttl.TTL_PATH and environ.get("REQUEST_METHOD") == "POST":
            environ["streamlab.operation"] = "streamlab:ExpireTimeToLive"
            if self.credentials.identity_of(verdict.access_key) != NOTEBOOK:
                # it deletes items past IAM: the owner's notebook keys only, never a
                # participant's, a function's or the emulator's own
                answer, status = {"message": "only the emulator's owner may run TTL"}, 403
            else:
                status, answer = ttl.handle(body, self.moto_lock, ACCOUNT_ID)
            return Response(json.dumps(answer), status=status, mimetype="application/json")(
                environ, start_response
            )
        action = self._identify(environ, body)
        if action is not None:
            self.account_state.remember(
                action.service, action.operation, action.params, action.region
            )
        for interceptor in self.interceptors:
            if interceptor.matches(environ):
                response = interceptor.handle(Request(environ))
                if action is not None:
                    answer = b""
                    if (action.service, action.operation) in NEEDS_RESPONSE:
                        answer = response.get_data()
                    self._record(action, response.status_code, answer)
                return response(environ, start_response)
        if action is None:
            return self.call_moto(environ, start_response)
        status: list[int] = []

        def recording_start_response(code: str, headers: list, exc_info: Any = None) -> Any:
            status.append(int(code.split(" ", 1)[0]))
            return start_response(code, headers, exc_info)

        body = self.call_moto(environ, recording_start_response)
        self._record(action, status[0] if status else 500, b"".join(body))
        return body

    @staticmethod
    def _buffer_body(environ: WSGIEnviron) -> bytes:
        """Read the whole body (the signature covers it) and leave a copy for moto."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            body = environ["wsgi.input"].read(length)
        elif environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
            body = environ["wsgi.input"].read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        if body and not length:
            environ["CONTENT_LENGTH"] = str(len(body))
        return body

    def _identify(self, environ: WSGIEnviron, body: bytes) -> Action | None:
        """The request's action, from its (already buffered) body."""
        action = identify(environ, body)
        environ[ACTION_KEY] = action  # interceptors may dispatch on it (the aws profile does)
        if action is not None:
            environ["streamlab.operation"] = action.iam_action
        return action

    def _record(self, action: Action, status: int, answer: bytes) -> None:
        """Tally the action with what IAM authorises for it (after the answer, which names
        a new mapping's UUID and a mapping's function)."""
        response = None
        if 200 <= status < 300 and answer:
            try:
                response = json.loads(answer)
            except ValueError:
                response = None
        call = Call(
            action.service,
            action.operation,
            action.params,
            action.region,
            ACCOUNT_ID,
            response if isinstance(response, dict) else None,
        )
        try:
            found = authorisations(call, action.iam_action, self.account_state)
        except Exception:  # an unexpected shape must never break the call itself
            found = None
        self.action_log.record(action, found)

    def _actions_endpoint(
        self, environ: WSGIEnviron, start_response: StartResponse
    ) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "DELETE":
            self.action_log.clear()
        body = json.dumps(
            {"actions": self.action_log.snapshot(), "requests": self.action_log.requests()}
        )
        return Response(body, mimetype="application/json")(environ, start_response)

    def call_moto(self, environ: WSGIEnviron, start_response: StartResponse) -> list[bytes]:
        """Run one request through moto under the lock, fully buffered."""
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        with self.moto_lock:
            result = self._moto(environ, capture)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close:
                    close()
        start_response(captured["status"], captured["headers"])
        return [body]

    def close(self) -> None:
        """Stop everything the interceptors started (worker processes, pollers)."""
        for hook in reversed(self.shutdown_hooks):
            try:
                hook()
            except Exception:  # shutting down: keep closing the rest
                pass
