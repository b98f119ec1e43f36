"""The whole course in order on one fresh emulator, as a participant would run it.

Every solution notebook runs top to bottom, each twice in a row (the second run
takes the paths of a learner re-running cells), then ``99_cleanup``, all under
one name prefix, with the room's permissions boundary set (``LAB_PERMISSIONS_BOUNDARY``)
as on a shared account. Afterwards the emulator must hold nothing at all (every
resource the labs create carried the prefix, and cleanup removed it); the API
actions the notebooks called must be exactly what the committed participant IAM
policy allows; and the policy, evaluated as IAM does, must allow every call the
notebooks made with its real resource ARNs and condition keys, while the boundary
allows every call the functions made. ``make policy`` regenerates the policy, the
boundary and the record of calls (``tooling/data/lab_requests.json``) from this run.
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
from streamlab.local.actions import read_action_log
from streamlab.local.control import free_port
from streamlab.local.iam.evaluator import Request, evaluate_all
from streamlab.local.identities import FUNCTION, NOTEBOOK
from streamlab.tooling.cleanup import find_resources
from streamlab.tooling.participant_policy import (
    BOUNDARY_NAME,
    allowed_actions,
    boundary_policy,
    for_participant,
    normalised_requests,
    participant_policy,
    render,
    with_implied,
)

ROOT = Path(__file__).resolve().parents[2]
POLICY_FILE = ROOT / "lab_guide" / "iam" / "participant-policy.json"
BOUNDARY_FILE = ROOT / "lab_guide" / "iam" / "permissions-boundary.json"
ACTIONS_FILE = ROOT / "utils" / "streamlab" / "tooling" / "data" / "lab_actions.json"
REQUESTS_FILE = ROOT / "utils" / "streamlab" / "tooling" / "data" / "lab_requests.json"
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
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    control.start(port)
    keys = ("LAB_ENDPOINT", "LAB_PREFIX", "LAB_BACKEND", "LAB_PERMISSIONS_BOUNDARY")
    saved = {key: os.environ.get(key) for key in keys}
    os.environ.update(LAB_ENDPOINT=endpoint, LAB_PREFIX=PREFIX, LAB_BACKEND="local")
    try:
        # The instructor's part: the room's boundary exists, and every role must carry it.
        instructor = connect(load_config({"LAB_ENDPOINT": endpoint, "LAB_PREFIX": ""}))
        boundary = instructor.iam.create_policy(
            PolicyName=BOUNDARY_NAME, PolicyDocument=json.dumps(boundary_policy())
        )["Policy"]["Arn"]
        os.environ["LAB_PERMISSIONS_BOUNDARY"] = boundary
        _clear_actions(endpoint)
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
        record = read_action_log(endpoint)
        lab = connect(load_config({"LAB_ENDPOINT": endpoint, "LAB_PREFIX": ""}))
        leftovers = [str(resource) for resource in find_resources(lab)]
        yield {
            "actions": record["actions"],
            "requests": record["requests"],
            "leftovers": leftovers,
        }
    finally:
        control.stop(port)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _clear_actions(endpoint: str) -> None:
    read_action_log(endpoint, clear=True)


def test_every_notebook_runs_and_cleanup_leaves_nothing_in_the_account(course_run: dict) -> None:
    assert course_run["leftovers"] == []


def test_participant_policy_allows_exactly_what_the_labs_call(course_run: dict) -> None:
    called = {a["action"] for a in course_run["actions"] if a["identity"] == NOTEBOOK}
    assert called, "no API calls were recorded from the notebooks"
    generated = participant_policy(called)
    if os.environ.get("LAB_WRITE_POLICY") == "1":
        POLICY_FILE.parent.mkdir(parents=True, exist_ok=True)
        POLICY_FILE.write_text(render(generated))
        BOUNDARY_FILE.write_text(render(boundary_policy()))
        ACTIONS_FILE.write_text(json.dumps({"actions": sorted(called)}, indent=2) + "\n")
        recorded = normalised_requests(course_run["requests"])
        REQUESTS_FILE.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    committed = json.loads(POLICY_FILE.read_text())
    missing = with_implied(called) - allowed_actions(committed)
    unused = allowed_actions(committed) - with_implied(called)
    assert not missing, f"the labs call actions the policy lacks (run `make policy`): {missing}"
    assert not unused, f"the policy allows actions no lab uses (run `make policy`): {unused}"
    assert set(json.loads(ACTIONS_FILE.read_text())["actions"]) == called


def _authorisations(entry: dict) -> list[Request]:
    return [Request(a["action"], a["resource"], a["context"]) for a in entry["authorisations"]]


def test_the_policy_allows_every_call_of_the_labs_with_its_real_arns_and_conditions(
    course_run: dict,
) -> None:
    """Evaluated as IAM does: each call's actions on its resource ARNs, with its condition
    keys (the role's boundary, PassRole's service, a mapping's function, the tags)."""
    policy = for_participant(json.loads(POLICY_FILE.read_text()), PREFIX)
    calls = [e for e in course_run["requests"] if e["identity"] == NOTEBOOK]
    assert calls, "no calls were recorded from the notebooks"
    unmapped = sorted({e["call"] for e in calls if not e["mapped"]})
    assert not unmapped, f"calls without a row in local/iam/requests.py: {unmapped}"
    denied = []
    for entry in calls:
        decision = evaluate_all(_authorisations(entry), [policy])
        if not decision.allowed:
            denied.append(f"{entry['call']}: {decision.reason}")
    assert not denied, "the participant policy denies calls the labs make:\n" + "\n".join(denied)


def test_the_boundary_allows_every_call_the_functions_make(course_run: dict) -> None:
    """A role is at most its boundary: the labs' functions must still do their work."""
    boundary = json.loads(BOUNDARY_FILE.read_text())
    everything = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    calls = [e for e in course_run["requests"] if e["identity"] == FUNCTION]
    assert calls, "no calls were recorded from the functions"
    unmapped = sorted({e["call"] for e in calls if not e["mapped"]})
    assert not unmapped, f"calls without a row in local/iam/requests.py: {unmapped}"
    denied = []
    for entry in calls:
        requests = [
            Request(
                r.action, r.resource, {**r.context, "aws:PrincipalTag/streamlab:prefix": PREFIX}
            )
            for r in _authorisations(entry)
        ]
        decision = evaluate_all(requests, [everything], boundary=boundary)
        if not decision.allowed:
            denied.append(f"{entry['call']}: {decision.reason}")
    assert not denied, "the boundary denies calls the functions make:\n" + "\n".join(denied)


def test_the_committed_record_of_calls_covers_this_run(course_run: dict) -> None:
    """tests/tooling evaluates the committed record offline: it must hold every call."""
    committed = json.loads(REQUESTS_FILE.read_text())
    current = normalised_requests(course_run["requests"])
    for caller, entries in current.items():
        missing = [e for e in entries if e not in committed[caller]]
        assert not missing, f"{caller} calls missing from {REQUESTS_FILE.name} (run `make policy`)"
