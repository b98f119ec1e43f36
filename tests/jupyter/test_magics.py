"""``%%lambda_function`` in a real IPython shell: the cell text is what gets deployed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

import streamlab
from streamlab.aws import functions
from streamlab.aws.session import Lab
from streamlab.checks import exercise
from streamlab.checks.exercise import ExerciseNotDone
from streamlab.errors import LabError
from streamlab.jupyter import magics

CELL = 'import os\n\ndef lambda_handler(event, context):\n    return os.environ["SCORES_TABLE"]\n'


@pytest.fixture
def shell(lab: Lab) -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    shell.user_ns["lab"] = lab
    yield shell
    InteractiveShell.clear_instance()


def test_load_ext_registers_the_cell_magic(shell: InteractiveShell) -> None:
    shell.run_line_magic("load_ext", "streamlab")
    assert magics.MAGIC_NAME in shell.magics_manager.magics["cell"]


def test_the_magic_deploys_the_cell_text(
    shell: InteractiveShell, lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    streamlab.load_ipython_extension(shell)
    result = shell.run_cell(f"%%lambda_function magic-hello --timeout 7 --table Scores\n{CELL}")
    result.raise_error()
    config = lab.lambda_.get_function_configuration(FunctionName=lab.name("magic-hello"))
    assert config["CodeSha256"] == functions.code_sha256(functions.build_zip(CELL))
    assert config["Timeout"] == 7
    assert config["Environment"]["Variables"]["SCORES_TABLE"] == lab.name("Scores")
    assert "magic-hello created" in capsys.readouterr().out
    assert shell.user_ns["_deployment"].action == "created"


def test_bad_arguments_are_one_line_errors() -> None:
    with pytest.raises(LabError, match="--timeout: invalid int value"):
        magics.parse_line("f --timeout soon")
    with pytest.raises(LabError, match="the following arguments are required: name"):
        magics.parse_line("")
    with pytest.raises(LabError, match="not KEY=VALUE"):
        magics.parse_line("f --env MODE")
    assert magics.parse_line("f --env A=b=c --table T --table U").environment == {"A": "b=c"}


def test_a_syntax_error_is_noted_and_still_deployed(
    lab: Lab, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = "def lambda_handler(event, context)\n    return 1\n"
    deployment = magics.run_cell_magic("magic-broken", broken, {"lab": lab})
    assert deployment.configuration["CodeSha256"] == functions.code_sha256(
        functions.build_zip(broken)
    )
    assert "Runtime.UserCodeSyntaxError" in capsys.readouterr().out


def test_an_unknown_lab_variable_is_refused(lab: Lab) -> None:
    with pytest.raises(LabError, match="--lab other is not a Lab"):
        magics.run_cell_magic("f --lab other", CELL, {"lab": lab})


def test_an_exercise_stub_is_not_deployed(lab: Lab) -> None:
    stub = (
        "def lambda_handler(event, context):\n"
        "    # TODO: write your code here (in place of the line below), then run the cell.\n"
        "    raise streamlab.ExerciseNotDone('3.1', 'print the event name')\n"
    )
    try:
        with pytest.raises(ExerciseNotDone, match="3.1 is not done yet: print the event name"):
            magics.run_cell_magic("magic-stub", stub, {"lab": lab})
    finally:
        exercise.forget("3.1")
    with pytest.raises(lab.lambda_.exceptions.ResourceNotFoundException):
        lab.lambda_.get_function(FunctionName=lab.name("magic-stub"))


def test_what_the_magic_deployed_runs_when_invoked(shell: InteractiveShell, lab: Lab) -> None:
    from streamlab.aws import invoke

    streamlab.load_ipython_extension(shell)
    shell.run_cell(f"%%lambda_function magic-run --table Scores\n{CELL}").raise_error()
    response = invoke.invoke(lab, "magic-run", show_log=False)
    assert response["Payload"] == lab.name("Scores")


def test_the_only_change_ipython_makes_is_a_final_newline(
    shell: InteractiveShell, lab: Lab
) -> None:
    streamlab.load_ipython_extension(shell)
    body = "def lambda_handler(event, context):\n    return 'no newline at the end'"
    shell.run_cell(f"%%lambda_function magic-newline\n{body}").raise_error()
    config = lab.lambda_.get_function_configuration(FunctionName=lab.name("magic-newline"))
    assert config["CodeSha256"] == functions.code_sha256(functions.build_zip(body + "\n"))
