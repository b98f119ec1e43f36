"""ipywidgets for what learners would rather watch than read.

Each widget shows itself live in JupyterLab and as a static text/HTML snapshot
when run headless (``LAB_TEST_MODE=1``: nbval, CI), and stops its background
refresh when the kernel shuts down. Import the one you need from its module,
e.g. ``from streamlab.widgets.leaderboard import Leaderboard``.
"""
