"""Account-wide limits a whole room shares, named so a check never blames the learner's code.

A new AWS account can start with a Lambda concurrency quota as low as 10,
shared by every function of every participant. Then stream batches wait for
a free execution, totals lag behind the games, and a check that only compared
totals would say "your aggregator is wrong". These helpers read the quota once
per ``Lab`` and turn a low one into a sentence the checks and doctor add.
"""

from __future__ import annotations

from typing import Any

import botocore.exceptions

from streamlab.aws.session import Lab

#: AWS's default account quota is 1,000 concurrent executions; below this the course's
#: functions (one per shard per mapping, times the room) queue up behind each other.
ENOUGH_CONCURRENCY = 100
QUOTA_ADVICE = (
    "ask for more in Service Quotas (AWS Lambda, Concurrent executions; the default is 1,000)"
)


def lambda_concurrency(lab: Lab) -> dict[str, Any] | None:
    """The account's Lambda ``AccountLimit`` (``ConcurrentExecutions``, ...); None if unknown.

    Locally there is no such quota (None); on AWS it is read with GetAccountSettings,
    and None when this identity may not read it.
    """
    if lab.backend != "aws":
        return None
    cached = lab.__dict__.get("_lambda_account_limit")
    if cached is not None:
        return cached or None
    try:
        limit = lab.lambda_.get_account_settings().get("AccountLimit", {})
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError):
        limit = {}
    lab.__dict__["_lambda_account_limit"] = limit
    return limit or None


def low_concurrency_note(lab: Lab) -> str:
    """A sentence when the account's Lambda concurrency is too low for the course, else ""."""
    limit = lambda_concurrency(lab)
    if not limit or "ConcurrentExecutions" not in limit:
        return ""
    total = int(limit["ConcurrentExecutions"])
    if total >= ENOUGH_CONCURRENCY:
        return ""
    return (
        f"note: this AWS account allows only {total} concurrent Lambda executions for everyone "
        "on it, so stream batches queue and totals lag behind; that is the account, not your "
        f"code: wait and run the check again, or {QUOTA_ADVICE}"
    )
