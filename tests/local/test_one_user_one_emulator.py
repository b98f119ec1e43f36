"""One OS user, one emulator: nobody calls or attaches to an emulator another user owns."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamlab.config import load_config
from streamlab.errors import EmulatorError
from streamlab.local import control, paths
from streamlab.local.health import HEALTH_PATH, SERVICE_NAME

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def other_users_emulator() -> Iterator[int]:
    """A port whose health answer says: a streamlab emulator owned by another uid."""

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = json.dumps(
                {"service": SERVICE_NAME, "version": "0", "owner": str(os.getuid() + 4321)}
            ).encode()
            self.send_response(200 if self.path == HEALTH_PATH else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_an_explicit_port_held_by_another_user_is_never_used(
    state_dir: Path, other_users_emulator: int
) -> None:
    with pytest.raises(EmulatorError, match="belongs to another user"):
        control.start_own(other_users_emulator, movable=False)
    with pytest.raises(EmulatorError, match="belongs to another user"):
        control.start(other_users_emulator)
    assert "belongs to another user" in control.status(other_users_emulator).message


def test_otherwise_the_users_own_emulator_starts_elsewhere_and_is_found_again(
    state_dir: Path,
    other_users_emulator: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = control.start_own(other_users_emulator, movable=True)
    try:
        port = own.info["port"]
        assert port != other_users_emulator and own.is_ours
        line = capsys.readouterr().err.strip()
        assert "\n" not in line and "belongs to another user" in line and str(port) in line
        assert paths.port_file().read_text().strip() == str(port)
        monkeypatch.delenv("LAB_ENDPOINT")  # later calls, with no endpoint set, find it
        config = load_config()
        assert config.port == port and config.endpoint_source == "recorded"
        from streamlab.aws.session import connect

        assert connect().endpoint == f"http://127.0.0.1:{port}"
    finally:
        control.stop(own.info["port"])
        paths.port_file().unlink(missing_ok=True)


# -- a real second OS user (CI runs as root) --------------------------------------------------

OTHER_USER_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import boto3, botocore.config
    from botocore.exceptions import ClientError
    from streamlab.config import load_config
    from streamlab.errors import LabError
    from streamlab.local import control
    from streamlab.local.identities import issued

    theirs, their_credentials = sys.argv[1], sys.argv[2]
    report = {}
    try:
        open(their_credentials).read()
        report["read_credentials"] = "read"
    except OSError as exc:
        report["read_credentials"] = type(exc).__name__
    from streamlab.aws.session import connect
    try:
        connect(load_config({"LAB_ENDPOINT": theirs}))
        report["attach"] = "attached"
    except LabError as exc:
        report["attach"] = str(exc)
    mine = issued().notebook  # this user's own keys, unknown to the other emulator
    client = boto3.client(
        "dynamodb", endpoint_url=theirs, region_name="us-east-1",
        aws_access_key_id=mine.access_key, aws_secret_access_key=mine.secret_key,
        config=botocore.config.Config(retries={"max_attempts": 1}, proxies={}),
    )
    try:
        client.list_tables()
        report["call"] = "answered"
    except ClientError as exc:
        report["call"] = exc.response["Error"]["Code"]
    port = int(theirs.rsplit(":", 1)[1])
    own = control.start_own(port, movable=True)  # what connect() does with no LAB_ENDPOINT
    try:
        lab = connect(load_config({}))
        lab.dynamodb.create_table(
            TableName="OtherUsersTable", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        )
        report["own_port"] = own.info["port"]
        report["own_tables"] = lab.dynamodb.list_tables()["TableNames"]
    finally:
        control.stop(own.info["port"])
    print(json.dumps(report))
    """
)


def _python_for(user: str, environment: dict[str, str]) -> str | None:
    """A Python the other user may run that imports the kit, or None."""
    for candidate in (sys.executable, shutil.which("python3") or "", "/usr/bin/python3"):
        if not candidate:
            continue
        try:
            probe = subprocess.run(
                [candidate, "-c", "import boto3, psutil, moto, streamlab"],
                user=user,
                env=environment,
                capture_output=True,
                timeout=120,
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return candidate
    return None


@pytest.fixture
def other_user() -> Iterator[str]:
    """A fresh OS user, removed afterwards (only root can create one)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("creating another OS user needs root (CI runs as root); not run as root")
    if shutil.which("useradd") is None:
        pytest.skip("no useradd on this machine to create another OS user")
    name = f"sltrust{uuid.uuid4().hex[:8]}"
    subprocess.run(["useradd", "--create-home", name], check=True, timeout=60)
    try:
        yield name
    finally:
        subprocess.run(["userdel", "--remove", name], capture_output=True, timeout=60)


def test_another_os_user_can_neither_call_nor_attach(lab, emulator: str, other_user: str) -> None:
    import site

    home = Path(f"~{other_user}").expanduser()
    packages = [str(ROOT / "utils"), *site.getsitepackages()]
    environment = {
        "HOME": str(home),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": os.pathsep.join(packages),
        "LAB_STATE_DIR": str(home / ".streamlab"),
        "LAB_TEST_MODE": "1",
    }
    python = _python_for(other_user, environment)
    if python is None:
        pytest.skip(f"no Python that user {other_user} may run imports the kit's packages")
    result = subprocess.run(
        [python, "-c", OTHER_USER_SCRIPT, emulator, str(paths.credentials_file())],
        user=other_user,
        env=environment,
        cwd=str(home),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["read_credentials"] == "PermissionError"
    assert "belongs to another user" in report["attach"]
    assert report["call"] == "UnrecognizedClientException"
    assert report["own_port"] != int(emulator.rsplit(":", 1)[1])
    assert "belongs to another user" in result.stderr  # the one line, then its own emulator
    assert report["own_tables"] == ["OtherUsersTable"]
    assert "OtherUsersTable" not in lab.dynamodb.list_tables()["TableNames"]
