"""The dummy access keys inside the local backend, one per kind of caller.

moto accepts any key; giving each caller its own lets the emulator's action
log tell apart what a participant's notebook calls (the participant IAM policy)
from what a function calls with its execution role, and from what the Lambda
service itself does (pollers, destinations), which needs no participant right.
"""

from __future__ import annotations

NOTEBOOK_ACCESS_KEY = "testing"  # streamlab.connect() on the local backend
FUNCTION_ACCESS_KEY = "LAMBDAFUNCTIONROLE"  # code running in a local Lambda environment
SERVICE_ACCESS_KEY = "LAMBDASERVICEPRINCIPAL"  # the emulator's own calls (pollers, destinations)
DUMMY_SECRET_KEY = "testing"
