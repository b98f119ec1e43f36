"""The emulator's request log: one plain line per request, rotated so it cannot fill a disk."""

from __future__ import annotations

import logging
from pathlib import Path

from streamlab.local import request_log


def test_request_lines_are_one_plain_line() -> None:
    line = request_log.request_line("POST", "/", "dynamodb:PutItem", "200 OK", 0.0031)
    assert line == "POST / dynamodb:PutItem 200 3.1ms"
    assert request_log.request_line("GET", "/x", None, "-", 0) == "GET /x - - 0.0ms"


def test_the_log_rotates_by_size(tmp_path: Path) -> None:
    path = tmp_path / "emulator.log"
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        request_log.configure(path, max_bytes=2_000, backups=2)
        for index in range(500):
            request_log.log.info(request_log.request_line("GET", f"/{index}", None, "200", 0))
        for handler in root.handlers:
            handler.flush()
        files = sorted(tmp_path.iterdir())
        assert [f.name for f in files] == ["emulator.log", "emulator.log.1", "emulator.log.2"]
        assert all(f.stat().st_size <= 2_100 for f in files)
        assert "GET /499 " in path.read_text()
    finally:
        for handler in root.handlers:
            handler.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
