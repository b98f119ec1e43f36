"""A real JupyterHub: two local users run lab 00 at once, each on their own emulator.

What the instructor's guide (lab_guide/instructor.md, "Running the labs on a
JupyterHub") describes, end to end on this machine: JupyterHub with its
configurable-http-proxy and the default LocalProcessSpawner, which starts each
user's single-user server as that OS user. Each user gets their own
``LAB_STATE_DIR`` under their home and their own emulator port from the
spawner's environment; both users execute every code cell of
``solutions/00_setup.ipynb`` in a kernel of their own server at the same time.

Needs root (the test creates the two users with ``useradd`` and removes them,
their processes and their homes afterwards) and the proxy (``npm install`` in
the repository, or ``configurable-http-proxy`` on PATH); otherwise it is
skipped with the reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import psutil
import pytest

from streamlab.local.control import free_port

ROOT = Path(__file__).resolve().parents[2]
LAB00 = ROOT / "solutions" / "00_setup.ipynb"
BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 120.0
CELL_TIMEOUT_SECONDS = 120.0

pytestmark = [pytest.mark.emulator, pytest.mark.timeout(900)]


def _proxy() -> str | None:
    local = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
    return str(local) if local.exists() else shutil.which("configurable-http-proxy")


def _skip_reason() -> str | None:
    if sys.platform != "linux":
        return "the hub test creates Linux users"
    if os.geteuid() != 0:
        return "creating the hub's two local users (useradd) needs root"
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        return "useradd/userdel not found"
    if _proxy() is None:
        return (
            "configurable-http-proxy not found: run `npm install` in the repository "
            "(package.json) or put it on PATH"
        )
    if not (BIN / "jupyterhub").exists() or not (BIN / "jupyterhub-singleuser").exists():
        return "jupyterhub is not installed in this environment (pip install -e '.[dev]')"
    return None


def _usable_by_others(path: Path) -> bool:
    """Can a user other than root run ``path`` (every folder above it traversable)?"""
    resolved = path.resolve()
    for folder in resolved.parents:
        if not folder.stat().st_mode & 0o001:
            return False
    return bool(resolved.stat().st_mode & 0o001)


def _shared_environment(folder: Path) -> Path:
    """The ``python`` the users' servers run: this environment, or one they can reach.

    A hub installs the kit where every user can run it (TLJH: /opt/tljh/user). When
    this environment's interpreter is out of other users' reach (say under a 0700
    /root), the test makes a small venv from a system Python of the same version that
    reads this environment's packages and the kit's source through a .pth file.
    """
    if _usable_by_others(Path(sys.executable)):
        return Path(sys.executable)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = next(
        (
            Path(candidate)
            for candidate in (f"/usr/bin/{version}", f"/usr/local/bin/{version}")
            if Path(candidate).exists() and _usable_by_others(Path(candidate))
        ),
        None,
    )
    if base is None:
        pytest.skip(
            f"{sys.executable} cannot be run by other users and there is no system {version} "
            "to build a shared environment from"
        )
    venv = folder / "venv"
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site_packages = next(
        p for p in sys.path if p.endswith("site-packages") and p.startswith(sys.prefix)
    )
    shared = venv / "lib" / version / "site-packages" / "streamlab-hub-test.pth"
    shared.write_text(f"{site_packages}\n{ROOT / 'utils'}\n")
    return venv / "bin" / "python"


@dataclass
class HubUser:
    name: str
    home: Path
    port: int

    @property
    def state_dir(self) -> Path:
        return self.home / ".streamlab"

    @property
    def uid(self) -> int:
        return pwd.getpwnam(self.name).pw_uid


@dataclass
class Hub:
    url: str
    token: str
    users: list[HubUser]

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, (json.loads(raw) if raw else {})
        except urllib.error.HTTPError as exc:
            return exc.code, {"error": exc.read().decode(errors="replace")[:500]}


CONFIG = """
import json
PORTS = json.loads({ports!r})
HOMES = json.loads({homes!r})
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {hub_port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {api_port}
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/cookie_secret"
c.JupyterHub.pid_file = "{folder}/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = "{folder}/proxy.pid"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = set(PORTS)
c.JupyterHub.services = [{{"name": "labtest", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [
    {{
        "name": "labtest",
        "scopes": ["admin:users", "admin:servers", "access:servers"],
        "services": ["labtest"],
    }}
]
# The default LocalProcessSpawner: each server runs as its OS user, in their home.
c.Spawner.cmd = [{python!r}, "-m", "jupyterhub.singleuser"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
# One emulator per user: a state folder under their home and (until the emulator finds
# a free port itself) a port of their own.
c.Spawner.environment = {{
    "LAB_BACKEND": "local",
    "LAB_ENDPOINT": lambda spawner: f"http://127.0.0.1:{{PORTS[spawner.user.name]}}",
    "LAB_STATE_DIR": lambda spawner: HOMES[spawner.user.name] + "/.streamlab",
    "LAB_TEST_MODE": "1",
}}
"""


def _wait(predicate, timeout: float, what: str, interval: float = 0.25):  # noqa: ANN001, ANN202
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(interval)


def _kill_user_processes(uid: int) -> None:
    for process in psutil.process_iter(["uids"]):
        try:
            if process.info["uids"] and process.info["uids"].real == uid:
                process.kill()
        except psutil.Error:
            pass


def _remove_user(user: HubUser) -> None:
    try:
        uid = user.uid
    except KeyError:
        return
    for _ in range(3):  # a dying server may still fork a child: sweep until none is left
        _kill_user_processes(uid)
        time.sleep(0.3)
    subprocess.run(["userdel", "-r", "-f", user.name], capture_output=True, timeout=60)
    shutil.rmtree(user.home, ignore_errors=True)


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    folder = Path(tempfile.mkdtemp(prefix="streamlab-hub-"))  # 0700: holds the token
    shared = Path(tempfile.mkdtemp(prefix="streamlab-hub-env-"))
    shared.chmod(0o755)
    users: list[HubUser] = []
    process = None
    log = open(folder / "hub.log", "wb")  # noqa: SIM115 - closed in finally
    try:
        for _ in range(2):
            name = f"slhub{uuid.uuid4().hex[:8]}"
            home = Path("/home") / name
            created = subprocess.run(
                ["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/sh", name],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if created.returncode != 0:
                pytest.skip(f"useradd failed: {created.stderr.strip()}")
            users.append(HubUser(name, home, free_port()))
        token = secrets.token_hex(32)
        hub_port = free_port()
        (folder / "jupyterhub_config.py").write_text(
            CONFIG.format(
                ports=json.dumps({user.name: user.port for user in users}),
                homes=json.dumps({user.name: str(user.home) for user in users}),
                hub_port=hub_port,
                api_port=free_port(),
                proxy_api_port=free_port(),
                folder=folder,
                proxy=_proxy(),
                token=token,
                python=str(_shared_environment(shared)),
            )
        )
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith("LAB_") and not name.startswith("JUPYTER")
        }
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        process = subprocess.Popen(
            [str(BIN / "jupyterhub"), "-f", str(folder / "jupyterhub_config.py")],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        hub = Hub(f"http://127.0.0.1:{hub_port}", token, users)

        def hub_answers() -> bool:
            assert process.poll() is None, _tail(folder / "hub.log")
            try:
                return hub.api("GET", "/hub/api/")[0] == 200
            except OSError:
                return False

        _wait(hub_answers, 60, "the hub answering")
        yield hub
    finally:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # stops the servers and the proxy it started
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        _kill_from_pid_file(folder / "proxy.pid")
        for user in users:
            _remove_user(user)
        shutil.rmtree(shared, ignore_errors=True)
        log.close()
        # The hub's log stays for reading after a failure (test-artifacts/ is not committed).
        artifacts = ROOT / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        shutil.copy(folder / "hub.log", artifacts / "hub.log")
        shutil.rmtree(folder, ignore_errors=True)


def _kill_from_pid_file(path: Path) -> None:
    try:
        psutil.Process(int(path.read_text().strip())).kill()
    except (OSError, ValueError, psutil.Error):
        pass


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --------------------------------------------------------------------------- a kernel, remotely


def _code_cells(path: Path) -> list[str]:
    notebook = json.loads(path.read_text())
    return ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _message(session: str, code: str) -> dict:
    return {
        "header": {
            "msg_id": uuid.uuid4().hex,
            "username": "labtest",
            "session": session,
            "msg_type": "execute_request",
            "version": "5.3",
            "date": datetime.now(timezone.utc).isoformat(),
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }


async def _run_cells(hub: Hub, user: HubUser, cells: list[str]) -> list[str]:
    """Execute ``cells`` in a new kernel of ``user``'s server; return each cell's stdout."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    status, kernel = await asyncio.to_thread(
        hub.api, "POST", f"/user/{user.name}/api/kernels", {"name": "python3"}
    )
    assert status == 201, kernel
    url = hub.url.replace("http://", "ws://") + f"/user/{user.name}/api/kernels/{kernel['id']}"
    socket_ = await websocket_connect(
        HTTPRequest(
            url + "/channels",
            headers={"Authorization": f"token {hub.token}"},
            connect_timeout=30,
            request_timeout=30,
        )
    )
    session = uuid.uuid4().hex
    printed: list[str] = []
    try:
        for index, code in enumerate(cells):
            request = _message(session, code)
            await socket_.write_message(json.dumps(request))
            stdout, reply = "", None
            while reply is None:
                raw = await asyncio.wait_for(socket_.read_message(), CELL_TIMEOUT_SECONDS)
                assert raw is not None, f"{user.name}: the kernel's socket closed at cell {index}"
                message = json.loads(raw)
                if message.get("parent_header", {}).get("msg_id") != request["header"]["msg_id"]:
                    continue
                kind = message["header"]["msg_type"]
                if kind == "stream":
                    stdout += message["content"]["text"]
                elif kind == "error":
                    content = message["content"]
                    raise AssertionError(
                        f"{user.name}, cell {index}: {content['ename']}: {content['evalue']}"
                    )
                elif kind == "execute_reply":
                    reply = message["content"]
            assert reply["status"] == "ok", f"{user.name}, cell {index}: {reply}"
            printed.append(stdout)
    finally:
        socket_.close()
        await asyncio.to_thread(hub.api, "DELETE", f"/user/{user.name}/api/kernels/{kernel['id']}")
    return printed


def _start_server(hub: Hub, user: HubUser) -> None:
    status, body = hub.api("POST", f"/hub/api/users/{user.name}")
    assert status in (201, 409), body  # 409: the user exists already
    status, body = hub.api("POST", f"/hub/api/users/{user.name}/server")
    assert status in (201, 202), body

    def ready() -> bool:
        info = hub.api("GET", f"/hub/api/users/{user.name}")[1]
        return bool(info.get("servers", {}).get("", {}).get("ready"))

    _wait(ready, START_TIMEOUT_SECONDS, f"{user.name}'s server starting", interval=0.5)


def _emulator(user: HubUser) -> psutil.Process:
    record = json.loads((user.state_dir / f"emulator-{user.port}.pid").read_text())
    return psutil.Process(int(record["pid"]))


def test_two_users_run_lab_00_at_once_each_on_their_own_emulator(hub: Hub) -> None:
    for user in hub.users:
        _start_server(hub, user)
    cells = _code_cells(LAB00)

    async def everyone() -> list[list[str]]:
        return await asyncio.gather(*(_run_cells(hub, user, cells) for user in hub.users))

    outputs = asyncio.run(everyone())
    emulators = []
    for user, printed in zip(hub.users, outputs, strict=True):
        assert "backend: local" in printed[1]
        emulator = _emulator(user)
        emulators.append(emulator)
        assert emulator.uids().real == user.uid  # started by the user's own kernel
        listening = {c.laddr.port for c in emulator.net_connections() if c.status == "LISTEN"}
        assert user.port in listening
        # Its function workers and template (if any) are the user's too.
        for child in emulator.children(recursive=True):
            assert child.uids().real == user.uid
    assert emulators[0].pid != emulators[1].pid
