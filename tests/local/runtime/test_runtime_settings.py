"""LAB_LAMBDA_* settings: defaults, parsing, and one-line errors that say what to set."""

from __future__ import annotations

import importlib.util
import os

import pytest

from streamlab.errors import ConfigError
from streamlab.local.runtime.settings import RuntimeSettings, load_settings


def test_defaults() -> None:
    start = "fork" if os.name == "posix" else "spawn"
    assert load_settings({}) == RuntimeSettings(start=start)
    assert load_settings({}).idle_seconds == 300.0


def test_workers_are_spawned_when_asked_or_with_awslambdaric() -> None:
    assert load_settings({"LAB_LAMBDA_START": "spawn"}).start == "spawn"
    assert load_settings({"LAB_LAMBDA_START": "Fork"}).start in ("fork", "spawn")
    if importlib.util.find_spec("awslambdaric") is not None:
        settings = load_settings({"LAB_LAMBDA_WORKER": "awslambdaric", "LAB_LAMBDA_START": "fork"})
        assert settings.start == "spawn"


def test_values_are_read() -> None:
    settings = load_settings(
        {
            "LAB_LAMBDA_MAX_ENVIRONMENTS": "3",
            "LAB_LAMBDA_IDLE_SECONDS": "1.5",
            "LAB_LAMBDA_PENDING_SECONDS": "2",
            "LAB_LAMBDA_ASYNC_RETRY_SECONDS": "0",
        }
    )
    assert settings.max_environments_per_function == 3
    assert settings.idle_seconds == 1.5
    assert settings.pending_seconds == 2.0
    assert settings.async_retry_base_seconds == 0.0


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"LAB_LAMBDA_WORKER": "docker"}, "use one of builtin, awslambdaric"),
        ({"LAB_LAMBDA_MAX_ENVIRONMENTS": "many"}, "is not a number"),
        ({"LAB_LAMBDA_MAX_ENVIRONMENTS": "0"}, "use at least 1"),
        ({"LAB_LAMBDA_IDLE_SECONDS": "-1"}, "too small"),
        ({"LAB_LAMBDA_START": "vfork"}, "use fork or spawn"),
    ],
)
def test_bad_values_raise_config_error_saying_what_to_do(environ: dict, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        load_settings(environ)
