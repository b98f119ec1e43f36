"""``%%lambda_function``: a notebook cell whose text is deployed as a Lambda function.

The learner writes ordinary Python below the magic line (JupyterLab keeps the
syntax highlighting), and the cell's text is exactly what Lambda runs (IPython
only ends it with a newline when the cell has none)::

    %%lambda_function hello --timeout 5 --table GameRecords
    def lambda_handler(event, context):
        print("Message: \"Hello World\"")
        return {"ok": True}

Load it with ``%load_ext streamlab`` or ``streamlab.load_magics()``. The lab
connection is the notebook's ``lab`` variable when there is one (``--lab NAME``
picks another), else ``streamlab.connect()``.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from streamlab.aws.functions import (
    DEFAULT_HANDLER,
    DEFAULT_MEMORY,
    DEFAULT_RUNTIME,
    DEFAULT_TIMEOUT,
    Deployment,
    deploy_function,
    module_file,
)
from streamlab.aws.session import Lab, connect
from streamlab.checks.exercise import raise_if_stub
from streamlab.errors import LabError

MAGIC_NAME = "lambda_function"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad magic line as a LabError instead of exiting the kernel."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise LabError(f"%%{MAGIC_NAME}: {message}. Usage: {self.format_usage().strip()}")


def _parser() -> _Parser:
    parser = _Parser(prog=f"%%{MAGIC_NAME}", add_help=False)
    parser.add_argument("name", help="function name (the lab prefix is added)")
    parser.add_argument("--handler", default=DEFAULT_HANDLER)
    parser.add_argument("--runtime", default=DEFAULT_RUNTIME)
    parser.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT, help="seconds")
    parser.add_argument("--memory", type=int, default=DEFAULT_MEMORY, help="MB")
    parser.add_argument("--table", action="append", default=[], dest="tables")
    parser.add_argument("--stream", action="append", default=[], dest="streams")
    parser.add_argument("--queue", action="append", default=[], dest="queues")
    parser.add_argument("--topic", action="append", default=[], dest="topics")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--description", default="")
    parser.add_argument("--lab", default="lab", help="notebook variable holding the Lab")
    return parser


def parse_line(line: str) -> argparse.Namespace:
    """Parse the magic's arguments; a mistake is a one-line LabError with the usage."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise LabError(f"%%{MAGIC_NAME}: {exc} in {line!r}.") from None
    args = _parser().parse_args(words)
    environment: dict[str, str] = {}
    for pair in args.env:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise LabError(f"%%{MAGIC_NAME}: --env {pair!r} is not KEY=VALUE.")
        environment[key] = value
    args.environment = environment
    return args


def syntax_warning(code: str, filename: str) -> str | None:
    """A note when the code does not compile: it is still deployed, as Lambda would take it."""
    try:
        compile(code, filename, "exec")
    except SyntaxError as exc:
        return (
            f"note: {filename} line {exc.lineno}: {exc.msg}; it is deployed anyway, and "
            "Lambda will answer invocations with Runtime.UserCodeSyntaxError."
        )
    return None


def run_cell_magic(line: str, cell: str, user_ns: dict[str, Any] | None = None) -> Deployment:
    """Deploy ``cell`` with the settings on the magic ``line``; prints a one-line summary."""
    args = parse_line(line)
    # In a generated lab the stub sits inside the handler, where Lambda would only report a
    # NameError at the first invocation: the learner hears at once which exercise is open.
    raise_if_stub(cell)
    lab = _find_lab(args.lab, user_ns or {})
    warning = syntax_warning(cell, module_file(args.handler))
    if warning:
        print(warning)
    deployment = deploy_function(
        lab,
        args.name,
        cell,
        handler=args.handler,
        runtime=args.runtime,
        timeout=args.timeout,
        memory=args.memory,
        tables=args.tables,
        streams=args.streams,
        queues=args.queues,
        topics=args.topics,
        environment=args.environment,
        description=args.description,
    )
    print(deployment.summary())
    return deployment


def _find_lab(variable: str, user_ns: dict[str, Any]) -> Lab:
    candidate = user_ns.get(variable)
    if isinstance(candidate, Lab):
        return candidate
    if variable != "lab":
        raise LabError(
            f"%%{MAGIC_NAME}: --lab {variable} is not a Lab in this notebook: "
            f"run {variable} = streamlab.connect() first."
        )
    return connect()


def load_ipython_extension(ipython: Any) -> None:
    """Register ``%%lambda_function`` in an IPython shell (``%load_ext streamlab``)."""

    def lambda_function(line: str, cell: str) -> None:
        deployment = run_cell_magic(line, cell, ipython.user_ns)
        ipython.user_ns["_deployment"] = deployment

    lambda_function.__doc__ = __doc__
    ipython.register_magic_function(lambda_function, magic_kind="cell", magic_name=MAGIC_NAME)


def load_magics() -> None:
    """Register the magics in the running notebook; a no-op outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with JupyterLab
        return
    shell = get_ipython()
    if shell is not None:
        load_ipython_extension(shell)
