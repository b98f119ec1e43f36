"""Exercise checks, one module per lab (``lab00`` ... ``lab06``) and the shared rules.

Notebooks import their lab's module as ``checks``, for example
``from streamlab.checks import lab03 as checks``.
"""
