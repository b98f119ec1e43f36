"""Keeps per-player totals in GameScoresByUser from the GameScoreRecords stream.

Runs as a Lambda function (handler ``game_aggregator.handler``): it needs only
boto3 and the standard library. The target table's name comes from the
TOTALS_TABLE environment variable, so the same code serves every participant.
"""

import os

import boto3

dynamodb = boto3.client("dynamodb")  # created once per execution environment, reused while warm


def handler(event, context):
    table = os.environ["TOTALS_TABLE"]
    added = 0
    for record in event["Records"]:
        if record["eventName"] != "INSERT":  # a new game; corrections come in lab 05
            continue
        game = record["dynamodb"]["NewImage"]
        player = {"PlayerName": {"S": game["PlayerName"]["S"]}}
        score = {"N": game["Score"]["N"]}
        # ADD is atomic and creates missing attributes at 0: safe under concurrent updates.
        dynamodb.update_item(
            TableName=table,
            Key=player,
            UpdateExpression="ADD TotalScore :score, GamesPlayed :one",
            ExpressionAttributeValues={":score": score, ":one": {"N": "1"}},
        )
        # BestScore only moves up: the condition makes the write a no-op otherwise.
        try:
            dynamodb.update_item(
                TableName=table,
                Key=player,
                UpdateExpression="SET BestScore = :score",
                ConditionExpression="attribute_not_exists(BestScore) OR BestScore < :score",
                ExpressionAttributeValues={":score": score},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass
        added += 1
    print(f"Added {added} game(s) of {len(event['Records'])} record(s)")
    return {"added": added}
