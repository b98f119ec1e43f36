"""The rehearsal's own judgements: silent waits, trespasses and the report's closing line."""

from __future__ import annotations

import nbformat
import pytest

from streamlab.tooling import rehearsal


def _cell(source: str, seconds: float, text: str = "") -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["execution"] = {
        "iopub.execute_input": "2026-01-01T00:00:00.000000Z",
        "shell.execute_reply": f"2026-01-01T00:00:{seconds:09.6f}Z",
    }
    if text:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    return cell


def test_a_long_cell_must_have_printed_what_it_waited_for() -> None:
    nb = nbformat.v4.new_notebook(
        cells=[
            _cell("quick()", 2),
            _cell("wait_quietly()", 30),
            _cell("wait_loudly()", 30, "waiting for the mapping to be Enabled: 10 s so far"),
        ]
    )
    assert rehearsal.silent_waits(nb, 15) == ["cell 1 (30 s): wait_quietly()"]


def test_calls_on_another_participants_resources_are_trespasses(monkeypatch) -> None:
    people = [
        rehearsal.Participant("ann", {"AWS_ACCESS_KEY_ID": "AKIAANN"}),
        rehearsal.Participant("bob", {"AWS_ACCESS_KEY_ID": "AKIABOB"}),
    ]
    log = {
        "requests": [
            {"access_key": "AKIAANN", "call": "dynamodb:PutItem",
             "authorisations": [{"resource": "arn:aws:dynamodb:r:1:table/ann-T"}]},
            {"access_key": "AKIAANN", "call": "dynamodb:DeleteTable",
             "authorisations": [{"resource": "arn:aws:dynamodb:r:1:table/bob-T"}]},
            {"access_key": "AKIAOWNER", "call": "dynamodb:DeleteTable",
             "authorisations": [{"resource": "arn:aws:dynamodb:r:1:table/bob-T"}]},
        ]
    }  # fmt: skip
    monkeypatch.setattr("streamlab.local.actions.read_action_log", lambda endpoint: log)
    assert rehearsal.trespasses("http://127.0.0.1:1", people) == [
        "ann- called dynamodb:DeleteTable on arn:aws:dynamodb:r:1:table/bob-T"
    ]


def test_the_report_ends_in_a_count_and_fails_on_any_problem(capsys) -> None:
    report = rehearsal.RehearsalReport(
        runs=[
            rehearsal.NotebookRun("ann", "00_setup", 3.0),
            rehearsal.NotebookRun("bob", "00_setup", 3.0, failures=["cell 2: LabError: x"]),
        ],
        leftovers=["bob: table bob-T"],
    )
    assert rehearsal.print_report(report) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "1 passed, 2 failed"
    assert "problem: left after cleanup: bob: table bob-T" in lines
    assert rehearsal.print_report(rehearsal.RehearsalReport(runs=report.runs[:1])) == 0


@pytest.mark.parametrize("name", ["Ann", "a-b", ""])
def test_participant_names_are_refused_in_one_line(name: str) -> None:
    from streamlab.errors import ConfigError
    from streamlab.local.participants import check_name

    with pytest.raises(ConfigError, match="--participant"):
        check_name(name)
