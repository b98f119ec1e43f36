"""The ``streamlab`` command: the emulator's life cycle, JupyterLab, and checks.

Every expected failure is printed as one line starting with ``error:`` and a
non-zero exit status, never as a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from collections.abc import Callable
from typing import Any

from streamlab.config import load_config
from streamlab.errors import LabError


def _port(args: argparse.Namespace) -> int:
    return args.port if args.port is not None else load_config().port


def _own_port(args: argparse.Namespace, profile: Any = None) -> int:
    """The port of this user's emulator, started if needed (elsewhere if another user's
    holds an implicit port; ``--port`` and LAB_ENDPOINT are never moved); ``profile``
    (``--profile aws ...``) is passed to an emulator that starts."""
    from streamlab.aws.session import start_own_emulator

    config = load_config()
    if args.port is not None:
        config = dataclasses.replace(
            config, endpoint=f"http://127.0.0.1:{args.port}", endpoint_source="LAB_ENDPOINT"
        )
    return start_own_emulator(config, profile).port


def cmd_serve(args: argparse.Namespace) -> int:
    from streamlab.local import profiles, server

    forwarded = ["--port", str(_port(args)), "--host", args.host]
    if args.allow_remote:
        forwarded.append("--allow-remote")
    if args.stream_shards is not None:
        forwarded += ["--stream-shards", str(args.stream_shards)]
    if args.shard_rollover_records is not None:
        forwarded += ["--shard-rollover-records", str(args.shard_rollover_records)]
    if args.shard_rollover_seconds is not None:
        forwarded += ["--shard-rollover-seconds", str(args.shard_rollover_seconds)]
    return server.main(forwarded + profiles.options_from(args).as_arguments())


def cmd_start(args: argparse.Namespace) -> int:
    from streamlab.local import control, profiles

    port = _own_port(args, profiles.options_from(args))
    print(control.status(port).message)
    return 0


def env_lines(endpoint: str, region: str) -> list[str]:
    """Shell lines that point the AWS CLI and any SDK at this user's emulator.

    The keys are the notebook identity's (see ``local.identities``); a real session
    token or profile left in the shell would be sent along or win, so they are unset.
    """
    from streamlab.local.identities import issued

    keys = issued().notebook
    values = {
        "AWS_ACCESS_KEY_ID": keys.access_key,
        "AWS_SECRET_ACCESS_KEY": keys.secret_key,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,  # what boto3 and the AWS CLI v1 read
    }
    lines = ["unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE"]
    return lines + [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def cmd_env(args: argparse.Namespace) -> int:
    config = load_config()
    if not config.is_local:
        raise LabError("`streamlab env` is for the local backend: unset LAB_BACKEND=aws.")
    port = _own_port(args)
    endpoint = f"http://127.0.0.1:{port}"
    if args.participant:
        print("\n".join(participant_env_lines(endpoint, config.region, args.participant)))
        return 0
    for line in env_lines(endpoint, config.region):
        print(line)
    return 0


def participant_env_lines(endpoint: str, region: str, name: str) -> list[str]:
    """Shell lines for one workshop participant of this emulator (created on first use): the
    aws backend against the emulator, with an IAM user's key that has the participant policy
    for prefix ``NAME-`` (enforced under ``--profile aws``)."""
    from streamlab.aws.session import connect
    from streamlab.local.participants import ensure_participant

    lab = connect(load_config({"LAB_BACKEND": "local", "LAB_ENDPOINT": endpoint}))
    person = ensure_participant(lab, name)
    lines = ["unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN AWS_PROFILE"]
    values = person.environment(endpoint, region)
    return lines + [f"export {key}={shlex.quote(value)}" for key, value in values.items()]


def cmd_rehearse(args: argparse.Namespace) -> int:
    from streamlab.jupyter.launcher import find_repository_root
    from streamlab.tooling.rehearsal import print_report, rehearse

    participants = [name.strip() for name in args.participants.split(",") if name.strip()]
    report = rehearse(
        find_repository_root(),
        participants=participants,
        time_scale=args.time_scale,
        seed=args.seed,
        names=args.names or None,
    )
    return print_report(report)


def cmd_stop(args: argparse.Namespace) -> int:
    from streamlab.local import control

    print(control.stop(_port(args)).message)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from streamlab.local import control

    result = control.status(_port(args))
    print(result.message)
    return 0 if result.running else 3


def cmd_lab(args: argparse.Namespace) -> int:
    from streamlab.jupyter.launcher import run_lab

    return run_lab(port=args.jupyter_port, open_browser=args.browser)


def cmd_doctor(args: argparse.Namespace) -> int:
    from streamlab.tooling.doctor import main

    return main()


def cmd_cleanup(args: argparse.Namespace) -> int:
    from streamlab.aws.session import connect
    from streamlab.tooling.cleanup import cleanup, find_resources

    lab = connect()
    where = f"{lab.backend} backend, prefix {lab.prefix!r}, account {lab.account_id}"
    if args.dry_run:
        report = cleanup(lab, dry_run=True)
    else:
        if lab.backend == "aws" and not args.yes:
            found = find_resources(lab)
            for resource in found:
                print(f"  {resource}")
            answer = input(f"Delete these {len(found)} resource(s) ({where})? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing deleted")
                return 1
        report = cleanup(lab)
    print(f"cleanup on the {where}")
    for resource in report.found if report.dry_run else report.deleted:
        print(f"  {'would delete' if report.dry_run else 'deleted'} {resource}")
    for resource, reason in report.failed:
        print(f"  FAILED {resource}: {reason}")
    for resource in report.going_away:
        print(f"  going away (AWS is still deleting it): {resource}")
    for resource in report.remaining:
        print(f"  still present: {resource}")
    print(report.summary())
    return 0 if report.dry_run or report.clean else 1


def cmd_build_labs(args: argparse.Namespace) -> int:
    from streamlab.jupyter.launcher import find_repository_root
    from streamlab.tooling.build_labs import build_labs

    root = find_repository_root()
    results = build_labs(root, check=args.check)
    for result in results:
        print(result.line(root))
    invalid = [r for r in results if r.state == "invalid"]
    stale = [r for r in results if r.stale and r.state != "invalid"]
    if invalid:
        print(
            f"error: {len(invalid)} problem(s) in solutions/: fix the notebooks "
            "(cell tags, hints, cell ids, lab facts)",
            file=sys.stderr,
        )
    if stale:
        print(
            f"error: {len(stale)} generated file(s) out of step with solutions/: "
            "run `streamlab build-labs` (and delete orphans)",
            file=sys.stderr,
        )
    if invalid or stale:
        return 1
    return 0


def cmd_run_solutions(args: argparse.Namespace) -> int:
    from streamlab.jupyter.launcher import find_repository_root
    from streamlab.tooling.run_notebooks import run_solutions

    root = find_repository_root()
    for path, seconds in run_solutions(root, args.names):
        print(f"{seconds:6.1f} s  {path.relative_to(root).as_posix()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamlab",
        description="Labs for DynamoDB Streams and AWS Lambda, on a local emulator or on AWS.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, handler: Callable[[argparse.Namespace], int], help_text: str):
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        return sub

    serve = add("serve", cmd_serve, "run the local emulator in the foreground")
    serve.add_argument("--port", type=int, help="default: the port of LAB_ENDPOINT (4599)")
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1 (loopback)")
    serve.add_argument(
        "--allow-remote", action="store_true", help="allow a non-loopback --host (unsafe)"
    )
    from streamlab.local import profiles

    profiles.add_arguments(serve)
    serve.add_argument("--stream-shards", type=int, help="shards per new stream (default 4)")
    serve.add_argument(
        "--shard-rollover-records", type=int, help="close a shard into a child after N records"
    )
    serve.add_argument(
        "--shard-rollover-seconds", type=float, help="close a shard into a child after S seconds"
    )
    for name, handler, text in (
        ("start", cmd_start, "start the local emulator in the background"),
        ("stop", cmd_stop, "stop the background emulator and its function workers"),
        ("status", cmd_status, "say whether the emulator is running (exit 0 if it is)"),
    ):
        command = add(name, handler, text)
        command.add_argument("--port", type=int)
        if name == "start":
            profiles.add_arguments(command)
    env = add(
        "env",
        cmd_env,
        'print export lines for the AWS CLI and SDKs: eval "$(streamlab env)"',
    )
    env.add_argument("--port", type=int)
    env.add_argument(
        "--participant",
        metavar="NAME",
        help="a workshop participant's credentials (an IAM user with the participant policy "
        "for prefix NAME-), for LAB_BACKEND=aws against this emulator",
    )
    rehearse = add(
        "rehearse",
        cmd_rehearse,
        "(maintainers) run the course with LAB_BACKEND=aws against --profile aws, as several "
        "participants at once",
    )
    rehearse.add_argument("names", nargs="*", help="solution notebooks (default: all)")
    rehearse.add_argument("--participants", default="ann,bob,cyd")
    rehearse.add_argument("--time-scale", type=float, default=0.1)
    rehearse.add_argument("--seed", type=int, default=1)
    lab = add("lab", cmd_lab, "start the emulator and JupyterLab on labs/00_setup.ipynb")
    lab.add_argument("--jupyter-port", type=int, default=8888)
    lab.add_argument(
        "--browser",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="open a browser (default: only when a display is available)",
    )
    cleanup = add("cleanup", cmd_cleanup, "delete everything the labs created under LAB_PREFIX")
    cleanup.add_argument("--dry-run", action="store_true", help="only list what would go")
    cleanup.add_argument("--yes", action="store_true", help="do not ask on the aws backend")
    add("doctor", cmd_doctor, "check Python, packages, the emulator and (on aws) credentials")
    build = add(
        "build-labs",
        cmd_build_labs,
        "generate labs/, the notebooks' fact cells and the guide's generated parts from solutions/",
    )
    build.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if anything generated drifts or a notebook breaks a rule",
    )
    run = add(
        "run-solutions",
        cmd_run_solutions,
        "execute solutions/ on a fresh private emulator and keep their outputs (maintainers)",
    )
    run.add_argument(
        "names", nargs="*", help="notebook names, e.g. 01_dynamodb_basics (default: all)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
