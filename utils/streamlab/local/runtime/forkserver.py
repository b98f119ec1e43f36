"""The template process: forks a ready worker for each execution environment.

This file runs as a standalone script (``python -I -S -B -u forkserver.py``),
started once by the emulator on Linux and macOS; like ``worker.py`` it imports
only the standard library and the packages Lambda's Python runtime ships. It
loads the worker, installs the worker's import rules and imports boto3 once,
then waits. It keeps one child forked ahead of demand (a spare, already in
its own session and holding no descriptor of the template's but its channel).
For each new environment the emulator sends the environment variables, the
working folder and the write end of a pipe; the template hands them to the
spare (or, if it has none, forks), the child becomes the worker, and the
template forks the next spare once it has answered:

* its own session and process group (a timeout kills the worker and whatever
  the handler started, as before);
* standard output and error on the emulator's pipe, standard input on
  ``/dev/null``, and every other descriptor closed, so no worker holds the
  template's control socket or anything else it had open;
* exactly the environment variables the emulator sent (the template's own are
  dropped), the time zone re-read, and the function's code folder as its
  working directory.

A cold start then costs a hand-over to a process already forked instead of an
interpreter start and the imports (tens of milliseconds and ~40 MiB each), and
the workers share the template's memory copy-on-write. The template is
single-threaded, so no lock can be held at the fork, and it never imported the
emulator, so nothing of the emulator (sockets, locks, moto) reaches a worker.

Messages both ways are length-prefixed JSON on a Unix socket pair; the pipe's
descriptor travels with its request (``SCM_RIGHTS``). The template reaps its
children and reports each exit status, so the emulator can tell how a worker
ended. It exits, killing its workers and its spare, when the emulator's end of
the socket closes, which also happens when the emulator is killed; on Linux the
kernel ends its children if the template itself is killed.
"""

from __future__ import annotations

import gc
import importlib.util
import io
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time
import traceback

HEADER = struct.Struct("!I")
MAX_FDS = 4
# What a handler most likely imports first; the rest of boto3 loads on demand, as it would.
# botocore data every client needs, and the models of the services the labs' handlers use.
WARM_DATA = ("endpoints", "partitions", "sdk-default-configuration", "_retry")
WARM_SERVICES = {"dynamodb": ("service-2", "endpoint-rule-set-1", "resources-1")}
PRELOAD = (
    "boto3",
    "boto3.session",
    "boto3.dynamodb.types",
    "boto3.dynamodb.conditions",
    "boto3.resources.factory",
    "botocore.session",
    "botocore.client",
    "botocore.endpoint",
    "botocore.httpsession",
    "botocore.parsers",
    "botocore.serialize",
    "botocore.regions",
    "botocore.retries.standard",
    "encodings.idna",  # the first request's host name goes through it
)


def read_message(sock: socket.socket) -> tuple[dict | None, list[int]]:
    """One message and the descriptors that came with it; ``None`` when the peer is gone."""
    fds: list[int] = []

    def read_exact(size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            chunk, ancdata, _, _ = sock.recvmsg(size - len(data), socket.CMSG_SPACE(MAX_FDS * 4))
            for level, kind, payload in ancdata:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    usable = len(payload) - len(payload) % 4
                    fds.extend(struct.unpack(f"{usable // 4}i", payload[:usable]))
            if not chunk:
                return None
            data += chunk
        return data

    header = read_exact(HEADER.size)
    if header is None:
        return None, fds
    body = read_exact(HEADER.unpack(header)[0])
    if body is None:
        return None, fds
    return json.loads(body), fds


def write_message(sock: socket.socket, message: dict, fds: tuple[int, ...] = ()) -> None:
    """Send one message, with ``fds`` attached to its first bytes."""
    body = json.dumps(message).encode()
    data = HEADER.pack(len(body)) + body
    sent = socket.send_fds(sock, [data], list(fds)) if fds else sock.send(data)
    if sent < len(data):
        sock.sendall(data[sent:])


def _load_by_path(relative_path: str, name: str):  # noqa: ANN202 - a module
    """A file of the kit (relative to this one) as a module under a name no handler would import."""
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.normpath(os.path.join(here, relative_path))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def load_worker():  # noqa: ANN201 - a module
    """``worker.py`` as a module under a name no handler would import."""
    return _load_by_path("worker.py", "_streamlab_lambda_worker")


def preload(worker) -> None:  # noqa: ANN001
    """Install the worker's import rules, then import what every handler would."""
    worker.install_import_rules(json.loads(os.environ.get("LAB_RUNTIME_ALLOWED_PACKAGES", "{}")))
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # not installed: a handler importing it fails as on AWS
            pass
    warm_boto3()
    warm_tls()
    warm_code_paths()
    # Move everything loaded so far out of the collector's sight: a worker's collections
    # then never walk (and so never copy) the template's objects.
    gc.collect()
    release_free_pages()
    gc.freeze()


def release_free_pages() -> None:
    """Give the C allocator's free pages back (glibc's ``malloc_trim``), before any fork.

    Loading and the warm-up leave freed memory in the heap; returned now, it is
    neither counted in the template's memory nor handed to each worker as pages
    it would copy on its first allocations. Elsewhere (macOS, musl) nothing happens.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None).malloc_trim(0)
    except (ImportError, OSError, AttributeError):  # not glibc
        pass


def warm_boto3() -> None:
    """Give boto3 a default session whose loader already holds the labs' service models.

    Creating a client parses botocore's JSON models (endpoints, partitions, the
    service's API and rules): ~20 MiB and tens of milliseconds per worker. Parsed
    once here, a forked worker's ``boto3.client("dynamodb")`` or
    ``boto3.resource("dynamodb")`` finds them in the default session's loader and
    shares them copy-on-write. They are parsed compactly (``compact_models``:
    plain dicts, names shared, no documentation, so a client's docstrings are
    empty): the template holds about 4 MiB less, and a worker copies about
    1 MiB less of it as it reads them; models a handler loads later (another
    service's) come through the same loader. Nothing that depends on the function's environment
    is resolved here: region, endpoint, credentials and profile are read when the
    worker creates its client, from its own variables. The template runs with the
    same ``AWS_CONFIG_FILE``/``AWS_SHARED_CREDENTIALS_FILE`` (``/dev/null``) as
    every worker, so the config the session may have read is the one a worker
    would read.
    """
    try:
        import boto3
    except ImportError:
        return
    try:
        session = boto3.Session()
        loader = session._loader  # noqa: SLF001 - the loader boto3 made for this session
        compact = _load_by_path("../compact_models.py", "_streamlab_compact_models")
        loader.file_loader = compact.CompactJSONFileLoader()  # FIPS/dual-stack endpoints kept
        for name in WARM_DATA:
            loader.load_data(name)
        for service, kinds in WARM_SERVICES.items():
            version = loader.determine_latest_version(service, "service-2")
            for kind in kinds:
                loader.load_service_model(service, kind, version)
    except Exception:  # a boto3 without these models: workers load what they need
        return
    boto3.DEFAULT_SESSION = session


def warm_tls() -> None:
    """Initialise OpenSSL's shared state once, by creating (and dropping) one TLS context.

    Every boto3 client makes TLS contexts (its HTTP session's, and the credential
    chain's metadata fetchers'), plain-HTTP endpoint or not. OpenSSL 3 loads its
    providers and algorithm tables on the first one in a process, about 2 MiB and
    milliseconds; done here, forked workers share that state. The contexts a
    worker uses are its own, made as before.
    """
    try:
        from botocore.httpsession import create_urllib3_context
    except ImportError:
        return
    try:
        create_urllib3_context()
    except Exception:  # no TLS here: a worker fails on it as it would have
        return


#: what a DynamoDB answer could hold: enough for every warm-up call to parse an item
WARM_ANSWER = b'{"Item": {"k": {"S": "a"}, "n": {"N": "1"}}}'


class _CannedBody:
    """The raw body of a canned answer, as urllib3's response streams it to botocore."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: object):  # noqa: ANN202 - a generator of bytes
        yield self._body


def _canned_answer(request, **_: object):  # noqa: ANN001, ANN202
    from botocore.awsrequest import AWSResponse

    headers = {"x-amzn-RequestId": "warm-up", "Content-Type": "application/x-amz-json-1.0"}
    return AWSResponse(request.url, 200, headers, _CannedBody(WARM_ANSWER))


def warm_code_paths(rounds: int = 1) -> None:
    """Run once what a handler's first boto3 calls run, before any worker is forked.

    A forked worker copies every page of the template it writes to, and CPython
    3.11 writes to code as it first runs it (warm-up counters, then the
    specialised instructions it writes into the bytecode). A handler's
    ``boto3.resource("dynamodb")`` and its first calls run thousands of
    functions; run here once, a worker that uses DynamoDB copies about 1 MiB
    less of the template and starts a few milliseconds sooner. (More rounds
    save little more and leave the template more freed memory that workers
    then copy as they allocate into it.)

    Nothing of it stays behind: the clients come from a session of their own
    (the default session a handler uses is untouched; they share its loader,
    whose models are read-only), the credentials and region are set for the
    warm-up and then restored, and no request leaves the process: every call
    gets a canned answer before it would be sent.
    """
    try:
        import boto3
        import botocore.session
    except ImportError:
        return
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update(
        AWS_ACCESS_KEY_ID="warm-up", AWS_SECRET_ACCESS_KEY="warm-up", AWS_DEFAULT_REGION="us-east-1"
    )
    try:
        loader = boto3.DEFAULT_SESSION._loader if boto3.DEFAULT_SESSION else None  # noqa: SLF001
        for _ in range(rounds):
            botocore_session = botocore.session.Session()
            if loader is not None:
                botocore_session.register_component("data_loader", loader)
            session = boto3.Session(botocore_session=botocore_session)
            session.events.register("before-send", _canned_answer)
            endpoint = "http://127.0.0.1:9"  # never reached: the answer comes before sending
            table = session.resource("dynamodb", endpoint_url=endpoint).Table("warm-up")
            table.get_item(Key={"k": "a"})
            table.put_item(Item={"k": "a", "n": 1})
            table.update_item(
                Key={"k": "a"},
                UpdateExpression="ADD n :one",
                ExpressionAttributeValues={":one": 1},
            )
            client = session.client("dynamodb", endpoint_url=endpoint, region_name="us-west-2")
            client.put_item(TableName="warm-up", Item={"k": {"S": "a"}})
            client.delete_item(TableName="warm-up", Key={"k": {"S": "a"}})
    except Exception:  # a boto3 that differs: workers simply run that code cold, as before
        pass
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class Spare:
    """A worker forked ahead of demand, waiting for its environment on ``channel``."""

    def __init__(self, pid: int, channel: socket.socket) -> None:
        self.pid = pid
        self.channel = channel


def fork_spare(worker, template_pid: int) -> Spare | None:  # noqa: ANN001
    """Fork the next worker before it is asked for, so a cold start skips the fork.

    The child does now what needs no environment: its own session, the
    kernel's watch on the template, default signal handling, and every
    descriptor closed but its channel. Then it waits. Lambda too keeps
    environments ready before a function needs one.
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        pid = os.fork()
    except OSError:
        ours.close()
        theirs.close()
        return None
    if pid == 0:
        code = 1
        try:
            ours.close()
            os.setsid()
            watched = _end_with_parent(template_pid)
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            channel = theirs.fileno()
            os.closerange(3, channel)
            os.closerange(channel + 1, _max_fd())
            request, fds = read_message(theirs)
            if request is None or not fds:  # the template is gone, or ends its spare
                os._exit(0)
            become_worker(worker, request, fds[0], template_pid, watched)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    theirs.close()
    return Spare(pid, ours)


def become_worker(  # noqa: ANN001
    worker, request: dict, out_fd: int, template_pid: int, watched: bool
) -> None:
    """In the forked child: take the environment's identity, then run the worker. Never returns."""
    code = 1
    try:
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.closerange(3, _max_fd())
        # Fresh standard streams on the new descriptors (the old objects knew the old files),
        # unbuffered and UTF-8 as ``-u -X utf8`` made them.
        sys.stdout = sys.__stdout__ = _text_stream(1, "surrogateescape")
        sys.stderr = sys.__stderr__ = _text_stream(2, "backslashreplace")
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # The emulator names itself, the parent of a spawned worker; a forked one's parent
        # is the template, which the kernel watches, or else the worker itself.
        if watched:
            os.environ.pop("LAB_RUNTIME_PARENT_PID", None)
        else:
            os.environ["LAB_RUNTIME_PARENT_PID"] = str(template_pid)
        time.tzset()
        sys.argv = [worker.__file__]
        worker.main()
        code = 0
    except SystemExit as exc:
        if isinstance(exc.code, int):
            code = exc.code
        elif exc.code is not None:
            print(exc.code, file=sys.stderr)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        os._exit(code)


def _parent_death_signal():  # noqa: ANN202 - a C function, or None
    """Linux's ``prctl``, to have the kernel kill a worker when its template ends."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):
        return None
    prctl.restype = ctypes.c_int
    return prctl


PR_SET_PDEATHSIG = 1
_PRCTL = None  # set by the template's main(): the emulator, which imports this module, needs none


def _end_with_parent(template_pid: int) -> bool:
    """Ask the kernel to kill this worker when the template ends; say whether it will.

    The template ends when the emulator does (its socket closes), and ends its
    workers then; this also covers a template killed outright. Where the kernel
    cannot do it (macOS), the worker runs a thread that polls for its parent
    instead, which costs every cold start a thread.
    """
    if _PRCTL is None or _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
        return False
    if os.getppid() != template_pid:  # the template ended before the request took effect
        os._exit(1)
    return True


def _text_stream(fd: int, errors: str) -> io.TextIOWrapper:
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(raw, encoding="utf-8", errors=errors, write_through=True)


def _max_fd() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 65536)
    except (OSError, ValueError):
        return 65536


def _reap(sock: socket.socket, children: set[int]) -> set[int]:
    """Report each ended child; return the pids that ended."""
    ended: set[int] = set()
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended.add(pid)
        children.discard(pid)
        write_message(sock, {"exit": pid, "code": os.waitstatus_to_exitcode(status)})


def _hand_over(spare: Spare, request: dict, out_fd: int) -> bool:
    """Give ``spare`` its environment; False if it is gone (the caller forks instead)."""
    try:
        write_message(spare.channel, request, (out_fd,))
        return True
    except OSError:
        return False
    finally:
        spare.channel.close()


def serve(sock: socket.socket, worker) -> None:  # noqa: ANN001
    """Fork a worker per request until the emulator goes away, then end the workers."""
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # only to wake the selector
    signal.set_wakeup_fd(wake_w)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    children: set[int] = set()
    template_pid = os.getpid()
    try:
        write_message(sock, {"ready": template_pid})
    except OSError:  # the emulator ended while this template was loading: nothing to serve
        return
    spare = fork_spare(worker, template_pid)
    try:
        while True:
            for key, _ in selector.select():
                if key.fileobj == wake_r:
                    try:
                        while os.read(wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                    continue
                request, fds = read_message(sock)
                if request is None:
                    return
                out_fd = fds[0] if fds else -1
                try:
                    if out_fd < 0:
                        write_message(sock, {"failed": "no output pipe came with the request"})
                        continue
                    if spare is not None and _hand_over(spare, request, out_fd):
                        pid = spare.pid
                    else:
                        if spare is not None:  # it ended; the reaper collects it
                            os.kill(spare.pid, signal.SIGKILL)
                        try:
                            pid = os.fork()
                        except OSError as exc:
                            write_message(sock, {"failed": f"fork failed: {exc}"})
                            continue
                        if pid == 0:
                            os.setsid()
                            watched = _end_with_parent(template_pid)
                            signal.set_wakeup_fd(-1)
                            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                            become_worker(worker, request, out_fd, template_pid, watched)
                    children.add(pid)
                    write_message(sock, {"spawned": pid})
                finally:
                    for fd in fds:
                        os.close(fd)
                spare = fork_spare(worker, template_pid)  # after the answer: off the cold start
            ended = _reap(sock, children)
            if spare is not None and spare.pid in ended:
                spare.channel.close()
                spare = fork_spare(worker, template_pid)
    except (BrokenPipeError, ConnectionError):
        return
    finally:
        if spare is not None:
            try:
                os.kill(spare.pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass


def main() -> None:
    global _PRCTL
    sock = socket.socket(fileno=int(os.environ.pop("LAB_TEMPLATE_FD")))
    _PRCTL = _parent_death_signal()
    worker = load_worker()
    preload(worker)
    serve(sock, worker)


if __name__ == "__main__":
    main()
