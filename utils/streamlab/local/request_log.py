"""The emulator's own log: one plain line per request, in a file that cannot grow without bound.

A learner looks at this file when something went wrong, and a long workshop day must
not fill their disk: every request is one line (time, method, path, the AWS operation,
status, milliseconds) with no terminal colour codes, the file rotates by size, and a
client that hangs up (a worker that was stopped, a notebook interrupted) is not worth a
traceback. Errors inside the emulator keep theirs: those are bugs to report.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

MAX_BYTES = 1_000_000  # per file; with BACKUPS the log never takes more than ~3 MB
BACKUPS = 2
FORMAT = "%(asctime)s %(levelname)s %(message)s"

log = logging.getLogger("streamlab.requests")


def configure(log_path: Path | None, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
    """Send the emulator's logging to ``log_path`` (rotated by size), or to stdout."""
    handler: logging.Handler
    if log_path is None:
        handler = logging.StreamHandler(sys.stdout)
    else:
        handler = logging.handlers.RotatingFileHandler(
            log_path, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
        )
    handler.setFormatter(logging.Formatter(FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # werkzeug's own line per request duplicates ours and colours some of them; its
    # warnings and errors (a failing request's traceback) still come through.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def request_line(method: str, path: str, operation: str | None, status: str, seconds: float) -> str:
    """``POST / dynamodb:PutItem 200 3.1ms``: what one request was and how it ended."""
    code = status.split(" ", 1)[0]
    return f"{method} {path} {operation or '-'} {code} {seconds * 1000:.1f}ms"


def is_hang_up(error: BaseException | None) -> bool:
    """A client that went away mid-request: nothing to report beyond one line."""
    return isinstance(error, (ConnectionError, TimeoutError))
