"""The emulator behaves like an account: state outlives the process that made it."""

from __future__ import annotations

import json
import subprocess
import sys

from streamlab.aws.session import Lab


def test_table_created_here_is_seen_from_another_process(lab: Lab, emulator: str) -> None:
    name = lab.name("SharedStateProbe")
    lab.dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    lab.dynamodb.put_item(TableName=name, Item={"id": {"S": "from-parent"}})
    script = (
        "import json, streamlab\n"
        "lab = streamlab.connect()\n"
        f"item = lab.dynamodb.get_item(TableName={name!r}, Key={{'id': {{'S': 'from-parent'}}}})\n"
        "print(json.dumps(item.get('Item')))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env={**__import__("os").environ, "LAB_ENDPOINT": emulator},
    ).stdout
    assert json.loads(output) == {"id": {"S": "from-parent"}}
