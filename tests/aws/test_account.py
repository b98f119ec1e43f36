"""A low Lambda concurrency quota is named, so the totals checks do not blame the learner."""

from __future__ import annotations

import pytest
from aws_stubs import StubbedLab

from streamlab.apps import game
from streamlab.aws.account import low_concurrency_note
from streamlab.errors import LabError


def _lab(concurrency: int) -> StubbedLab:
    lab = StubbedLab()
    lab.stub("lambda").add_response(
        "get_account_settings",
        {
            "AccountLimit": {
                "ConcurrentExecutions": concurrency,
                "UnreservedConcurrentExecutions": 10,
            }
        },
    )
    return lab


def test_a_new_accounts_quota_of_10_is_named_with_what_to_do() -> None:
    note = low_concurrency_note(_lab(10))
    assert "only 10 concurrent Lambda executions" in note and "Service Quotas" in note
    assert "not your code" in note


def test_the_default_quota_says_nothing() -> None:
    assert low_concurrency_note(_lab(1000)) == ""


def test_totals_lagging_on_a_low_quota_account_blame_the_account(monkeypatch) -> None:
    lagging = game.TotalsComparison(
        expected={"Alice": {"TotalScore": 10, "GamesPlayed": 2, "BestScore": 7}},
        actual={"Alice": {"TotalScore": 3, "GamesPlayed": 1, "BestScore": 3}},
        games=600,
        mismatched=[("Alice", "TotalScore", 10, 3), ("Alice", "GamesPlayed", 2, 1)],
    )
    monkeypatch.setattr(game, "wait_for_totals", lambda lab, timeout: lagging)
    with pytest.raises(LabError) as raised:
        game.check_totals(_lab(10), min_games=500)
    assert "only 10 concurrent Lambda executions" in str(raised.value)
    assert "ADDs each INSERT" not in str(raised.value)  # the learner's code is not blamed
