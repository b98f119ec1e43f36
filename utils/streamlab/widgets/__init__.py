"""ipywidgets for what learners would rather watch than read.

Each widget renders a static snapshot when ``LAB_TEST_MODE=1`` (nbval, CI),
changes only its own state from background threads (never prints), and stops
its refresh loop when the kernel shuts down.
"""
