"""``streamlab lab``: the emulator plus JupyterLab, opened on the first lab.

Works without a browser and over SSH: JupyterLab listens on loopback, and the
full URL (with its token) is printed so it can be opened directly or through an
SSH tunnel (``ssh -L 8888:127.0.0.1:8888 host``).

The URL printed is always one that answers: a second ``streamlab lab`` for the same
labs reuses the JupyterLab already running (and prints its URL), and when the port
is taken by something else the next free one is chosen before JupyterLab starts,
never after. JupyterLab's news pop-up and update check are switched off by
configuration (``jupyter_config/`` beside this module, added to
``JUPYTER_CONFIG_PATH`` for this server only), so a learner's first screen is the lab.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from streamlab.config import load_config
from streamlab.errors import LabError

FIRST_LAB = "labs/00_setup.ipynb"
KIT_JUPYTER_CONFIG = Path(__file__).with_name("jupyter_config")
KERNEL_STARTUP = Path(__file__).with_name("kernel_startup.py")
USER_STARTUP_VARIABLE = "STREAMLAB_USER_PYTHONSTARTUP"  # the learner's own, run after ours
PORTS_TO_TRY = 50


def find_repository_root(start: Path | None = None) -> Path:
    """The folder holding ``labs/``: the current folder or a parent, else the kit's checkout."""
    candidates = [start or Path.cwd(), *(start or Path.cwd()).parents]
    candidates.append(Path(__file__).resolve().parents[3])
    for folder in candidates:
        if (folder / "labs").is_dir() and (folder / "solutions").is_dir():
            return folder
    raise LabError("No labs/ folder found: run `streamlab lab` inside the streamlab checkout.")


def _display_available() -> bool:
    if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_TTY"):
        return False
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def lab_url(port: int, token: str) -> str:
    return f"http://127.0.0.1:{port}/lab/tree/{FIRST_LAB}?token={token}"


def _answers(url: str, token: str) -> bool:
    request = urllib.request.Request(f"{url.rstrip('/')}/api/status?token={token}")
    try:
        with urllib.request.urlopen(request, timeout=3) as response:
            return response.status == 200 and "started" in json.loads(response.read())
    except (OSError, ValueError):
        return False


def running_server(root: Path) -> dict[str, Any] | None:
    """The JupyterLab of this user already serving these labs (and answering), if any."""
    from jupyter_server.serverapp import list_running_servers

    for info in list_running_servers():
        try:
            same_root = Path(info.get("root_dir", "")).resolve() == root.resolve()
        except OSError:
            continue
        if same_root and _answers(info.get("url", ""), info.get("token", "")):
            return info
    return None


def free_port(preferred: int) -> int:
    """``preferred`` if nothing listens on it, else the next free port after it."""
    for port in range(preferred, preferred + PORTS_TO_TRY):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise LabError(
        f"Ports {preferred}-{preferred + PORTS_TO_TRY - 1} are all in use: stop some "
        "JupyterLab servers (`jupyter server list`) or pass --jupyter-port N."
    )


def _jupyter_environment() -> dict[str, str]:
    """This server's variables: the kit's Jupyter configuration, and the kernel start-up
    file that loads ``%%lambda_function`` in every kernel (see ``kernel_startup``)."""
    paths = [str(KIT_JUPYTER_CONFIG), os.environ.get("JUPYTER_CONFIG_PATH", "")]
    env = {**os.environ, "JUPYTER_CONFIG_PATH": os.pathsep.join(p for p in paths if p)}
    env["PYTHONSTARTUP"] = str(KERNEL_STARTUP)
    if os.environ.get("PYTHONSTARTUP") and os.environ["PYTHONSTARTUP"] != str(KERNEL_STARTUP):
        env[USER_STARTUP_VARIABLE] = os.environ["PYTHONSTARTUP"]
    return env


def run_lab(port: int = 8888, open_browser: bool | None = None) -> int:
    root = find_repository_root()
    config = load_config()
    if config.is_local:
        from streamlab.aws.session import start_own_emulator
        from streamlab.local import control

        config = start_own_emulator(config)
        print(control.status(config.port).message)
    running = running_server(root)
    if running is not None:
        print("JupyterLab is already running for these labs; open:")
        print(lab_url(running["port"], running.get("token", "")))
        return 0
    chosen = free_port(port)
    if chosen != port:
        print(f"port {port} is in use; JupyterLab will use {chosen}")
    port = chosen
    token = secrets.token_hex(16)
    browser = _display_available() if open_browser is None else open_browser
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",  # the URL printed below must be the one that answers
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.open_browser={browser}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI often run as root
    if (root / FIRST_LAB).exists():
        command.append(FIRST_LAB)
    print(f"JupyterLab: {lab_url(port, token)}")
    print(f"(over SSH: ssh -L {port}:127.0.0.1:{port} <host>, then open the URL; Ctrl+C stops)")
    sys.stdout.flush()
    try:
        return subprocess.call(command, cwd=root, env=_jupyter_environment())
    except KeyboardInterrupt:
        return 0
