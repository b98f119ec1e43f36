"""Lab 00's check: Python, the packages and a round trip to the backend."""

from __future__ import annotations

import sys

from streamlab.aws.session import Lab
from streamlab.errors import LabError


def environment_ready(lab: Lab) -> None:
    """Python, packages and a round trip to the backend, one PASS line each (lab 00)."""
    from streamlab.tooling.doctor import check_packages, check_python

    results = [check_python(), *check_packages()]
    for result in results:
        if not result.ok:
            raise LabError(f"{result.name}: {result.detail}")
    print(f"PASS python {sys.version_info.major}.{sys.version_info.minor} (3.10 or newer)")
    print(f"PASS packages: {', '.join(r.name for r in results[1:])} installed as the kit needs")
    try:
        lab.dynamodb.list_tables(Limit=1)
        account = lab.account_id
    except LabError:
        raise
    except Exception as exc:
        raise LabError(
            f"The {lab.backend} backend did not answer ({type(exc).__name__}: {exc}); "
            "run `streamlab doctor` in a terminal for details."
        ) from None
    where = "the local emulator" if lab.backend == "local" else f"AWS region {lab.region}"
    print(f"PASS backend: DynamoDB answers on {where} (account {account})")
