"""AWS's refusal of a ``#`` that is not an expression attribute name placeholder.

In a DynamoDB expression ``#`` starts a name placeholder (``#c``), which
``ExpressionAttributeNames`` must define. An attribute whose name contains a
``#`` (``Customer#``) therefore cannot be written as it is: AWS answers
``ValidationException: Invalid KeyConditionExpression: Syntax error; token:
"#", near: "Customer# ="``. moto accepts some of these (``Customer# = :c``
queries as if it were fine) and fails on others with an internal error, so a
learner's code could pass locally and fail on AWS. This module checks the
expressions of a request as AWS does, before moto sees them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

EXPRESSION_FIELDS = (
    "KeyConditionExpression",
    "FilterExpression",
    "ProjectionExpression",
    "ConditionExpression",
    "UpdateExpression",
)


class ExpressionError(ValueError):
    """An expression AWS rejects; ``str()`` is AWS's ValidationException message."""


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _token_end(text: str, start: int) -> int:
    """End of the token that starts at ``start`` (a run of name characters, or one symbol)."""
    if start >= len(text):
        return start
    if text[start] in "#:" or _is_name_char(text[start]):
        end = start + 1
        while end < len(text) and _is_name_char(text[end]):
            end += 1
        return end
    return start + 1


def _token_start_before(text: str, end: int) -> int:
    """Start of the token that ends at ``end`` (after skipping no space: callers do that)."""
    if end <= 0:
        return 0
    if not _is_name_char(text[end - 1]):
        return end - 1
    start = end - 1
    while start > 0 and _is_name_char(text[start - 1]):
        start -= 1
    if start > 0 and text[start - 1] in "#:":
        start -= 1
    return start


def _near(text: str, start: int, end: int) -> str:
    """The token with its neighbours, as AWS quotes it after ``near:``."""
    before = start
    while before > 0 and text[before - 1].isspace():
        before -= 1
    first = _token_start_before(text, before) if before > 0 else start
    after = end
    while after < len(text) and text[after].isspace():
        after += 1
    last = _token_end(text, after) if after < len(text) else end
    return text[first:last]


def check_expression(field: str, text: str, names: Mapping[str, str] | None) -> None:
    """Raise ``ExpressionError`` for a ``#`` AWS would reject in ``text`` (the ``field``)."""
    names = names or {}
    index = text.find("#")
    while index != -1:
        end = index + 1
        while end < len(text) and _is_name_char(text[end]):
            end += 1
        glued = index > 0 and (_is_name_char(text[index - 1]) or text[index - 1] in "#:")
        if glued or end == index + 1:
            token = text[index:end]
            raise ExpressionError(
                f'Invalid {field}: Syntax error; token: "{token}", near: '
                f'"{_near(text, index, end)}"'
            )
        placeholder = text[index:end]
        if placeholder not in names:
            raise ExpressionError(
                f"Invalid {field}: An expression attribute name used in the document path is "
                f"not defined; attribute name: {placeholder}"
            )
        index = text.find("#", end)


def _expression_sets(body: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The request and every part of it that carries its own expressions."""
    yield body
    for entry in body.get("TransactItems") or []:
        if isinstance(entry, Mapping):
            for part in entry.values():
                if isinstance(part, Mapping):
                    yield part
    request_items = body.get("RequestItems")
    if isinstance(request_items, Mapping):
        for part in request_items.values():
            if isinstance(part, Mapping):
                yield part


def check_request(body: Mapping[str, Any]) -> None:
    """Check every expression of a DynamoDB request (Query, Scan, item writes, transactions)."""
    for part in _expression_sets(body):
        names = part.get("ExpressionAttributeNames")
        for field in EXPRESSION_FIELDS:
            text = part.get(field)
            if isinstance(text, str):
                check_expression(field, text, names if isinstance(names, Mapping) else None)
