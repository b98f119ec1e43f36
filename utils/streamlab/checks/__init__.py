"""Exercise checks, one module per lab (``lab00`` ... ``lab06``) and the shared rules.

``exercise`` holds the rules of every exercise (its line, its stub, the pending
state, the PASS line and the two errors); ``probes`` reads a deployed function;
``deadline`` bounds the learner code a check runs. Notebooks import their lab's
module, for example ``from streamlab.checks import lab03 as checks``; the alias
is a convention for readers only: ``streamlab build-labs`` finds check cells by
their ``check`` tag, never by the alias.
"""
