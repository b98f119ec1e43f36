"""``streamlab lab``: the emulator plus JupyterLab, opened on the first lab.

Works without a browser and over SSH: JupyterLab listens on loopback, and the
full URL (with its token) is printed so it can be opened directly or through an
SSH tunnel (``ssh -L 8888:127.0.0.1:8888 host``).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from streamlab.config import load_config
from streamlab.errors import LabError

FIRST_LAB = "labs/00_setup.ipynb"


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


def run_lab(port: int = 8888, open_browser: bool | None = None) -> int:
    root = find_repository_root()
    config = load_config()
    if config.is_local:
        from streamlab.aws.session import start_own_emulator
        from streamlab.local import control

        config = start_own_emulator(config)
        print(control.status(config.port).message)
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
        f"--IdentityProvider.token={token}",
        f"--ServerApp.open_browser={browser}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and CI often run as root
    if (root / FIRST_LAB).exists():
        command.append(FIRST_LAB)
    print(f"JupyterLab: http://127.0.0.1:{port}/lab/tree/{FIRST_LAB}?token={token}")
    print(f"(over SSH: ssh -L {port}:127.0.0.1:{port} <host>, then open the URL; Ctrl+C stops)")
    sys.stdout.flush()
    try:
        return subprocess.call(command, cwd=root)
    except KeyboardInterrupt:
        return 0
