"""What deploying from a cell costs over the raw boto3 calls, on the local emulator.

Prints median milliseconds for: the raw ``CreateFunction`` call (the baseline,
role made beforehand), ``deploy_function`` creating a function (role, policy,
create, wait for Active), re-running an unchanged cell, and a code update.
Run: ``.venv/bin/python benchmarks/deploy_function.py`` (starts a private
emulator on a free port in a temporary state folder, stops it at the end).
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid

from streamlab.local.control import free_port

ROUNDS = 15
CODE = "def lambda_handler(event, context):\n    return event\n"


def _median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:8.1f} ms"


def main() -> None:
    os.environ["LAB_STATE_DIR"] = tempfile.mkdtemp(prefix="streamlab-bench-")
    port = free_port()
    os.environ.update(LAB_BACKEND="local", LAB_ENDPOINT=f"http://127.0.0.1:{port}")
    from streamlab import connect
    from streamlab.aws import functions, roles
    from streamlab.local import control

    control.start(port)
    try:
        lab = connect()
        role = lab.iam.create_role(
            RoleName="bench-raw-role", AssumeRolePolicyDocument=json.dumps(roles.trust_policy())
        )["Role"]["Arn"]
        package = functions.build_zip(CODE)
        raw, create, same, update = [], [], [], []
        for _ in range(ROUNDS):
            name = f"bench-{uuid.uuid4().hex[:8]}"
            t0 = time.perf_counter()
            lab.lambda_.create_function(
                FunctionName=f"{name}-raw",
                Runtime="python3.12",
                Role=role,
                Handler="handler.lambda_handler",
                Code={"ZipFile": package},
            )
            t1 = time.perf_counter()
            functions.deploy_function(lab, name, CODE)
            t2 = time.perf_counter()
            functions.deploy_function(lab, name, CODE)
            t3 = time.perf_counter()
            functions.deploy_function(lab, name, CODE + "# v2\n")
            t4 = time.perf_counter()
            raw.append(t1 - t0)
            create.append(t2 - t1)
            same.append(t3 - t2)
            update.append(t4 - t3)
        print(f"rounds: {ROUNDS}, median per call")
        print(f"baseline raw CreateFunction      {_median_ms(raw)}")
        print(f"deploy_function, new function    {_median_ms(create)}")
        print(f"deploy_function, unchanged cell  {_median_ms(same)}")
        print(f"deploy_function, new code        {_median_ms(update)}")
    finally:
        control.stop(port)


if __name__ == "__main__":
    main()
