"""Execution environments live as on Lambda: warm reuse, replacement, concurrency, reaping."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from lambda_helpers import (
    deploy,
    invoke,
    lambda_without_retries,
    private_emulator,
    wait_for,
    zip_source,
)

from streamlab.aws.session import Lab

COUNTER = """
import os
COUNT = 0
def handler(event, context):
    global COUNT
    COUNT += 1
    return {"count": COUNT, "pid": os.getpid(), "stream": context.log_stream_name,
            "greeting": os.environ.get("GREETING")}
"""

# Waits until the test creates a file, so that two invocations provably overlap.
GATED = """
import os, time
def handler(event, context):
    if event.get("started"):
        open(event["started"], "w").close()
    while event.get("gate") and not os.path.exists(event["gate"]):
        time.sleep(0.01)
    return {"pid": os.getpid(), "stream": context.log_stream_name}
"""


def test_warm_environment_keeps_module_state(lab: Lab) -> None:
    name = deploy(lab, COUNTER)
    first, second, third = (invoke(lab, name)["body"] for _ in range(3))
    assert [first["count"], second["count"], third["count"]] == [1, 2, 3]
    assert first["pid"] == second["pid"] == third["pid"]


def test_first_invocation_is_a_cold_start(lab: Lab) -> None:
    name = deploy(lab, COUNTER)
    cold = invoke(lab, name, LogType="Tail")["log"]
    warm = invoke(lab, name, LogType="Tail")["log"]
    assert "\tInit Duration: " in cold
    assert "Init Duration" not in warm


def test_code_update_replaces_the_environment(lab: Lab) -> None:
    name = deploy(lab, COUNTER)
    before = invoke(lab, name)["body"]
    invoke(lab, name)
    lab.lambda_.update_function_code(
        FunctionName=name, ZipFile=zip_source(COUNTER.replace("COUNT += 1", "COUNT += 10"))
    )
    after = invoke(lab, name)["body"]
    assert after["count"] == 10  # new code, fresh module state
    assert after["pid"] != before["pid"]
    wait_for(lambda: not psutil.pid_exists(before["pid"]))  # the old worker ended


def test_configuration_update_replaces_the_environment(lab: Lab) -> None:
    name = deploy(lab, COUNTER, Environment={"Variables": {"GREETING": "hello"}})
    before = invoke(lab, name)["body"]
    lab.lambda_.update_function_configuration(
        FunctionName=name, Environment={"Variables": {"GREETING": "bonjour"}}
    )
    after = invoke(lab, name)["body"]
    assert (before["greeting"], after["greeting"]) == ("hello", "bonjour")
    assert after["count"] == 1 and after["pid"] != before["pid"]


def _invoke_in_background(lab: Lab, name: str, event: dict) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def run() -> None:
        try:
            box["response"] = invoke(lab, name, event)
        except Exception as exc:  # reported by the test's assertion
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def test_overlapping_invocations_run_in_separate_environments(lab: Lab, tmp_path: Path) -> None:
    name = deploy(lab, GATED, Timeout=30)
    gate, started = tmp_path / "gate", tmp_path / "started"
    thread, box = _invoke_in_background(lab, name, {"gate": str(gate), "started": str(started)})
    wait_for(started.exists)
    second = invoke(lab, name, {})["body"]  # the first is still running
    gate.touch()
    thread.join(timeout=30)
    first = box["response"]["body"]
    assert first["pid"] != second["pid"]
    assert first["stream"] != second["stream"]  # one log stream per environment


@pytest.fixture(scope="module")
def tight_lab(state_dir: Path) -> Iterator[Lab]:
    """An emulator with one environment per function and one idle environment in all."""
    with private_emulator(
        state_dir, LAB_LAMBDA_MAX_ENVIRONMENTS="1", LAB_LAMBDA_MAX_IDLE_ENVIRONMENTS="1"
    ) as lab:
        yield lab


def test_invocations_beyond_the_local_cap_wait_for_a_free_environment(
    tight_lab: Lab, tmp_path: Path
) -> None:
    lab = tight_lab
    name = deploy(lab, GATED, Timeout=30)
    gate = tmp_path / "gate"
    first, second = tmp_path / "first", tmp_path / "second"
    thread_a, box_a = _invoke_in_background(lab, name, {"gate": str(gate), "started": str(first)})
    wait_for(first.exists)
    thread_b, box_b = _invoke_in_background(lab, name, {"started": str(second)})
    with pytest.raises(AssertionError):  # not started while the only environment is busy
        wait_for(second.exists, timeout=1.0)
    gate.touch()
    thread_a.join(timeout=30)
    thread_b.join(timeout=30)
    assert box_a["response"]["body"]["pid"] == box_b["response"]["body"]["pid"]


def test_reserved_concurrency_throttles_beyond_it(lab: Lab, tmp_path: Path) -> None:
    name = deploy(lab, GATED, Timeout=30)
    lab.lambda_.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    gate, started = tmp_path / "gate", tmp_path / "started"
    thread, box = _invoke_in_background(lab, name, {"gate": str(gate), "started": str(started)})
    wait_for(started.exists)
    client = lambda_without_retries(lab)
    with pytest.raises(client.exceptions.TooManyRequestsException) as error:
        client.invoke(FunctionName=name, Payload=b"{}")
    assert error.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    gate.touch()
    thread.join(timeout=30)
    assert "pid" in box["response"]["body"]
    assert "pid" in invoke(lab, name, {})["body"]  # the slot is free again


def test_reserved_concurrency_zero_throttles_everything(lab: Lab) -> None:
    name = deploy(lab, COUNTER)
    lab.lambda_.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    client = lambda_without_retries(lab)
    with pytest.raises(client.exceptions.TooManyRequestsException):
        client.invoke(FunctionName=name, Payload=b"{}")


def test_deleted_function_ends_its_environments(lab: Lab) -> None:
    name = deploy(lab, COUNTER)
    pid = invoke(lab, name)["body"]["pid"]
    lab.lambda_.delete_function(FunctionName=name)
    with pytest.raises(lab.lambda_.exceptions.ResourceNotFoundException):
        lab.lambda_.invoke(FunctionName=name, Payload=b"{}")
    wait_for(lambda: not psutil.pid_exists(pid), timeout=20)


def test_idle_environments_are_reaped(state_dir: Path) -> None:
    with private_emulator(state_dir, LAB_LAMBDA_IDLE_SECONDS="0.5") as lab:
        name = deploy(lab, COUNTER)
        first = invoke(lab, name)["body"]
        wait_for(lambda: not psutil.pid_exists(first["pid"]))
        again = invoke(lab, name, LogType="Tail")
        assert again["body"]["count"] == 1
        assert "Init Duration" in again["log"]


def test_least_recently_used_idle_environments_beyond_the_cap_are_stopped(tight_lab: Lab) -> None:
    lab = tight_lab
    older, newer = deploy(lab, COUNTER), deploy(lab, COUNTER)
    older_pid = invoke(lab, older)["body"]["pid"]
    newer_pid = invoke(lab, newer)["body"]["pid"]
    wait_for(lambda: not _alive(older_pid))
    assert _alive(newer_pid)
    assert invoke(lab, newer)["body"]["count"] == 2  # still warm
    assert invoke(lab, older)["body"]["count"] == 1  # cold again


@pytest.fixture(scope="module")
def budget_lab(state_dir: Path) -> Iterator[Lab]:
    """An emulator with at most two environments alive at once."""
    with private_emulator(state_dir, LAB_LAMBDA_MAX_LIVE_ENVIRONMENTS="2") as lab:
        yield lab


def test_a_new_environment_stops_the_least_recently_used_idle_one_beyond_the_budget(
    budget_lab: Lab,
) -> None:
    lab = budget_lab
    oldest, older, newest = (deploy(lab, COUNTER) for _ in range(3))
    oldest_pid = invoke(lab, oldest)["body"]["pid"]
    older_pid = invoke(lab, older)["body"]["pid"]
    assert _alive(oldest_pid) and _alive(older_pid)  # two live: within the budget
    invoke(lab, newest)  # a third needs room: the least recently used idle one goes
    wait_for(lambda: not _alive(oldest_pid))
    assert _alive(older_pid)
    assert invoke(lab, older)["body"]["count"] == 2  # still warm
    assert invoke(lab, oldest)["body"]["count"] == 1  # cold again


def test_beyond_the_budget_an_invocation_waits_for_a_busy_environment_to_free_up(
    budget_lab: Lab, tmp_path: Path
) -> None:
    lab = budget_lab
    first_function, other_function = deploy(lab, GATED, Timeout=30), deploy(lab, GATED, Timeout=30)
    gates = {name: tmp_path / f"gate-{name}" for name in ("a", "b", "c")}
    started = {name: tmp_path / f"started-{name}" for name in ("a", "b", "c")}

    def run(function: str, name: str) -> tuple[threading.Thread, dict]:
        event = {"gate": str(gates[name]), "started": str(started[name])}
        return _invoke_in_background(lab, function, event)

    calls = {"a": run(first_function, "a"), "b": run(first_function, "b")}
    wait_for(started["a"].exists)
    wait_for(started["b"].exists)  # two busy: the budget is full
    calls["c"] = run(other_function, "c")
    with pytest.raises(AssertionError):  # not started while both are busy
        wait_for(started["c"].exists, timeout=1.0)
    gates["a"].touch()  # a ends: its idle environment makes room for c
    wait_for(started["c"].exists, timeout=4.0)  # before the fallback (5 s) would start it
    for gate in gates.values():
        gate.touch()
    for thread, _ in calls.values():
        thread.join(timeout=30)
    pids = {name: box["response"]["body"]["pid"] for name, (_, box) in calls.items()}
    wait_for(lambda: not _alive(pids["a"]))  # stopped to make room
    assert _alive(pids["b"]) and _alive(pids["c"])


def test_an_invocation_that_waits_too_long_for_room_starts_one_anyway(
    budget_lab: Lab, tmp_path: Path
) -> None:
    """No invocation waits on the budget for good: a function that invokes another
    synchronously would otherwise wait on itself."""
    lab = budget_lab
    name = deploy(lab, GATED, Timeout=30)
    gate = tmp_path / "gate"
    started = [tmp_path / f"started-{i}" for i in range(3)]
    calls = [
        _invoke_in_background(lab, name, {"gate": str(gate), "started": str(path)})
        for path in started
    ]
    for path in started:  # the third after the room wait, beyond the budget of two
        wait_for(path.exists, timeout=20.0)
    gate.touch()
    for thread, _ in calls:
        thread.join(timeout=30)
    assert len({box["response"]["body"]["pid"] for _, box in calls}) == 3


def test_workers_end_when_the_emulator_stops(state_dir: Path) -> None:
    with private_emulator(state_dir) as lab:
        pid = invoke(lab, deploy(lab, COUNTER))["body"]["pid"]
        assert _alive(pid)
    wait_for(lambda: not _alive(pid), timeout=10)


def _emulator_pid(lab: Lab) -> int:
    import json
    import urllib.request

    from streamlab.local.health import HEALTH_PATH

    with urllib.request.urlopen(f"{lab.endpoint}{HEALTH_PATH}", timeout=5) as response:
        return int(json.loads(response.read())["pid"])


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX; Windows uses a process wait")
def test_no_orphan_workers_when_the_emulator_is_killed(tmp_path: Path, state_dir: Path) -> None:
    with private_emulator(state_dir) as lab:
        idle_pid = invoke(lab, deploy(lab, COUNTER))["body"]["pid"]
        busy = deploy(lab, GATED + PID_FILE, Timeout=60)
        pid_file = tmp_path / "busy.pid"
        lab.lambda_.invoke(
            FunctionName=busy,
            InvocationType="Event",
            Payload=f'{{"gate": "{tmp_path / "never"}", "pid_file": "{pid_file}"}}'.encode(),
        )
        wait_for(pid_file.exists)
        busy_pid = int(pid_file.read_text())
        assert psutil.pid_exists(idle_pid) and psutil.pid_exists(busy_pid)
        os.kill(_emulator_pid(lab), signal.SIGKILL)
        wait_for(lambda: not _alive(idle_pid), timeout=10)  # it was waiting for work
        wait_for(lambda: not _alive(busy_pid), timeout=10)  # it was running the handler


PID_FILE = """
_original = handler
def handler(event, context):
    with open(event["pid_file"] + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(event["pid_file"] + ".tmp", event["pid_file"])
    return _original(event, context)
"""


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
