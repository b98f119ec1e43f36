"""Workers forked from the template are as separate as spawned ones.

A forked worker must not carry anything of the template or of another
environment: each test compares what a handler sees in a forked worker with
what it sees in a spawned one (``LAB_LAMBDA_START=spawn``), or attacks one
property (environment, descriptors, process group, orphans) directly.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from lambda_helpers import deploy, invoke, private_emulator, wait_for

from streamlab.aws.session import Lab
from streamlab.local.health import probe
from streamlab.local.runtime import forkserver

pytestmark = pytest.mark.skipif(os.name != "posix", reason="workers are forked on Linux and macOS")

IDENTITY = """
import os, socket, stat, sys, time
PRELOADED = "boto3" in sys.modules  # before this module imports anything of boto3

def _descriptors():
    found = []
    folder = "/proc/self/fd" if os.path.isdir("/proc/self/fd") else "/dev/fd"
    for name in sorted(os.listdir(folder), key=int):
        fd = int(name)
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue  # the listing's own descriptor, closed by now
        if stat.S_ISSOCK(mode):
            with socket.socket(fileno=os.dup(fd)) as sock:
                found.append([fd, "socket", sock.family.name])
        elif stat.S_ISFIFO(mode):
            found.append([fd, "pipe", ""])
        elif stat.S_ISCHR(mode):
            found.append([fd, "char", os.path.realpath(f"{folder}/{fd}") if fd == 0 else ""])
        else:
            found.append([fd, "file", ""])
    return found

def handler(event, context):
    print("to stdout")
    print("to stderr", file=sys.stderr)
    return {
        "preloaded": PRELOADED,
        "environ": dict(os.environ),
        "cwd": os.getcwd(),
        "pid": os.getpid(),
        "pgid": os.getpgid(0),
        "sid": os.getsid(0),
        "ppid": os.getppid(),
        "descriptors": _descriptors(),
        "utc_offset": time.strftime("%z"),
        "path": sys.path,
    }
"""

# What boto3 makes of the environment, in the handler's own client.
BOTO3_VIEW = """
import boto3
CLIENT = boto3.client("dynamodb")
def handler(event, context):
    credentials = boto3.DEFAULT_SESSION.get_credentials()
    return {
        "region": CLIENT.meta.region_name,
        "endpoint": CLIENT.meta.endpoint_url,
        "retries": CLIENT.meta.config.retries,
        "access_key": credentials.access_key,
        "tables": CLIENT.list_tables()["TableNames"] is not None,
    }
"""

# Starts a grandchild that would outlive the worker, then runs past the timeout.
SPAWNS_AND_HANGS = """
import subprocess, sys, time
def handler(event, context):
    child = subprocess.Popen(["sleep", "120"])
    with open(event["pidfile"], "w") as out:
        out.write(str(child.pid))
    time.sleep(30)
"""


@pytest.fixture(scope="module")
def spawn_lab(state_dir: Path) -> Iterator[Lab]:
    """An emulator that spawns every worker, as before the template (the reference)."""
    with private_emulator(state_dir, LAB_LAMBDA_START="spawn") as lab:
        yield lab


def _identity(lab: Lab, **variables: str) -> dict:
    # Code differing per call gets its own task folder (folders are by code hash).
    source = IDENTITY + f"# {sorted(variables.items())}\n"
    name = deploy(lab, source, Environment={"Variables": variables})
    result = invoke(lab, name, LogType="Tail")
    assert result.get("FunctionError") is None, result["body"]
    return {**result["body"], "log": result["log"]}


def _emulator_pid(lab: Lab) -> int:
    return int(probe(lab.endpoint).info["pid"])


def _template(lab: Lab) -> psutil.Process:
    children = psutil.Process(_emulator_pid(lab)).children()
    templates = [c for c in children if any("forkserver.py" in a for a in c.cmdline())]
    assert len(templates) == 1, [c.cmdline() for c in children]
    return templates[0]


def test_forked_worker_comes_from_the_preloaded_template(lab: Lab, spawn_lab: Lab) -> None:
    forked, spawned = _identity(lab), _identity(spawn_lab)
    assert forked["preloaded"] is True  # boto3 was imported before the handler's module ran
    assert forked["ppid"] == _template(lab).pid
    assert spawned["preloaded"] is False
    assert spawned["ppid"] == _emulator_pid(spawn_lab)


def test_forked_worker_has_exactly_the_environment_a_spawned_one_has(
    lab: Lab, spawn_lab: Lab
) -> None:
    forked = _identity(lab, ONLY_MINE="a")
    spawned = _identity(spawn_lab, ONLY_MINE="a")
    # A new interpreter may add LC_CTYPE when it coerces the C locale (PEP 538); that is
    # the interpreter's start, not the function's environment, and Lambda sets no LC_CTYPE.
    assert sorted(set(forked["environ"]) - {"LC_CTYPE"}) == sorted(
        set(spawned["environ"]) - {"LC_CTYPE"}
    )
    assert forked["environ"]["ONLY_MINE"] == "a"
    assert not [name for name in forked["environ"] if name.startswith("LAB_")]
    assert forked["path"][0] == forked["environ"]["LAMBDA_TASK_ROOT"]
    assert not [p for p in forked["path"] if "site-packages" in p or p.endswith("runtime")]


def test_each_forked_worker_gets_its_own_variables_and_folder(lab: Lab) -> None:
    first = _identity(lab, SECRET="first")
    second = _identity(lab, OTHER="second")
    assert first["environ"]["SECRET"] == "first"
    assert "SECRET" not in second["environ"]
    assert second["environ"]["OTHER"] == "second"
    assert first["cwd"] == first["environ"]["LAMBDA_TASK_ROOT"]
    assert second["cwd"] == second["environ"]["LAMBDA_TASK_ROOT"] != first["cwd"]
    assert first["utc_offset"] == "+0000"


def test_preloaded_boto3_reads_the_function_environment(lab: Lab, spawn_lab: Lab) -> None:
    def view(target: Lab, **variables: str) -> dict:
        name = deploy(target, BOTO3_VIEW, Environment={"Variables": variables})
        result = invoke(target, name)
        assert result.get("FunctionError") is None, result["body"]
        return result["body"]

    forked, spawned = view(lab, AWS_MAX_ATTEMPTS="7"), view(spawn_lab, AWS_MAX_ATTEMPTS="7")
    assert forked["retries"]["total_max_attempts"] == 7  # this function's variable
    assert forked["endpoint"] == lab.endpoint  # this emulator, from AWS_ENDPOINT_URL
    assert forked["region"] == lab.region
    assert {**forked, "endpoint": None} == {**spawned, "endpoint": None}
    assert view(lab)["retries"].get("total_max_attempts") != 7  # nothing kept from the last one


# What the default session's loader hands a handler's clients.
MODELS_VIEW = """
import boto3
CLIENT = boto3.client("dynamodb")
def handler(event, context):
    loader = boto3.DEFAULT_SESSION._loader
    model = loader.load_service_model("dynamodb", "service-2")
    endpoints = loader.load_data("endpoints")
    return {
        "model_type": type(model).__name__,
        "documented": "documentation" in model["operations"]["PutItem"],
        "fips": any("variants" in region for partition in endpoints["partitions"]
                    for region in partition["services"]["dynamodb"]["endpoints"].values()),
        "tables": CLIENT.list_tables()["TableNames"] is not None,
    }
"""


def test_forked_workers_read_compact_models_with_every_endpoint(lab: Lab, spawn_lab: Lab) -> None:
    def view(target: Lab) -> dict:
        result = invoke(target, deploy(target, MODELS_VIEW))
        assert result.get("FunctionError") is None, result["body"]
        return result["body"]

    forked, spawned = view(lab), view(spawn_lab)
    assert forked == {"model_type": "dict", "documented": False, "fips": True, "tables": True}
    assert spawned["documented"] is True  # a spawned worker parses botocore's own way
    assert spawned["fips"] is True and spawned["tables"] is True


def test_forked_worker_holds_no_descriptor_of_the_template(lab: Lab, spawn_lab: Lab) -> None:
    forked, spawned = _identity(lab), _identity(spawn_lab)
    kinds = [kind for _, kind, _ in forked["descriptors"]]
    assert kinds == [kind for _, kind, _ in spawned["descriptors"]]
    assert forked["descriptors"][0] == [0, "char", os.path.realpath(os.devnull)]
    assert [fd for fd, _, _ in forked["descriptors"][:3]] == [0, 1, 2]
    assert "AF_UNIX" not in [family for _, _, family in forked["descriptors"]]


def test_forked_worker_output_reaches_the_log(lab: Lab) -> None:
    log = _identity(lab)["log"]
    assert "to stdout\n" in log and "to stderr\n" in log


def test_forked_worker_leads_its_own_process_group(lab: Lab) -> None:
    seen = _identity(lab)
    assert seen["pgid"] == seen["pid"] == seen["sid"]
    assert seen["pgid"] != os.getpgid(_template(lab).pid)


def test_timeout_kills_the_forked_worker_and_what_it_started(lab: Lab, tmp_path: Path) -> None:
    name = deploy(lab, SPAWNS_AND_HANGS, Timeout=1)
    pidfile = tmp_path / "child.pid"
    result = invoke(lab, name, {"pidfile": str(pidfile)})
    assert result["body"]["errorType"] == "Sandbox.Timedout"
    grandchild = int(pidfile.read_text())
    wait_for(lambda: not _alive(grandchild), timeout=10)


def test_a_killed_template_is_replaced(state_dir: Path) -> None:
    with private_emulator(state_dir) as lab:
        first = _identity(lab)
        old = _template(lab)
        old.kill()
        wait_for(lambda: not first["pid"] or not _alive(first["pid"]), timeout=10)
        again = _identity(lab)  # a cold start: spawned at once, or forked from a new template
        assert again["environ"]["LAMBDA_TASK_ROOT"] == again["cwd"]
        wait_for(lambda: _template(lab).pid != old.pid, timeout=30)
        assert _identity(lab)["preloaded"] is True


def test_a_killed_spare_worker_is_replaced(state_dir: Path) -> None:
    # The template forks each worker ahead of demand; a spare that dies is not handed out.
    with private_emulator(state_dir) as lab:
        first = _identity(lab)
        template = _template(lab)
        wait_for(lambda: len(_spares(template, {first["pid"]})) == 1, timeout=10)
        for spare in _spares(template, {first["pid"]}):
            spare.kill()
        second = _identity(lab)
        assert second["ppid"] == template.pid
        assert second["environ"]["LAMBDA_TASK_ROOT"] == second["cwd"]
        wait_for(lambda: len(_spares(template, {first["pid"], second["pid"]})) == 1, timeout=10)


def _spares(template: psutil.Process, workers: set[int]) -> list[psutil.Process]:
    return [
        child for child in template.children()
        if child.pid not in workers and child.status() != psutil.STATUS_ZOMBIE
    ]


def test_killing_the_emulator_leaves_no_template_or_worker(state_dir: Path) -> None:
    with private_emulator(state_dir) as lab:
        worker = _identity(lab)["pid"]
        template = _template(lab).pid
        os.kill(_emulator_pid(lab), signal.SIGKILL)
        wait_for(lambda: not _alive(template) and not _alive(worker), timeout=10)


def test_a_busy_worker_ends_when_its_template_is_killed_and_the_emulator_frozen(
    state_dir: Path, tmp_path: Path
) -> None:
    # The emulator frozen, the template killed outright: neither can end the worker, which
    # is busy in its handler (not reading the Runtime API), and still it must end.
    with private_emulator(state_dir) as lab:
        name = deploy(lab, BUSY_FOREVER, Timeout=60)
        pid_file = tmp_path / "busy.pid"
        lab.lambda_.invoke(
            FunctionName=name, InvocationType="Event",
            Payload=f'{{"pid_file": "{pid_file}"}}'.encode(),
        )
        wait_for(pid_file.exists)
        worker = int(pid_file.read_text())
        template = _template(lab)
        assert psutil.Process(worker).ppid() == template.pid
        emulator = _emulator_pid(lab)
        os.kill(emulator, signal.SIGSTOP)
        try:
            template.kill()
            wait_for(lambda: not _alive(worker), timeout=10)
        finally:
            os.kill(emulator, signal.SIGKILL)


BUSY_FOREVER = """
import os, time
def handler(event, context):
    with open(event["pid_file"] + ".tmp", "w") as out:
        out.write(str(os.getpid()))
    os.replace(event["pid_file"] + ".tmp", event["pid_file"])
    while True:
        time.sleep(0.05)
"""


def test_messages_carry_a_descriptor_across_the_socket() -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    read_fd, write_fd = os.pipe()
    try:
        forkserver.write_message(ours, {"cwd": "/tmp", "env": {"A": "x" * 20_000}}, (write_fd,))
        message, fds = forkserver.read_message(theirs)
        assert message == {"cwd": "/tmp", "env": {"A": "x" * 20_000}}
        assert len(fds) == 1
        os.write(fds[0], b"through")
        os.close(fds[0])
        assert os.read(read_fd, 16) == b"through"
        ours.close()
        assert forkserver.read_message(theirs)[0] is None  # the peer is gone
    finally:
        for fd in (read_fd, write_fd):
            os.close(fd)
        theirs.close()


WARM_UP_LEAVES_NOTHING = """
import os
import boto3, botocore.config, botocore.exceptions
from streamlab.local.runtime import forkserver
forkserver.warm_boto3()
before_env, before_session = dict(os.environ), boto3.DEFAULT_SESSION
forkserver.warm_code_paths()
assert dict(os.environ) == before_env, "the warm-up left variables behind"
assert boto3.DEFAULT_SESSION is before_session, "the warm-up replaced the default session"
client = boto3.client("dynamodb", region_name="eu-west-1", endpoint_url="http://127.0.0.1:9",
                      aws_access_key_id="a", aws_secret_access_key="b",
                      config=botocore.config.Config(retries={"total_max_attempts": 1}))
try:
    client.list_tables()
except botocore.exceptions.EndpointConnectionError:
    print("sent")  # the request left: no canned answer stayed on the default session
"""


def test_warm_up_leaves_no_variable_session_or_canned_answer_behind(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "-c", WARM_UP_LEAVES_NOTHING],
        env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "sent"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
