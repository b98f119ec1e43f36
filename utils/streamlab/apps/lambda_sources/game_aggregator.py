"""Keeps per-player totals in GameScoresByUser from the GameScoreRecords stream.

Runs as a Lambda function whose handler is ``lambda_handler``, named like the
learner's in lab 04; it needs only boto3 and the standard library. The
target table's name comes from the GAME_SCORES_BY_USER_TABLE environment
variable (what ``--table GameScoresByUser`` sets for the learner's function), so
the same code serves every participant.
A batch is first summed in memory per player, then written with two updates per
player, instead of two per game: a burst of games costs far fewer writes.
"""

import os

import boto3

dynamodb = boto3.client("dynamodb")  # created once per execution environment, reused while warm


def lambda_handler(event, context):
    table = os.environ["GAME_SCORES_BY_USER_TABLE"]
    batch = {}  # player -> [total, games, best]
    for record in event["Records"]:
        if record["eventName"] != "INSERT":  # a new game; corrections come in lab 05
            continue
        game = record["dynamodb"]["NewImage"]
        player = game["PlayerName"]["S"]
        score = int(game["Score"]["N"])
        total, games, best = batch.get(player, [0, 0, score])
        batch[player] = [total + score, games + 1, max(best, score)]

    for player, (total, games, best) in batch.items():
        key = {"PlayerName": {"S": player}}
        # ADD is atomic and starts missing attributes at 0: safe under concurrent updates.
        dynamodb.update_item(
            TableName=table,
            Key=key,
            UpdateExpression="ADD TotalScore :total, GamesPlayed :games",
            ExpressionAttributeValues={":total": {"N": str(total)}, ":games": {"N": str(games)}},
        )
        # BestScore only moves up: the condition turns a lower score into a no-op.
        try:
            dynamodb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET BestScore = :best",
                ConditionExpression="attribute_not_exists(BestScore) OR BestScore < :best",
                ExpressionAttributeValues={":best": {"N": str(best)}},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass

    added = sum(games for _, games, _ in batch.values())
    records = len(event["Records"])
    print(f"Added {added} game(s) for {len(batch)} player(s) from {records} record(s)")
    return {"added": added, "players": len(batch)}
