"""FilterCriteria patterns, matched on the record as the function would receive it."""

from __future__ import annotations

import json

from streamlab.local.pollers.filters import RecordFilter

from .fakes import FakeSource


def pattern(value: dict) -> str:
    return json.dumps(value)


def test_no_patterns_match_everything() -> None:
    assert RecordFilter([]).matches(FakeSource().add("a").record)


def test_exact_value_prefix_and_exists() -> None:
    record = FakeSource().add("player-1", value=7).record
    assert RecordFilter([pattern({"eventName": ["INSERT"]})]).matches(record)
    assert not RecordFilter([pattern({"eventName": ["MODIFY"]})]).matches(record)
    assert RecordFilter(
        [pattern({"dynamodb": {"Keys": {"id": {"S": [{"prefix": "player-"}]}}}})]
    ).matches(record)
    assert RecordFilter(
        [pattern({"dynamodb": {"NewImage": {"value": {"N": [{"exists": True}]}}}})]
    ).matches(record)


def test_patterns_are_ored() -> None:
    record = FakeSource().add("a").record
    patterns = [pattern({"eventName": ["REMOVE"]}), pattern({"eventName": ["INSERT"]})]
    assert RecordFilter(patterns).matches(record)


def test_numeric_range_does_not_match_dynamodb_number_strings() -> None:
    record = FakeSource().add("a", value=7).record
    numeric = pattern({"dynamodb": {"NewImage": {"value": {"N": [{"numeric": [">", 5]}]}}}})
    assert not RecordFilter([numeric]).matches(record)
    assert RecordFilter([pattern({"dynamodb": {"NewImage": {"value": {"N": ["7"]}}}})]).matches(
        record
    )
