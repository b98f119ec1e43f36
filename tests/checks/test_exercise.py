"""The exercise rules: one line names an exercise, one stub stands for its answer, one state."""

from __future__ import annotations

import pytest

from streamlab.checks import exercise
from streamlab.checks.exercise import CheckFailed, ExerciseNotDone


def test_the_stub_parses_back_to_its_exercise() -> None:
    lines = exercise.stub_lines("4.1", 'ADD each "score"; it\'s INSERTs only', "    ")
    source = "def lambda_handler(event, context):\n" + "\n".join(lines) + "\n"
    assert lines[0] == "    " + exercise.TODO_LINE
    assert exercise.parse_stub(source) == ("4.1", 'ADD each "score"; it\'s INSERTs only')
    with pytest.raises(ExerciseNotDone, match="4.1 is not done yet"):
        exercise.raise_if_stub(source)


def test_an_answer_is_not_a_stub() -> None:
    assert exercise.parse_stub("x = 1\n# raise streamlab.ExerciseNotDone('1.1', 'x')") is None
    assert exercise.parse_stub("raise streamlab.ExerciseNotDone(NUMBER, TEXT)") is None
    exercise.raise_if_stub("x = 1")  # nothing raised


def test_exercise_lines_name_their_numbers_and_only_comment_lines_count() -> None:
    source = "# Exercise 2.1: turn the stream on\nx = '# Exercise 9.9: no'\n  # Exercise 2.2: read"
    assert exercise.exercise_numbers(source) == ["2.1", "2.2"]


def test_a_stub_that_ran_makes_the_check_say_not_done_until_answered() -> None:
    with pytest.raises(ExerciseNotDone):
        exec(
            "\n".join(exercise.stub_lines("9.3", "do it", "")),
            {"streamlab": __import__("streamlab")},
        )
    with pytest.raises(ExerciseNotDone, match="9.3 is not done yet: do it"):
        exercise.fail("9.3", "wrong", "a hint")
    exercise.forget_answered("# Exercise 9.3: do it\nanswer = 42")
    with pytest.raises(CheckFailed, match="Exercise 9.3: wrong Hint: a hint"):
        exercise.fail("9.3", "wrong", "a hint")


def test_passing_forgets_and_prints_one_line(capsys: pytest.CaptureFixture) -> None:
    exercise.mark_pending("9.4", "do it")
    exercise.passed("9.4", "all good")
    assert capsys.readouterr().out == "PASS 9.4: all good\n"
    assert not exercise.is_pending("9.4")


def test_raise_if_not_done_names_the_first_open_exercise() -> None:
    exercise.mark_pending("9.6", "the second")
    exercise.raise_if_not_done(["9.5"])  # not pending: nothing raised
    with pytest.raises(ExerciseNotDone, match="9.6 is not done yet: the second"):
        exercise.raise_if_not_done(["9.5", "9.6"])


def test_a_learner_error_becomes_one_line_with_the_hint() -> None:
    def broken() -> None:
        raise KeyError("NewImage")

    with pytest.raises(CheckFailed, match="broken raised KeyError: 'NewImage' Hint: look"):
        exercise.call_learner("9.7", broken, hint="look")
    with pytest.raises(CheckFailed, match="expected a function, got int"):
        exercise.call_learner("9.7", 3)


def test_the_errors_are_the_package_s_public_names() -> None:
    import streamlab

    assert streamlab.ExerciseNotDone is ExerciseNotDone
    assert streamlab.CheckFailed is CheckFailed
    assert issubclass(ExerciseNotDone, streamlab.LabError)


def test_a_failed_check_is_remembered_until_it_passes(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(CheckFailed):
        exercise.fail("9.2", "the mapping starts at LATEST", "use TRIM_HORIZON")
    assert exercise.has_failed("9.2")
    with pytest.raises(
        exercise.EarlierExerciseFailed,
        match=r"^Exercise 9.3: exercise 9.2 failed its check: fix it and run its check again",
    ) as raised:
        exercise.raise_if_earlier_not_passed("9.3", ["9.1", "9.2"])
    assert "\n" not in str(raised.value) and raised.value.earlier == "9.2"
    assert exercise.has_failed("9.3")  # the dependent check did not pass either
    exercise.passed("9.2", "fixed")
    assert not exercise.has_failed("9.2")
    exercise.raise_if_earlier_not_passed("9.3", ["9.1", "9.2"])  # nothing raised


def test_an_undone_exercise_is_named_before_a_failed_one() -> None:
    with pytest.raises(CheckFailed):
        exercise.fail("9.1", "wrong")
    exercise.mark_pending("9.2", "connect it")
    with pytest.raises(ExerciseNotDone, match="9.2 is not done yet"):
        exercise.raise_if_earlier_not_passed("9.3", ["9.1", "9.2"])
    exercise.mark_pending("9.3", "scan it")  # the check's own stub first of all
    with pytest.raises(ExerciseNotDone, match="9.3 is not done yet"):
        exercise.raise_if_earlier_not_passed("9.3", ["9.1", "9.2"])


def test_a_stub_function_is_told_from_an_answer() -> None:
    namespace: dict = {"streamlab": __import__("streamlab")}
    body = "\n".join(exercise.stub_lines("9.8", "scan it", "    "))
    exec(f"def stub(page_size):\n{body}\n\ndef answer(page_size):\n    return {{}}\n", namespace)
    assert exercise.is_stub_function(namespace["stub"])
    assert not exercise.is_stub_function(namespace["answer"])
    assert not exercise.is_stub_function(len)
