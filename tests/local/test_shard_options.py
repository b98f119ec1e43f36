"""The emulator's stream-shard options: what ``streamlab serve`` passes to the server."""

from __future__ import annotations

import argparse

import pytest

from streamlab.local import server, stream_shards


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    server.add_shard_arguments(parser)
    return parser.parse_args(list(argv))


def test_the_default_is_several_shards_and_no_rollover() -> None:
    policy = server.shard_policy_from(parse())
    assert policy == stream_shards.ShardPolicy()
    assert policy.shards > 1 and policy.rollover_records is None and policy.rollover_seconds is None


def test_rollover_options_reach_the_policy() -> None:
    args = parse(
        "--stream-shards", "2", "--shard-rollover-records", "5", "--shard-rollover-seconds", "9"
    )
    policy = server.shard_policy_from(args)
    assert (policy.shards, policy.rollover_records, policy.rollover_seconds) == (2, 5, 9.0)


@pytest.mark.parametrize(
    "argv", [("--stream-shards", "0"), ("--shard-rollover-records", "0"),
             ("--shard-rollover-seconds", "-1")]
)
def test_impossible_values_are_refused_in_one_line(argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit, match="^error: "):
        server.shard_policy_from(parse(*argv))
