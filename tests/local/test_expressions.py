"""A ``#`` outside a defined placeholder is refused with AWS's ValidationException wording."""

from __future__ import annotations

import pytest

from streamlab.local.expressions import ExpressionError, check_expression, check_request


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        (
            "KeyConditionExpression",
            "Customer# = :c",
            'Invalid KeyConditionExpression: Syntax error; token: "#", near: "Customer# ="',
        ),
        (
            "KeyConditionExpression",
            "PK = :pk and begins_with(LSI_SK_1, G_M#)",
            'Invalid KeyConditionExpression: Syntax error; token: "#", near: "G_M#)"',
        ),
        (
            "FilterExpression",
            "a#b = :x",
            'Invalid FilterExpression: Syntax error; token: "#b", near: "a#b ="',
        ),
        (
            "ProjectionExpression",
            "Order#",
            'Invalid ProjectionExpression: Syntax error; token: "#", near: "Order#"',
        ),
        (
            "ConditionExpression",
            "# = :v",
            'Invalid ConditionExpression: Syntax error; token: "#", near: "# ="',
        ),
    ],
)
def test_a_hash_that_is_not_a_placeholder_is_a_syntax_error(
    field: str, text: str, message: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        check_expression(field, text, {})
    assert str(caught.value) == message


def test_placeholders_must_be_defined() -> None:
    with pytest.raises(ExpressionError, match="not defined; attribute name: #c$"):
        check_expression("KeyConditionExpression", "#c = :c", {"#d": "Customer#"})


def test_defined_placeholders_and_plain_names_pass() -> None:
    check_expression("KeyConditionExpression", "#c = :c", {"#c": "Customer#"})
    check_expression("UpdateExpression", "SET #n = :v, Score = :s", {"#n": "name"})
    check_expression("FilterExpression", "Score >= :min", None)


def test_every_part_of_a_transaction_is_checked() -> None:
    check_request({"TransactItems": [{"Update": {"UpdateExpression": "SET a = :v"}}]})
    with pytest.raises(ExpressionError, match="Invalid ConditionExpression"):
        check = {"ConditionExpression": "attribute_exists(Order#)"}
        check_request({"TransactItems": [{"ConditionCheck": check}]})
    with pytest.raises(ExpressionError, match="Invalid ProjectionExpression"):
        check_request({"RequestItems": {"T": {"ProjectionExpression": "Order#"}}})
