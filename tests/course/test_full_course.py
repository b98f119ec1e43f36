"""The whole course in order on one fresh emulator, as a participant would run it.

Every solution notebook runs top to bottom, each twice in a row (the second run
takes the paths of a learner re-running cells), then ``99_cleanup``, all under
one name prefix. Afterwards the emulator must hold nothing at all (every resource the
labs create carried the prefix, and cleanup removed it), and the API actions the
notebooks called must be exactly what the committed participant IAM policy
allows. ``make policy`` regenerates the policy from this run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from streamlab.aws.session import connect
from streamlab.config import load_config
from streamlab.local import control
from streamlab.local.actions import read_actions
from streamlab.local.identities import NOTEBOOK
from streamlab.tooling.cleanup import find_resources
from streamlab.tooling.participant_policy import (
    allowed_actions,
    participant_policy,
    render,
    with_implied,
)

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILE = ROOT / "lab_guide" / "iam" / "participant-policy.json"
ACTIONS_FILE = ROOT / "utils" / "streamlab" / "tooling" / "data" / "lab_actions.json"
COURSE = [
    "00_setup",
    "01_dynamodb_basics",
    "02_streams",
    "03_lambda",
    "04_event_driven_app",
    "05_reliability",
    "06_replication_analytics",
    "99_cleanup",
]
PREFIX = "course-"


def _notebooks() -> list[Path]:
    return [ROOT / "solutions" / f"{name}.ipynb" for name in COURSE]


@pytest.fixture(scope="module")
def course_run(state_dir) -> Iterator[dict]:
    missing = [path.name for path in _notebooks() if not path.exists()]
    assert not missing, f"solution notebooks missing from the course: {missing}"
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    control.start(port)
    saved = {key: os.environ.get(key) for key in ("LAB_ENDPOINT", "LAB_PREFIX", "LAB_BACKEND")}
    os.environ.update(LAB_ENDPOINT=endpoint, LAB_PREFIX=PREFIX, LAB_BACKEND="local")
    try:
        # Every lab twice in a row (learners re-run cells: the second run takes the update
        # paths and proves the lab is idempotent), then the cleanup once.
        for path in [p for p in _notebooks()[:-1] for _ in range(2)] + _notebooks()[-1:]:
            notebook = nbformat.read(path, as_version=4)
            NotebookClient(
                notebook,
                timeout=180,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
        actions = read_actions(endpoint)
        lab = connect(load_config({"LAB_ENDPOINT": endpoint, "LAB_PREFIX": ""}))
        leftovers = [str(resource) for resource in find_resources(lab)]
        yield {"actions": actions, "leftovers": leftovers}
    finally:
        control.stop(port)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_every_notebook_runs_and_cleanup_leaves_nothing_in_the_account(course_run: dict) -> None:
    assert course_run["leftovers"] == []


def test_participant_policy_allows_exactly_what_the_labs_call(course_run: dict) -> None:
    called = {a["action"] for a in course_run["actions"] if a["identity"] == NOTEBOOK}
    assert called, "no API calls were recorded from the notebooks"
    generated = participant_policy(called)
    if os.environ.get("LAB_WRITE_POLICY") == "1":
        POLICY_FILE.parent.mkdir(parents=True, exist_ok=True)
        POLICY_FILE.write_text(render(generated))
        ACTIONS_FILE.write_text(json.dumps({"actions": sorted(called)}, indent=2) + "\n")
    committed = json.loads(POLICY_FILE.read_text())
    missing = with_implied(called) - allowed_actions(committed)
    unused = allowed_actions(committed) - with_implied(called)
    assert not missing, f"the labs call actions the policy lacks (run `make policy`): {missing}"
    assert not unused, f"the policy allows actions no lab uses (run `make policy`): {unused}"
    assert set(json.loads(ACTIONS_FILE.read_text())["actions"]) == called
