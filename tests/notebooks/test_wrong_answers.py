"""Typical wrong answers get a short, specific, true message from their check, in time.

Each case takes a solution notebook, puts a wrong answer in place of one exercise's
solution (between ``### BEGIN SOLUTION`` and ``### END SOLUTION``), runs the notebook up
to that exercise's check cell and expects the check to fail with ``CheckFailed`` and a
message that names the mistake, in at most three lines; never a pass, a hang (every cell
runs under the kernel's timeout, every learner function under the check's deadline) or a
traceback. Every exercise has at least one case. A case with ``then`` runs on to a later
check that builds on the exercise (4.3 on 4.2, 5.2 on 5.1, 6.1's convergence on 6.2),
which must say first, in one line, that the exercise failed its check; ``edits`` change
other text of the notebook (a ``%%lambda_function`` line without ``--stream``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from streamlab.tooling import build_labs
from streamlab.tooling.run_notebooks import execute

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = re.compile(r"(?P<indent>[ \t]*)### BEGIN SOLUTION\n.*?### END SOLUTION\n?", re.S)


# A reader of every shard, parents first, with STOP standing for its rule for an open shard.
_READ_EVERY_SHARD = """\
client = lab.dynamodbstreams
shards = client.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
shards.sort(key=lambda shard: int(shard["SequenceNumberRange"]["StartingSequenceNumber"]))
records = []
for shard in shards:
    iterator = client.get_shard_iterator(StreamArn=stream_arn, ShardId=shard["ShardId"],
        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    while iterator:
        page = client.get_records(ShardIterator=iterator)
        records += page["Records"]
        STOP
        iterator = page.get("NextShardIterator")
return records
"""


@dataclass
class WrongAnswer:
    notebook: str
    exercise: str
    answer: str  # replaces the solution block (indented like it)
    expected: str  # a regular expression the check's message must match
    id: str
    answer_fails: bool = False  # the answer's own cell raises too (an AWS error)
    then: str = ""  # run on to this later exercise's check, which must say `expected` first
    edits: tuple[tuple[str, str], ...] = ()  # (old, new) text edits elsewhere in the notebook


# Exercise 6.2's bootstrap that copies the scan's first page only.
ONE_PAGE_BOOTSTRAP = (
    "page = lab.dynamodb.scan(TableName=SOURCE_TABLE, Limit=page_size)\n"
    "for item in page['Items']:\n"
    "    replica.put_item(TableName=SOURCE_TABLE, Item=item)\n"
    "return len(page['Items'])\n"
)

# Exercise 5.1's count_once that says "counted" even for a record it had counted before.
TRUE_WHEN_COUNTED_BEFORE = (
    "try:\n"
    "    dynamodb.transact_write_items(TransactItems=[\n"
    "        {'Put': {'TableName': EVENTS, 'Item': {'EventID': {'S': event_id}},\n"
    "                 'ConditionExpression': 'attribute_not_exists(EventID)'}},\n"
    "        {'Update': {'TableName': TOTALS, 'Key': {'PlayerName': {'S': player}},\n"
    "                    'UpdateExpression': 'ADD TotalScore :s, GamesPlayed :g',\n"
    "                    'ExpressionAttributeValues': {':s': {'N': str(score)},\n"
    "                                                  ':g': {'N': str(games)}}}}])\n"
    "except dynamodb.exceptions.TransactionCanceledException:\n"
    "    pass  # counted before\n"
    "return True\n"
)


CASES = [
    # -- lab 01 --------------------------------------------------------------------------------
    WrongAnswer(
        "01_dynamodb_basics",
        "1.1",
        'bob = {"RecordID": {"N": "2"}, "PlayerName": {"S": "Bob"}, "Score": {"N": "888"},\n'
        '    "Badges": {"SS": ["first-win", "night-owl"]},\n'
        '    "Device": {"M": {"os": {"S": "android"}, "version": {"S": "14"}}}}\n'
        "lab.dynamodb.put_item(TableName=GAME_RECORDS, Item=bob)\n",
        r"Device\.version is 14 \(type S, a string\), expected 14 \(type N, a number\)",
        "a-number-stored-as-a-string",
    ),
    WrongAnswer(
        "01_dynamodb_basics",
        "1.2",
        "lab.dynamodb.create_table(TableName=ORDERS, BillingMode='PAY_PER_REQUEST',\n"
        "    KeySchema=[{'AttributeName': 'Customer#', 'KeyType': 'HASH'}],\n"
        "    AttributeDefinitions=[{'AttributeName': 'Customer#', 'AttributeType': 'N'}])\n"
        "lab.dynamodb.get_waiter('table_exists').wait(TableName=ORDERS)\n",
        r"Order#",
        "no-range-key",
    ),
    WrongAnswer(
        "01_dynamodb_basics",
        "1.3",
        'return lab.dynamodb.query(TableName=ORDERS, KeyConditionExpression="Customer# = :c",\n'
        '    ExpressionAttributeValues={":c": {"N": str(customer)}})\n',
        r"ExpressionAttributeNames",
        "a-hash-in-the-expression",
    ),
    WrongAnswer(
        "01_dynamodb_basics",
        "1.4",
        'return lab.dynamodb.scan(TableName=GAME_RECORDS, FilterExpression="Score > :min",\n'
        '    ExpressionAttributeValues={":min": {"N": str(min_score)}})\n',
        r"high_scores\(888\) returned 1 item\(s\).*expected",
        "scan-with-greater-than",
    ),
    # -- lab 02 --------------------------------------------------------------------------------
    WrongAnswer(
        "02_streams",
        "2.1",
        "lab.dynamodb.update_table(TableName=TABLE,\n"
        "    StreamSpecification={'StreamEnabled': True, 'StreamViewType': 'NEW_IMAGE'})\n"
        "lab.dynamodb.get_waiter('table_exists').wait(TableName=TABLE)\n",
        r"view type is NEW_IMAGE, the exercise asks for NEW_AND_OLD_IMAGES",
        "wrong-view-type",
    ),
    WrongAnswer(
        "02_streams",
        "2.2",
        _READ_EVERY_SHARD.replace("STOP", "if not page['Records']:\n            break  # done?"),
        r"stopped reading \d+ shard\(s\) at an empty page.*GetRecords may return an empty page",
        "stops-at-the-first-empty-page",
    ),
    WrongAnswer(
        "02_streams",
        "2.2",
        _READ_EVERY_SHARD.replace("STOP", "pass  # follow NextShardIterator to the end"),
        r"read_all did not return within 30 s.*open shard always returns a NextShardIterator",
        "never-stops-an-open-shard",
    ),
    WrongAnswer(
        "02_streams",
        "2.3",
        "return {name: next(iter(value.values())) for name, value in image.items()}\n",
        r"these attributes come out wrong: .*expected",
        "values-left-as-they-travel",
    ),
    WrongAnswer(
        "02_streams",
        "2.4",
        "old, new = old or {}, new or {}\n"
        "return {name: (old.get(name), value) for name, value in new.items()\n"
        "        if old.get(name) != value}\n",
        r"for old=\{'RecordID': 2, 'Score': 888\} and new=None your function returned \{\}",
        "forgets-removed-attributes",
    ),
    # -- lab 03 --------------------------------------------------------------------------------
    WrongAnswer(
        "03_lambda",
        "3.1",
        "lines = []\n"
        "for record in event['Records']:\n"
        "    lines += [record['eventName'], 'DynamoDB Record: ' + json.dumps(record['dynamodb']),\n"
        "              'Message: \"' + record['dynamodb']['NewImage']['Message']['S'] + '\"']\n"
        "return '\\n'.join(lines)\n",
        r"returned 'INSERT' instead of printing it: its log lacks it",
        "returns-instead-of-printing",
    ),
    WrongAnswer(
        "03_lambda",
        "3.2",
        "response = lab.lambda_.invoke(FunctionName=function_name, Payload=json.dumps(event),\n"
        "    LogType='Tail')\n"
        "return response['LogResult']\n",
        r"the log tail still base64-encoded.*b64decode",
        "tail-left-in-base64",
    ),
    WrongAnswer(
        "03_lambda",
        "3.3",
        "return lab.logs.filter_log_events(logGroupName=function_name,\n"
        "    filterPattern='\"Hello World\"')['events']\n",
        r"ResourceNotFoundException.*log group is '/aws/lambda/\S*stream-logger'",
        "log-group-without-its-path",
    ),
    WrongAnswer(
        "03_lambda",
        "3.4",
        "response = lab.lambda_.invoke(FunctionName=function_name, Payload=json.dumps(event))\n"
        "return response.get('FunctionError')\n",
        r"Unhandled",
        "function-error-instead-of-error-type",
    ),
    # -- lab 04 --------------------------------------------------------------------------------
    WrongAnswer(
        "04_event_driven_app",
        "4.1",
        "for record in event['Records']:\n"
        "    image = record['dynamodb']['NewImage']\n"
        "    dynamodb.update_item(\n"
        "        TableName=TOTALS_TABLE, Key={'PlayerName': image['PlayerName']},\n"
        "        UpdateExpression='ADD TotalScore :score, GamesPlayed :one',\n"
        "        ExpressionAttributeValues={':score': image['Score'], ':one': {'N': '1'}})\n"
        "count = len(event['Records'])\n"
        "print(f'Added {count} game(s) from {count} record(s)')\n",
        r"KeyError.*NewImage",
        "every-record-counted-as-a-game",
    ),
    WrongAnswer(
        "04_event_driven_app",
        "4.1",
        "for record in event['Records']:\n"
        "    if record['eventName'] != 'INSERT':\n"
        "        continue\n"
        "    image = record['dynamodb']['NewImage']\n"
        "    dynamodb.update_item(\n"
        "        TableName=TOTALS_TABLE, Key={'PlayerName': image['PlayerName']},\n"
        "        UpdateExpression='ADD TotalScore :s, GamesPlayed :one SET BestScore = :s',\n"
        "        ExpressionAttributeValues={':s': image['Score'], ':one': {'N': '1'}})\n"
        "count = len(event['Records'])\n"
        "print(f'Added {count} game(s) from {count} record(s)')\n",
        r"BestScore 900 after the batch, but has .*BestScore 500.*ConditionExpression",
        "best-score-without-its-condition",
    ),
    WrongAnswer(
        "05_reliability",
        "5.3",
        'inserts_only = {"Filters": [{"Pattern": json.dumps({"eventName": "INSERT"})}]}\n',
        r"no FilterCriteria.*\['INSERT'\]",
        "pattern-value-not-in-a-list",
        answer_fails=True,
    ),
    WrongAnswer(
        "04_event_driven_app",
        "4.2",
        'mapping = mappings.connect_stream(lab, tables.scores, lab.name("game-aggregator"),\n'
        '    starting_position="LATEST", BatchSize=100)\n',
        r"the mapping starts at LATEST",
        "mapping-from-latest",
    ),
    WrongAnswer(
        "04_event_driven_app",
        "4.2",
        'mapping = mappings.connect_stream(lab, tables.scores, lab.name("game-aggregator"),\n'
        '    starting_position="LATEST", BatchSize=100)\n',
        r"^Exercise 4\.3: exercise 4\.2 failed its check: fix it and run its check again first",
        "totals-after-a-failed-mapping",
        then="4.3",
    ),
    WrongAnswer(  # a zero too few
        "04_event_driven_app",
        "4.2",
        'mapping = mappings.connect_stream(lab, tables.scores, lab.name("game-aggregator"),\n'
        '    starting_position="TRIM_HORIZON", BatchSize=10)\n',
        r"batches of up to 10 records; the exercise asks for 100",
        "batch-size-not-as-asked",
    ),
    WrongAnswer(  # the role may not read the stream: Lambda refuses the mapping
        "04_event_driven_app",
        "4.2",
        'mapping = mappings.connect_stream(lab, tables.scores, lab.name("game-aggregator"),\n'
        '    starting_position="TRIM_HORIZON", BatchSize=100)\n',
        r"role may not read the stream .*--stream GameScoreRecords on the %%lambda_function",
        "role-without-stream-access",
        answer_fails=True,
        edits=((" --stream GameScoreRecords --timeout 30", " --timeout 30"),),
    ),
    WrongAnswer(
        "04_event_driven_app",
        "4.3",
        "totals = {}\n"
        "page = lab.dynamodb.scan(TableName=tables.scores, Limit=page_size)\n"
        "for item in page['Items']:\n"
        "    row = totals.setdefault(item['PlayerName']['S'],\n"
        "        {'TotalScore': 0, 'GamesPlayed': 0, 'BestScore': 0})\n"
        "    score = int(item['Score']['N'])\n"
        "    row['TotalScore'] += score\n"
        "    row['GamesPlayed'] += 1\n"
        "    row['BestScore'] = max(row['BestScore'], score)\n"
        "return totals\n",
        r"counted 100 games, the table holds \d+.*ExclusiveStartKey",
        "one-page-of-the-scan",
    ),
    WrongAnswer(  # off by one: a new player's row starts with the game, which is then added
        "04_event_driven_app",
        "4.3",
        "totals = {}\n"
        "request = {'TableName': tables.scores, 'Limit': page_size}\n"
        "while True:\n"
        "    page = lab.dynamodb.scan(**request)\n"
        "    for item in page['Items']:\n"
        "        player, score = item['PlayerName']['S'], int(item['Score']['N'])\n"
        "        row = totals.setdefault(player,\n"
        "            {'TotalScore': score, 'GamesPlayed': 1, 'BestScore': score})\n"
        "        row['TotalScore'] += score\n"
        "        row['GamesPlayed'] += 1\n"
        "        row['BestScore'] = max(row['BestScore'], score)\n"
        "    if 'LastEvaluatedKey' not in page:\n"
        "        return totals\n"
        "    request['ExclusiveStartKey'] = page['LastEvaluatedKey']\n",
        r"recompute_totals gives \w+ TotalScore \d+, the games add up to \d+.*first game is "
        r"counted twice",
        "first-game-counted-twice",
    ),
    # -- lab 05 --------------------------------------------------------------------------------
    WrongAnswer(
        "05_reliability",
        "5.1",
        "dynamodb.transact_write_items(TransactItems=[\n"
        "    {'Put': {'TableName': EVENTS, 'Item': {'EventID': {'S': event_id}}}},\n"
        "    {'Update': {'TableName': TOTALS, 'Key': {'PlayerName': {'S': player}},\n"
        "                'UpdateExpression': 'ADD TotalScore :s, GamesPlayed :g',\n"
        "                'ExpressionAttributeValues': {':s': {'N': str(score)},\n"
        "                                              ':g': {'N': str(games)}}}}])\n"
        "return True\n",
        r"a game delivered twice was counted twice",
        "marker-without-its-condition",
    ),
    WrongAnswer(  # the marker first, then the update, as two calls
        "05_reliability",
        "5.1",
        "try:\n"
        "    dynamodb.put_item(TableName=EVENTS, Item={'EventID': {'S': event_id}},\n"
        "                      ConditionExpression='attribute_not_exists(EventID)')\n"
        "except dynamodb.exceptions.ConditionalCheckFailedException:\n"
        "    return False\n"
        "dynamodb.update_item(TableName=TOTALS, Key={'PlayerName': {'S': player}},\n"
        "                     UpdateExpression='ADD TotalScore :s, GamesPlayed :g',\n"
        "                     ExpressionAttributeValues={':s': {'N': str(score)},\n"
        "                                                ':g': {'N': str(games)}})\n"
        "return True\n",
        r"the marker was written anyway.*one transact_write_items call",
        "marker-and-update-in-two-calls",
    ),
    WrongAnswer(
        "05_reliability",
        "5.1",
        TRUE_WHEN_COUNTED_BEFORE,
        r"count_once returned True for a record it had counted before",
        "true-when-counted-before",
    ),
    WrongAnswer(
        "05_reliability",
        "5.1",
        TRUE_WHEN_COUNTED_BEFORE,
        r"^Exercise 5\.2: exercise 5\.1 failed its check: fix it and run its check again first",
        "queue-check-after-a-failed-aggregator",
        then="5.2",
    ),
    WrongAnswer(
        "05_reliability",
        "5.2",
        'safe_settings = {"MaximumRetryAttempts": 2, "BisectBatchOnFunctionError": True,\n'
        '    "DestinationConfig": {"OnFailure": {"Destination": failures["QueueUrl"]}}}\n',
        r"QueueArn, not its QueueUrl",
        "destination-given-a-queue-url",
        answer_fails=True,
    ),
    WrongAnswer(
        "05_reliability",
        "5.3",
        'inserts_only = {"Filters": [{"Pattern": {"eventName": ["INSERT"]}}]}\n',
        r"json\.dumps",
        "pattern-given-as-a-dict",
        answer_fails=True,
    ),
    # -- lab 06 --------------------------------------------------------------------------------
    WrongAnswer(
        "06_replication_analytics",
        "6.1",
        "for record in event['Records']:\n"
        "    if record['eventName'] in ('INSERT', 'MODIFY'):\n"
        "        replica.put_item(TableName=REPLICA_TABLE, Item=record['dynamodb']['NewImage'])\n",
        r"after a REMOVE, \S+ is still in the replica",
        "removes-not-replicated",
    ),
    WrongAnswer(
        "06_replication_analytics",
        "6.2",
        ONE_PAGE_BOOTSTRAP,
        r"only 25 items were copied: one page",
        "bootstrap-of-one-page",
    ),
    WrongAnswer(
        "06_replication_analytics",
        "6.2",
        ONE_PAGE_BOOTSTRAP,
        r"^Exercise 6\.1: exercise 6\.2 failed its check: fix it and run its check again first",
        "convergence-after-a-failed-bootstrap",
        then="6.1",
    ),
    WrongAnswer(
        "06_replication_analytics",
        "6.3",
        "for record in event['Records']:\n"
        "    if record['eventName'] == 'INSERT':\n"
        "        image = record['dynamodb']['NewImage']\n"
        "        totals = state.setdefault(image['PlayerName']['S'],\n"
        "            {'TotalScore': 0, 'GamesPlayed': 0})\n"
        "        totals['TotalScore'] += int(image['Score']['N'])\n"
        "        totals['GamesPlayed'] += 1\n"
        "if event['isFinalInvokeForWindow']:\n"
        "    start = event['window']['start']\n"
        "    for player, totals in state.items():\n"
        "        table.put_item(Item={'PlayerName': player, 'WindowShard': start,\n"
        "            'WindowStart': start, 'ShardId': event['shardId'], **totals})\n",
        r"the second shard's row replaced the first shard's",
        "window-rows-keyed-by-window-alone",
    ),
]


def with_wrong_answer(
    nb: nbformat.NotebookNode, case: WrongAnswer
) -> tuple[nbformat.NotebookNode, int, int, int]:
    """The notebook with the wrong answer in place, cut after the exercise's check cell (or
    after the check cell of ``case.then``): the notebook, the answer cell, the exercise's check
    cell and the last check cell."""
    answer_cell = next(  # the cells' roles are their tags (see build_labs)
        i
        for i, c in enumerate(nb.cells)
        if build_labs.EXERCISE_TAG in build_labs.tags(c)
        and case.exercise in [e.number for e in build_labs.strip_solutions(c.source)[1]]
    )

    def checks_of(exercise: str, after: int) -> list[int]:
        return [
            i
            for i, c in enumerate(nb.cells)
            if i > after and exercise in build_labs.checked_exercises(c)
        ]

    check_cell = checks_of(case.exercise, answer_cell)[0]
    # ``then``'s last check: the one that builds on the exercise (6.1's convergence, not its guard)
    last_check = checks_of(case.then, check_cell)[-1] if case.then else check_cell

    def replace(match: re.Match) -> str:
        indent = match.group("indent")
        return "".join(indent + line + "\n" for line in case.answer.splitlines())

    nb.cells[answer_cell].source = SOLUTION.sub(replace, nb.cells[answer_cell].source, count=1)
    for old, new in case.edits:
        edited = [cell for cell in nb.cells if old in cell.source]
        assert len(edited) == 1, f"{old!r} is in {len(edited)} cells"
        edited[0].source = edited[0].source.replace(old, new)
    nb.cells = nb.cells[: last_check + 1]
    return nb, answer_cell, check_cell, last_check


def shown_lines(nb: nbformat.NotebookNode, index: int) -> int:
    """How many lines the learner sees for the error of cell ``index``."""
    error = next(o for o in nb.cells[index].outputs if o.get("output_type") == "error")
    return sum(len(line.splitlines()) for line in error.get("traceback", []))


def test_every_exercise_has_a_typical_wrong_answer() -> None:
    exercises = {
        exercise.number
        for path in sorted((ROOT / "solutions").glob("*.ipynb"))
        for exercise in build_labs.exercises_of(build_labs.read(path), path.stem)
    }
    assert len(exercises) >= 21 and {case.exercise for case in CASES} == exercises
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_wrong_answer_gets_a_specific_message(case: WrongAnswer, emulator: str) -> None:
    path = ROOT / "solutions" / f"{case.notebook}.ipynb"
    nb, answer_cell, check_cell, last_check = with_wrong_answer(build_labs.read(path), case)
    result = execute(
        nb, env={"LAB_PREFIX": f"wrong{CASES.index(case):02d}-"}, cwd=path.parent,
        allow_errors=True, timeout=120,
    )
    failed = {cell.index: cell for cell in result.failures}
    expected_failures = {check_cell, last_check} | ({answer_cell} if case.answer_fails else set())
    assert set(failed) == expected_failures, {i: c.error_value for i, c in failed.items()}
    for index in {check_cell, last_check}:  # never a pass or a hang: a CheckFailed
        assert failed[index].error_name in {"CheckFailed", "EarlierExerciseFailed"}, (
            failed[index].error_name, failed[index].error_value
        )
    message = failed[last_check].error_value
    print(f"{case.id}: {message}")
    assert re.search(case.expected, message), message
    assert len(message.splitlines()) <= 3 and shown_lines(result.notebook, last_check) <= 3
    if case.answer_fails:  # an AWS error in the learner's cell: a few lines, never a traceback
        assert shown_lines(result.notebook, answer_cell) <= 8
