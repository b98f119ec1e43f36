"""Widgets for what people would rather watch than read.

Rules every widget here follows (see ARCHITECTURE.md, "Rules"):
display first, then change; background threads change widget state only and
never print; headless (``LAB_TEST_MODE=1``, which test kernels inherit, or no
IPython kernel) a widget renders a static snapshot and its refresh loop runs a
bounded number of steps, joined in the same cell; refresh threads stop when
the kernel shuts down.
"""

from .log_tail import LogTail, show_log_tail
from .mode import headless, test_mode
from .stream_viewer import StreamViewer

__all__ = ["LogTail", "StreamViewer", "headless", "show_log_tail", "test_mode"]
