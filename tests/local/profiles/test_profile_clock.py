"""The aws profile's figures and clock: cited, scaled, seeded; and the small parts built on them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from streamlab.errors import ConfigError
from streamlab.local import profiles
from streamlab.local.profiles.clock import FIGURES_FILE, ProfileClock, load_figures
from streamlab.local.profiles.logs import _unwrap_token, _wrap_token
from streamlab.local.profiles.mappings import MappingTiming
from streamlab.local.profiles.rate_limit import RateLimiter


def test_every_figure_has_a_number_and_cites_an_aws_documentation_page() -> None:
    figures = load_figures()
    raw = json.loads(FIGURES_FILE.read_text())["figures"]
    assert set(figures) == set(raw)
    for figure in figures.values():
        assert figure.source.startswith("https://docs.aws.amazon.com/"), figure.name
        assert 0 <= figure.low <= figure.high, figure.name


def test_the_figures_are_awss_documented_ones() -> None:
    clock = ProfileClock()
    role = clock.figure("iam.role_propagation_seconds")
    assert (role.low, role.high) == (5, 15)
    assert clock.value("lambda.account_concurrency") == 10
    assert clock.value("streams.describe_stream_per_second") == 10
    assert clock.value("logs.filter_log_events_per_second") == 5
    assert clock.value("mappings.readers_per_shard") == 2


def test_a_figure_without_a_source_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "aws.json"
    bad.write_text(json.dumps({"figures": {"x.seconds": {"value": [1, 2], "source": ""}}}))
    with pytest.raises(ConfigError, match="must cite an AWS documentation page"):
        load_figures(bad)


def test_delays_are_scaled_and_stay_in_the_documented_range() -> None:
    clock = ProfileClock(time_scale=0.05, seed=3)
    draws = [clock.delay("iam.role_propagation_seconds") for _ in range(200)]
    assert min(draws) >= 5 * 0.05 and max(draws) <= 15 * 0.05
    assert len(set(draws)) > 100  # drawn, not a constant


def test_the_same_seed_draws_the_same_delays_and_another_seed_others() -> None:
    def draws(seed: int) -> list[float]:
        clock = ProfileClock(time_scale=1, seed=seed)
        return [clock.delay("mappings.creating_seconds") for _ in range(5)]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)


def test_a_time_scale_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ConfigError, match="time-scale"):
        ProfileClock(time_scale=0)
    with pytest.raises(ConfigError, match="time-scale"):
        profiles.ProfileOptions("aws", -1)
    with pytest.raises(ConfigError, match="--profile"):
        profiles.ProfileOptions("azure")


def test_options_round_trip_through_the_command_line() -> None:
    parser = argparse.ArgumentParser()
    profiles.add_arguments(parser)
    options = profiles.ProfileOptions("aws", 0.05, 7)
    assert profiles.options_from(parser.parse_args(options.as_arguments())) == options
    assert profiles.ProfileOptions().as_arguments() == []  # local: the server's defaults
    with pytest.raises(ConfigError, match="apply to the aws profile"):
        profiles.options_from(parser.parse_args(["--time-scale", "0.1"]))


def test_the_rate_limiter_refuses_the_call_over_the_quota_until_the_second_has_passed() -> None:
    now = [100.0]
    limiter = RateLimiter(10, clock=lambda: now[0])
    assert all(limiter.allow("acct") for _ in range(10))
    assert not limiter.allow("acct")
    assert limiter.allow("other")  # quotas are per account
    now[0] += 0.5
    assert not limiter.allow("acct")  # refused calls do not count, but the window holds
    now[0] += 0.51
    assert limiter.allow("acct")


def test_more_readers_than_a_shard_allows_are_throttled_some_of_the_time() -> None:
    timing = MappingTiming(ProfileClock(time_scale=1, seed=1))
    assert all(timing.read_pause(2) == 0 for _ in range(50))
    pauses = [timing.read_pause(4) for _ in range(400)]
    throttled = [p for p in pauses if p > 0]
    assert 100 < len(throttled) < 300  # about half: 2 readers of 4 are let through
    assert min(throttled) >= 1 and max(throttled) <= 4


def test_mapping_states_last_as_long_as_the_figures_say() -> None:
    timing = MappingTiming(ProfileClock(time_scale=0.5, seed=1))
    assert 10 <= timing.transition_delay("Creating") <= 30
    assert 2.5 <= timing.transition_delay("Disabling") <= 15
    assert timing.transition_delay("Enabled") == 0


def test_an_empty_page_token_carries_the_real_token_back() -> None:
    assert _unwrap_token(_wrap_token("group@stream@42")) == (True, "group@stream@42")
    assert _unwrap_token(_wrap_token(None)) == (True, None)
    assert _unwrap_token("group@stream@42") == (False, "group@stream@42")


def test_the_rollover_setting_is_absent_in_the_local_profile() -> None:
    assert profiles.active() is None
    assert profiles.shard_rollover_seconds() is None


def test_the_scheduler_runs_actions_in_due_order_and_close_drops_the_rest() -> None:
    import threading

    from streamlab.local.profiles.scheduler import Scheduler

    scheduler = Scheduler()
    ran: list[str] = []
    done = threading.Event()
    scheduler.later(0.05, lambda: ran.append("second"))
    scheduler.later(0.0, lambda: ran.append("first"))
    scheduler.later(0.1, done.set)
    scheduler.later(60, lambda: ran.append("never"))
    assert done.wait(10)
    scheduler.close()
    assert ran == ["first", "second"]


def test_late_log_events_of_one_stream_land_in_the_order_they_were_written() -> None:
    import threading
    from types import SimpleNamespace

    from streamlab.local.profiles.clock import Figure
    from streamlab.local.profiles.logs import DeferredLogWriter
    from streamlab.local.profiles.scheduler import Scheduler

    class Writer:
        def __init__(self) -> None:
            self.streams: list[str] = []
            self.written: list[tuple[str, int]] = []
            self.done = threading.Event()

        def ensure_stream(self, spec: object, stream: str) -> None:
            self.streams.append(stream)

        def write(self, spec: object, stream: str, events: list[dict]) -> None:
            self.written.append((stream, events[0]["timestamp"]))
            if len(self.written) == 20:
                self.done.set()

    figure = Figure("logs.visible_after_seconds", 0.0, 0.2, "https://docs.aws.amazon.com/x")
    clock = ProfileClock(time_scale=1, seed=5, figures={figure.name: figure})
    scheduler = Scheduler()
    writer = Writer()
    deferred = DeferredLogWriter(writer, clock, scheduler)
    spec = SimpleNamespace(account_id="1", region="r", log_group="/aws/lambda/f")
    for number in range(20):
        deferred.write(spec, f"s{number % 2}", [{"timestamp": number, "message": "m\n"}])
    assert writer.streams == [f"s{n % 2}" for n in range(20)]  # created at once
    assert writer.done.wait(10)
    scheduler.close()
    for stream in ("s0", "s1"):
        stamps = [stamp for name, stamp in writer.written if name == stream]
        assert stamps == sorted(stamps) and len(stamps) == 10


def test_stream_limits_are_aws_figures_scaled_in_the_aws_profile(monkeypatch) -> None:
    from types import SimpleNamespace

    from streamlab.local import stream_shards

    assert profiles.stream_limit_seconds() is None  # local: the shard model's own figures
    policy = stream_shards.ShardPolicy()
    assert (policy.iterator_seconds, policy.retention_seconds) == (15 * 60, 24 * 3600)
    monkeypatch.setattr(profiles, "_active", SimpleNamespace(clock=ProfileClock(0.1, seed=1)))
    iterator, retention = profiles.stream_limit_seconds()
    assert iterator == pytest.approx(90) and retention == pytest.approx(8640)
