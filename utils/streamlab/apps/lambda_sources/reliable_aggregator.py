"""Lab 05's aggregator: counts every stream record exactly once, corrections included.

Runs as a Lambda function (``handler.lambda_handler``) with only boto3 and the
standard library. Delivery is at least once, so each record's change is written
in one transaction with a marker item keyed by the record's ``eventID``: the
marker's condition makes a redelivered record change nothing. A score
correction (MODIFY) adds the difference between the new and the old image; a
deleted game (REMOVE) takes its old score and one game away, unless DynamoDB's
Time to Live deleted it (``userIdentity`` type ``Service``): an expired game was
still played, so the totals keep it.
"""

import os

import boto3

dynamodb = boto3.client("dynamodb")
TOTALS = os.environ["RELIABILITY_TOTALS_TABLE"]
EVENTS = os.environ["RELIABILITY_EVENTS_TABLE"]


def change_of(record):
    """(player, score change, games change) of one stream record."""
    new = record["dynamodb"].get("NewImage")
    old = record["dynamodb"].get("OldImage")
    if record["eventName"] == "INSERT":
        return new["PlayerName"]["S"], int(new["Score"]["N"]), 1
    if record["eventName"] == "MODIFY":  # a correction: only the difference counts
        return new["PlayerName"]["S"], int(new["Score"]["N"]) - int(old["Score"]["N"]), 0
    if record.get("userIdentity", {}).get("type") == "Service":  # expired by TTL: still played
        return old["PlayerName"]["S"], 0, 0
    return old["PlayerName"]["S"], -int(old["Score"]["N"]), -1  # REMOVE


def count_once(event_id, player, score, games):
    """Apply one record's change unless its marker exists; True when it was applied."""
    try:
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": EVENTS,
                        "Item": {"EventID": {"S": event_id}},
                        "ConditionExpression": "attribute_not_exists(EventID)",
                    }
                },
                {
                    "Update": {
                        "TableName": TOTALS,
                        "Key": {"PlayerName": {"S": player}},
                        "UpdateExpression": "ADD TotalScore :score, GamesPlayed :games",
                        "ExpressionAttributeValues": {
                            ":score": {"N": str(score)},
                            ":games": {"N": str(games)},
                        },
                    }
                },
            ]
        )
    except dynamodb.exceptions.TransactionCanceledException as error:
        reasons = error.response.get("CancellationReasons", [])
        if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
            return False  # the marker is there: this record was counted before
        raise  # a conflict or throttle: fail, and the batch is retried
    return True


def lambda_handler(event, context):
    counted = 0
    for record in event["Records"]:
        counted += count_once(record["eventID"], *change_of(record))
    print(f"counted {counted} of {len(event['Records'])} record(s)")
    return {"counted": counted}
