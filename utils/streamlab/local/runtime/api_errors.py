"""Lambda API errors the runtime raises, carrying AWS's status, code and message.

The HTTP interceptor turns one into the REST-JSON error boto3 parses into a
``ClientError``; in-process callers (the pollers) catch it and read ``code``.
"""

from __future__ import annotations


class LambdaApiError(Exception):
    """An Invoke that Lambda itself refuses (before or instead of running the code)."""

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, str]:
        return {"Type": "User", "message": self.message, **self.extra}


def too_many_requests(reason: str) -> LambdaApiError:
    return LambdaApiError(429, "TooManyRequestsException", "Rate Exceeded.", Reason=reason)


def request_too_large(limit: int) -> LambdaApiError:
    return LambdaApiError(
        413,
        "RequestEntityTooLargeException",
        f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
    )


def invalid_json(error: str) -> LambdaApiError:
    return LambdaApiError(
        400,
        "InvalidRequestContentException",
        f"Could not parse request body into json: Could not parse payload into json: {error}",
    )
