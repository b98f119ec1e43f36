"""A lab of a check test's own: resources under a fresh prefix, shared with no other test."""

from __future__ import annotations

import uuid

from streamlab.aws.session import Lab, connect
from streamlab.config import load_config


def lab_with_own_prefix(endpoint: str) -> Lab:
    """A local lab whose resources no other test shares (a fresh prefix)."""
    prefix = f"c{uuid.uuid4().hex[:8]}-"
    return connect(
        load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": endpoint, "LAB_PREFIX": prefix})
    )
