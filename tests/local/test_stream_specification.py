"""UpdateTable's StreamSpecification answers as AWS does (see AWS_FIDELITY.md, streams)."""

from __future__ import annotations

import botocore.exceptions
import pytest

from streamlab.aws import streams, tables
from streamlab.aws.session import Lab


def _table(lab: Lab, base: str) -> str:
    name = lab.name(base)
    tables.delete_table(lab, name)
    tables.create_table(lab, name, hash_key=("id", "S"), stream_view_type="NEW_IMAGE")
    return name


def test_enabling_an_enabled_stream_is_a_validation_exception(lab: Lab) -> None:
    name = _table(lab, "StreamTwice")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        lab.dynamodb.update_table(
            TableName=name,
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        )
    error = raised.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == f"Table already has an enabled stream: TableName: {name}"


def test_a_disabled_stream_can_be_enabled_again_as_a_new_stream(lab: Lab) -> None:
    name = _table(lab, "StreamAgain")
    first = streams.stream_arn(lab, name)
    assert streams.disable_stream(lab, name)
    second = streams.enable_stream(lab, name, "KEYS_ONLY")
    assert second and second != first
