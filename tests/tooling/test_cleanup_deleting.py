"""Cleanup on AWS: a mapping that stays ``Deleting`` for minutes is waited for, then going away."""

from __future__ import annotations

import pytest
from aws_stubs import StubbedLab, use_fake_time

from streamlab.tooling import cleanup as cleanup_module
from streamlab.tooling.cleanup import MAPPING, Resource, cleanup

UUID = "11111111-2222-3333-4444-555555555555"


def _mapping(state: str) -> Resource:
    return Resource(MAPPING, "alice-aggregator <- alice-Games", "eu-west-1", UUID, state)


@pytest.fixture
def lab(monkeypatch: pytest.MonkeyPatch) -> StubbedLab:
    lab = StubbedLab()
    listings = iter([[_mapping("Enabled")], [_mapping("Deleting")]])
    monkeypatch.setattr(cleanup_module, "find_resources", lambda _lab: next(listings))
    monkeypatch.setattr(cleanup_module, "_delete", lambda _lab, _resource: None)
    return lab


def test_a_mapping_still_deleting_is_going_away_not_left_over(
    lab: StubbedLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, lines = use_fake_time(monkeypatch)
    stub = lab.stub("lambda")
    for _ in range(200):  # Deleting for longer than the cleanup waits
        stub.add_response("get_event_source_mapping", {"UUID": UUID, "State": "Deleting"})
    report = cleanup(lab)
    assert report.clean, report.summary()
    assert [r.identifier for r in report.going_away] == [UUID] and report.remaining == []
    assert "still Deleting" in report.summary()
    assert clock.now <= 600  # bounded, and it said what it waited for
    assert any("event source mapping(s) to finish deleting" in line for line in lines)


def test_a_mapping_that_finishes_deleting_is_simply_gone(
    lab: StubbedLab, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_time(monkeypatch)
    stub = lab.stub("lambda")
    stub.add_response("get_event_source_mapping", {"UUID": UUID, "State": "Deleting"})
    stub.add_client_error("get_event_source_mapping", "ResourceNotFoundException", "gone", 404)
    monkeypatch.setattr(cleanup_module, "find_resources", _listings([[_mapping("Enabled")], []]))
    report = cleanup(lab)
    assert report.clean and report.going_away == [] and len(report.deleted) == 1
    lab.assert_all_answered()


def _listings(answers: list[list[Resource]]):
    found = iter(answers)
    return lambda _lab: next(found)
