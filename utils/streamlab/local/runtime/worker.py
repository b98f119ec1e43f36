"""The default worker: a small pure-Python client of the Lambda Runtime API.

This file runs inside each execution environment, never as part of the
emulator, and imports only the standard library, so the handler sees an
interpreter as bare as Lambda's: no site-packages, no emulator, no kit. It is
either a standalone script (``python -I -S -B -u worker.py``) or, on Linux and
macOS, loaded once by the template process (``forkserver.py``), which forks a
worker per environment and calls ``main()`` in it. It mirrors AWS's runtime
interface client (``awslambdaric/bootstrap.py``) where a learner can tell the
difference: the handler-loading errors and their messages, the error payload
and its log framing (one event, lines joined by ``\\r``, indentation as
no-break spaces), the root logger format, the context object and the JSON
marshalling of the result.

Two things are ours and serve the emulator only:

* imports: the standard library, the task folder and its layers are on
  ``sys.path``; of the host's site-packages only the packages Lambda's Python
  runtime also ships (boto3 and its dependencies) can be imported;
* a flush marker written to stdout before each result and before asking for
  the next event, so the emulator knows which lines of output belong to which
  invocation (and which to the init phase). With
  ``LAB_LAMBDA_WORKER=awslambdaric`` this script sets up the same and then
  hands over to AWS's own client (``awslambdaric``), adding only the markers.

The worker exits when its Runtime API goes away or its parent process (the
emulator) dies, so an emulator killed with SIGKILL leaves no process behind.
"""

from __future__ import annotations

import decimal
import importlib
import importlib.abc
import importlib.machinery
import json
import logging
import os
import socket
import sys
import threading
import time
import traceback

# Keep in step with environment.FLUSH_MARKER.
FLUSH_MARKER = b"\x1e\x1eLAB-RUNTIME-FLUSH "

ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"  # NO-BREAK SPACE, as AWS's client indents tracebacks
UNHANDLED_WARNING = (
    "Unhandled exception. The most likely cause is an issue in the function code. However, in "
    "rare cases, a Lambda runtime update can cause unexpected function behavior. For functions "
    "using managed runtimes, runtime updates can be triggered by a function change, or can be "
    "applied automatically. To determine if the runtime has been updated, check the runtime "
    "version in the INIT_START log entry. If this error correlates with a change in the runtime "
    "version, you may be able to mitigate this error by temporarily rolling back to the previous "
    "runtime version. For more information, see "
    "https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)
API_PREFIX = "/2018-06-01/runtime"


# --------------------------------------------------------------------------- process setup


class _AllowedSitePackages(importlib.abc.MetaPathFinder):
    """Finds only the named top-level packages, each in its own folder.

    It sits after the normal path finder, so the function's own code and its
    layers win over the host's copies, as ``/var/task`` wins over
    ``/var/runtime`` on Lambda.
    """

    def __init__(self, locations: dict[str, str]) -> None:
        self.locations = locations

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001, ANN201
        if path is not None or fullname not in self.locations:
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [self.locations[fullname]])


def install_import_rules(allowed: dict[str, str]) -> None:
    """Only the standard library on ``sys.path``, plus the allowed site packages.

    Safe to call again (a worker forked from the template, which already
    installed the rules, only updates the allowed locations).
    """
    here = os.path.dirname(os.path.abspath(__file__))  # the runtime's own files stay hidden
    sys.path[:] = [
        p
        for p in sys.path
        if p and "site-packages" not in p and "dist-packages" not in p and p != here
    ]
    for finder in sys.meta_path:
        if isinstance(finder, _AllowedSitePackages):
            finder.locations = allowed
            return
    sys.meta_path.append(_AllowedSitePackages(allowed))


def _restrict_imports() -> None:
    task_root = os.environ["LAMBDA_TASK_ROOT"]
    layer_paths = [p for p in os.environ.pop("LAB_RUNTIME_LAYER_PATHS", "").split(os.pathsep) if p]
    install_import_rules(json.loads(os.environ.pop("LAB_RUNTIME_ALLOWED_PACKAGES", "{}")))
    sys.path[:0] = [task_root, *layer_paths]


def _exit_when_orphaned() -> None:
    """End this process when the emulator that started it is gone."""
    parent = int(os.environ.pop("LAB_RUNTIME_PARENT_PID", "0") or 0)
    if not parent:
        return
    if os.name == "nt":
        import ctypes

        synchronize, infinite = 0x00100000, 0xFFFFFFFF
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(synchronize, False, parent)

        def wait_windows() -> None:
            if handle:
                kernel32.WaitForSingleObject(handle, infinite)
            os._exit(1)

        threading.Thread(target=wait_windows, daemon=True).start()
        return

    def wait_posix() -> None:
        while os.getppid() == parent:
            time.sleep(0.25)
        os._exit(1)

    threading.Thread(target=wait_posix, daemon=True).start()


def flush_marker(request_id: str) -> None:
    """Tell the emulator that all output for ``request_id`` has been written."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a handler may have closed or replaced it
            pass
    os.write(1, FLUSH_MARKER + request_id.encode() + b"\n")


# --------------------------------------------------------------------------- AWS's client


class FaultException(Exception):
    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type: str, msg: str, trace: list[str] | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


def get_handler(handler: str):  # noqa: ANN201
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME, f"Bad handler '{handler}': {e}"
        ) from None
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                f"Cannot use built-in module {modname} as a handler module",
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR, f"Unable to import module '{modname}': {e}"
        ) from None
    except SyntaxError as e:
        trace = [f'  File "{e.filename}" Line {e.lineno}\n    {e.text}']
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            f"Syntax error in module '{modname}': {e}",
            trace,
        ) from None
    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND, f"Handler '{fname}' missing on module '{modname}'"
        ) from None


def make_error(message: str, error_type: str, stack_trace, invoke_id=None) -> dict:  # noqa: ANN001
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _replace_indentation(line: str) -> str:
    count = len(line) - len(line.lstrip(" "))
    return ERROR_LOG_IDENT * count + line[count:]


def log_error(error_result: dict) -> None:
    description = "[ERROR]"
    error_type = error_result.get("errorType")
    if error_type:
        description += " " + error_type
    message = error_result.get("errorMessage")
    if message:
        if error_type:
            description += ":"
        description += " " + message
    lines = [description]
    stack_trace = error_result.get("stackTrace")
    if stack_trace is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack_trace:
            if element == "":
                lines.append("")
            else:
                lines.extend(_replace_indentation(line) for line in element.splitlines())
    sys.stdout.write(ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


def _user_frames(tb) -> list[str]:  # noqa: ANN001
    frames = traceback.extract_tb(tb)
    here = os.path.abspath(__file__)
    for index, frame in enumerate(frames):
        if os.path.abspath(frame.filename) != here:
            frames = frames[index:]
            break
    return traceback.format_list(frames)


class _Encoder(json.JSONEncoder):
    """JSON as the Python runtime writes it; Decimal (from DynamoDB) becomes a number."""

    def default(self, o):  # noqa: ANN001, ANN201
        if isinstance(o, decimal.Decimal):
            if o.is_nan():
                return float("nan")
            return int(o) if o == o.to_integral_value() else float(o)
        return super().default(o)


def _encoder() -> _Encoder:
    ensure_ascii = os.environ.get("AWS_EXECUTION_ENV") != "AWS_Lambda_python3.12"
    return _Encoder(ensure_ascii=ensure_ascii)


def marshal_response(response) -> tuple[bytes, str]:  # noqa: ANN001
    if isinstance(response, bytes):
        return response, "application/unknown"
    try:
        return _encoder().encode(response).encode("utf-8"), "application/json"
    except Exception as e:
        raise FaultException(
            FaultException.MARSHAL_ERROR, f"Unable to marshal response: {e}"
        ) from None


def unmarshal_request(body: bytes, content_type: str | None):  # noqa: ANN201
    if content_type not in (None, "application/json"):
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise FaultException(
            FaultException.UNMARSHAL_ERROR, f"Unable to unmarshal input: {e}"
        ) from None


class CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]


class Client:
    __slots__ = [
        "installation_id",
        "app_title",
        "app_version_name",
        "app_version_code",
        "app_package_name",
    ]


class ClientContext:
    __slots__ = ["custom", "env", "client"]


def _object_from_dict(cls, values):  # noqa: ANN001, ANN202
    if values is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, values.get(field, None))
    return obj


class LambdaContext:
    """The ``context`` argument, with the fields and method AWS's Python runtime gives."""

    def __init__(
        self,
        invoke_id: str,
        client_context: dict | None,
        cognito_identity: dict | None,
        epoch_deadline_time_in_ms: int,
        invoked_function_arn: str | None = None,
    ) -> None:
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = None
        self.client_context = _object_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _object_from_dict(Client, self.client_context.client)
        self.identity = _object_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self) -> int:
        delta = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return delta if delta > 0 else 0

    def log(self, msg) -> None:  # noqa: ANN001
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}([aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},identity={self.identity}])"
        )


def _parse_json_header(value: str, name: str):  # noqa: ANN202
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR, f"Unable to parse {name} JSON: {e}"
        ) from None


_current_request_id: str | None = None


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id or ""
        record.tenant_id = None
        return True


class _StdoutHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        sys.stdout.write(self.format(record))


def setup_logging() -> None:
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:  # noqa: SLF001 - as AWS's client does
        logging.getLogger().setLevel(level)
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


class _Headers(dict):
    """Response headers with case-insensitive ``get``, as HTTP wants."""

    def get(self, name, default=None):  # noqa: ANN001, ANN201
        return super().get(name.lower(), default)


def _connect(host: str, port: int) -> socket.socket:
    """A TCP connection to ``host:port``, without a name lookup when ``host`` is an IPv4 address.

    The emulator always gives a numeric loopback address. ``create_connection``
    would still call ``getaddrinfo``, whose first call in a process loads and
    reads the C library's resolver configuration: about 2 ms and 2 MiB of the
    cold start of every worker forked from the template.
    """
    try:
        socket.inet_aton(host)
    except OSError:
        return socket.create_connection((host, port))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.connect((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class RuntimeApi:
    """The few calls of the Runtime API, over one keep-alive connection.

    A plain socket rather than ``http.client``: importing the latter (and the
    ``email`` package behind it) costs tens of milliseconds of every cold start.
    """

    def __init__(self, address: str) -> None:
        self.address = address
        host, _, port = address.rpartition(":")
        try:
            self.sock = _connect(host, int(port))
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            os._exit(0)  # the emulator is already gone
        self.reader = self.sock.makefile("rb")

    def _call(self, method: str, path: str, body: bytes = b"", headers=None):  # noqa: ANN001, ANN202
        lines = [f"{method} {API_PREFIX}{path} HTTP/1.1", f"Host: {self.address}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        lines.append(f"Content-Length: {len(body)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body
        try:
            self.sock.sendall(request)
            status_line = self.reader.readline()
            if not status_line:
                raise ConnectionError("Runtime API closed the connection")
            status = int(status_line.split()[1])
            response_headers = _Headers()
            while True:
                line = self.reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                response_headers[name.strip().lower()] = value.strip()
            length = int(response_headers.get("Content-Length", "0"))
            data = self.reader.read(length) if length else b""
        except (OSError, ValueError, IndexError):
            # The emulator is gone (stopped or killed): nothing left to serve.
            os._exit(0)
        return status, response_headers, data

    def next(self):  # noqa: ANN201
        flush_marker("next")  # everything printed so far belongs before the next START
        status, headers, data = self._call("GET", "/invocation/next")
        if status != 200:
            os._exit(0)  # the emulator retires this environment
        return headers, data

    def post_result(self, invoke_id: str, body: bytes, content_type: str) -> None:
        flush_marker(invoke_id)
        self._call(
            "POST", f"/invocation/{invoke_id}/response", body, {"Content-Type": content_type}
        )

    def post_error(self, invoke_id: str, error: dict) -> None:
        flush_marker(invoke_id)
        self._call(
            "POST",
            f"/invocation/{invoke_id}/error",
            json.dumps(error).encode(),
            {"Lambda-Runtime-Function-Error-Type": error.get("errorType", "")},
        )

    def post_init_error(self, error: dict) -> None:
        flush_marker("init")
        self._call(
            "POST",
            "/init/error",
            json.dumps(error).encode(),
            {"Lambda-Runtime-Function-Error-Type": error.get("errorType", "")},
        )


def handle_invocation(api: RuntimeApi, request_handler, headers, body: bytes) -> None:  # noqa: ANN001
    invoke_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    error_result = None
    try:
        client_context = headers.get("Lambda-Runtime-Client-Context")
        identity = headers.get("Lambda-Runtime-Cognito-Identity")
        context = LambdaContext(
            invoke_id,
            _parse_json_header(client_context, "Client Context") if client_context else None,
            _parse_json_header(identity, "Cognito Identity") if identity else None,
            int(headers.get("Lambda-Runtime-Deadline-Ms", "0")),
            headers.get("Lambda-Runtime-Invoked-Function-Arn"),
        )
        event = unmarshal_request(body, headers.get("Content-Type"))
        response = request_handler(event, context)
        result, content_type = marshal_response(response)
    except FaultException as e:
        error_result = make_error(e.msg, e.exception_type, e.trace, invoke_id)
    except Exception:
        etype, value, tb = sys.exc_info()
        error_result = make_error(str(value), etype.__name__, _user_frames(tb), invoke_id)
    if error_result is not None:
        log_error(error_result)
        api.post_error(invoke_id, error_result)
    else:
        api.post_result(invoke_id, result, content_type)


def run_builtin() -> None:
    global _current_request_id
    api = RuntimeApi(os.environ["AWS_LAMBDA_RUNTIME_API"])
    setup_logging()
    try:
        request_handler = get_handler(os.environ["_HANDLER"])
    except Exception as e:
        if isinstance(e, FaultException):
            error_result = make_error(e.msg, e.exception_type, e.trace)
        else:
            etype, value, tb = sys.exc_info()
            error_result = make_error(str(value), etype.__name__, _user_frames(tb))
        logging.warning(UNHANDLED_WARNING)
        log_error(error_result)
        api.post_init_error(error_result)
        sys.exit(1)
    while True:
        headers, body = api.next()
        _current_request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
        trace_id = headers.get("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        handle_invocation(api, request_handler, headers, body)


def run_awslambdaric() -> None:
    """Hand over to AWS's runtime interface client, adding only the flush marker."""
    from awslambdaric import __main__ as ric_main
    from awslambdaric import lambda_runtime_client as ric_client

    cls = ric_client.BaseLambdaRuntimeClient
    post_result, post_error, post_init_error = (
        cls.post_invocation_result,
        cls.post_invocation_error,
        cls.post_init_error,
    )

    def post_invocation_result(self, invoke_id, *args, **kwargs):  # noqa: ANN001, ANN202
        flush_marker(invoke_id)
        return post_result(self, invoke_id, *args, **kwargs)

    def post_invocation_error(self, invoke_id, *args, **kwargs):  # noqa: ANN001, ANN202
        flush_marker(invoke_id)
        return post_error(self, invoke_id, *args, **kwargs)

    def post_init_error_marked(self, *args, **kwargs):  # noqa: ANN001, ANN202
        flush_marker("init")
        return post_init_error(self, *args, **kwargs)

    def wait_next_invocation(self, *args, **kwargs):  # noqa: ANN001, ANN202
        flush_marker("next")
        return wait_next(self, *args, **kwargs)

    wait_next = cls.wait_next_invocation
    cls.wait_next_invocation = wait_next_invocation
    cls.post_invocation_result = post_invocation_result
    cls.post_invocation_error = post_invocation_error
    cls.post_init_error = post_init_error_marked
    try:
        ric_main.main(["awslambdaric", os.environ["_HANDLER"]])
    except Exception:
        # awslambdaric raises when its Runtime API is gone: the emulator stopped.
        os._exit(0)


def main() -> None:
    worker = os.environ.pop("LAB_RUNTIME_WORKER", "builtin")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(newline="\n")  # one "\n" per line on Windows too, as on Lambda
        except (AttributeError, ValueError):
            pass
    _restrict_imports()
    _exit_when_orphaned()
    os.chdir(os.environ["LAMBDA_TASK_ROOT"])
    if worker == "awslambdaric":
        run_awslambdaric()
    else:
        run_builtin()


if __name__ == "__main__":
    main()
