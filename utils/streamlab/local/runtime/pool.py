"""Execution environments per function version: warm reuse, caps, replacement, reaping.

* An idle environment with the same code and configuration is reused (warm);
  otherwise a new one starts (cold).
* Environments whose code or configuration is out of date are retired: idle
  ones at once, busy ones when their invocation ends.
* At most ``LAB_LAMBDA_MAX_ENVIRONMENTS`` (default 10) run at once per function
  version on this machine; further invocations wait for one to free up (AWS's
  account limit is 1,000, far beyond a laptop). Reserved concurrency is AWS's
  own cap: invocations beyond it are throttled (HTTP 429), as on AWS.
* Environments idle for ``LAB_LAMBDA_IDLE_SECONDS`` (default 300), or whose
  function was deleted, are reaped; beyond ``LAB_LAMBDA_MAX_IDLE_ENVIRONMENTS``
  (default 10) idle ones in all, the least recently used are stopped, so a
  session that deploys many functions does not fill the laptop's memory (AWS
  too reclaims idle environments when it likes).
* At most ``LAB_LAMBDA_MAX_LIVE_ENVIRONMENTS`` (default 6) environments are
  alive at once, busy or idle, across all functions: the laptop's or the
  shared host's share, as an account's concurrency quota is on AWS (new
  accounts get a reduced one: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
  A function that needs a new environment
  first stops the least recently used idle one of any function, as Lambda
  reclaims idle capacity; when all are busy, the invocation waits for one to
  free up (a stream batch is then delivered a little later, as after AWS's
  throttling and retry). After ``ROOM_WAIT_SECONDS`` it starts one anyway,
  so a function that synchronously invokes another never waits on itself.
  A busy environment is never stopped. ``close`` ends them all.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable

from .api_errors import too_many_requests
from .environment import ExecutionEnvironment
from .functions import FunctionSpec
from .settings import RuntimeSettings

EnvironmentFactory = Callable[[FunctionSpec], ExecutionEnvironment]
QUEUE_WAIT_SECONDS = 900.0  # Lambda's longest timeout: a waiting invocation gives up after it
# How long an invocation waits for a busy environment to free up when the live ones fill
# LAB_LAMBDA_MAX_LIVE_ENVIRONMENTS; then it starts one anyway, so a function that invokes
# another synchronously never waits on itself for good.
ROOM_WAIT_SECONDS = 5.0


class EnvironmentPool:
    def __init__(
        self,
        settings: RuntimeSettings,
        factory: EnvironmentFactory,
        function_exists: Callable[[tuple[str, str, str]], bool] | None = None,
    ) -> None:
        self.settings = settings
        self._factory = factory
        self._function_exists = function_exists
        self._cond = threading.Condition()
        self._envs: dict[tuple, list[ExecutionEnvironment]] = defaultdict(list)
        self._busy: set[ExecutionEnvironment] = set()
        self._inflight: dict[tuple, int] = defaultdict(int)
        self._closed = threading.Event()
        self._reaper = threading.Thread(target=self._reap_loop, name="lambda-reaper", daemon=True)
        self._reaper.start()

    # ------------------------------------------------------------------ acquire / release

    def acquire(self, spec: FunctionSpec) -> ExecutionEnvironment:
        """An environment reserved for one invocation of ``spec``; release it afterwards."""
        with self._cond:
            reserved = spec.reserved_concurrency
            if reserved is not None and self._inflight[spec.function_key] >= reserved:
                raise too_many_requests("ReservedFunctionConcurrentInvocationLimitExceeded")
            self._inflight[spec.function_key] += 1
        try:
            return self._take(spec)
        except BaseException:
            with self._cond:
                self._inflight[spec.function_key] -= 1
            raise

    def _take(self, spec: FunctionSpec) -> ExecutionEnvironment:
        started = time.monotonic()
        deadline = started + QUEUE_WAIT_SECONDS
        room_deadline = started + ROOM_WAIT_SECONDS
        to_close: list[ExecutionEnvironment] = []
        try:
            with self._cond:
                while True:
                    if self._closed.is_set():
                        raise too_many_requests("ConcurrentInvocationLimitExceeded")
                    envs = self._envs[spec.pool_key]
                    for env in list(envs):
                        if env.fingerprint != spec.fingerprint or not env.alive or env.retired:
                            env.retired = True
                            if env not in self._busy:
                                envs.remove(env)
                                to_close.append(env)
                    idle = [env for env in envs if env not in self._busy and not env.retired]
                    if idle:
                        env = max(idle, key=lambda e: e.last_used)
                        self._busy.add(env)
                        return env
                    if (
                        len([e for e in envs if not e.retired])
                        < self.settings.max_environments_per_function
                    ):
                        to_close.extend(self._make_room())
                        now = time.monotonic()
                        if self._live() < self.settings.max_live_environments or (
                            now >= room_deadline
                        ):
                            env = self._factory(spec)
                            envs.append(env)
                            self._busy.add(env)
                            return env
                    now = time.monotonic()
                    remaining = deadline - now
                    if remaining <= 0:
                        raise too_many_requests("ConcurrentInvocationLimitExceeded")
                    until_room = room_deadline - now
                    self._cond.wait(min(remaining, until_room if until_room > 0 else 1.0, 1.0))
        finally:
            for env in to_close:
                env.close(wait=False)

    def release(self, spec: FunctionSpec, env: ExecutionEnvironment) -> None:
        to_close: list[ExecutionEnvironment] = []
        with self._cond:
            self._busy.discard(env)
            self._inflight[spec.function_key] -= 1
            if env.retired or not env.alive:
                envs = self._envs[spec.pool_key]
                if env in envs:
                    envs.remove(env)
                to_close.append(env)
            to_close.extend(self._evict_idle_beyond_cap())
            self._cond.notify_all()
        for stale in to_close:
            stale.close(wait=False)  # the invocation's answer does not wait for it

    def _evict_idle_beyond_cap(self) -> list[ExecutionEnvironment]:
        """Remove the least recently used idle environments beyond the cap (lock held)."""
        idle = sum(1 for envs in self._envs.values() for env in envs if env not in self._busy)
        return self._evict_least_recently_used(idle - self.settings.max_idle_environments)

    def _live(self) -> int:
        """Environments alive, busy or idle (lock held)."""
        return sum(len(envs) for envs in self._envs.values())

    def _make_room(self) -> list[ExecutionEnvironment]:
        """Remove least recently used idle environments while the live ones fill the budget
        (lock held); the caller starts a new one."""
        return self._evict_least_recently_used(
            self._live() + 1 - self.settings.max_live_environments
        )

    def _evict_least_recently_used(self, count: int) -> list[ExecutionEnvironment]:
        """Remove up to ``count`` idle environments, least recently used first (lock held);
        the caller closes them outside the lock."""
        if count <= 0:
            return []
        idle = sorted(
            (
                (env.last_used, key, env)
                for key, envs in self._envs.items()
                for env in envs
                if env not in self._busy
            ),
            key=lambda item: item[0],
        )
        evicted = []
        for _, key, env in idle[:count]:
            self._envs[key].remove(env)
            evicted.append(env)
        return evicted

    # ------------------------------------------------------------------ inspection

    def environments(self, spec_key: tuple | None = None) -> list[ExecutionEnvironment]:
        with self._cond:
            if spec_key is not None:
                return list(self._envs.get(spec_key, []))
            return [env for envs in self._envs.values() for env in envs]

    # ------------------------------------------------------------------ reaping

    def reap(self) -> int:
        """Close idle environments past their idle time or of deleted functions; count them."""
        now = time.monotonic()
        to_close: list[ExecutionEnvironment] = []
        with self._cond:
            keys = list(self._envs)
        gone = set()
        if self._function_exists is not None:
            gone = {key for key in keys if not self._function_exists(key[:3])}
        with self._cond:
            for key, envs in self._envs.items():
                for env in list(envs):
                    if env in self._busy:
                        continue
                    idle_for = now - env.last_used
                    if key in gone or idle_for >= self.settings.idle_seconds or not env.alive:
                        envs.remove(env)
                        to_close.append(env)
        for env in to_close:
            env.close()
        return len(to_close)

    def _reap_loop(self) -> None:
        interval = max(0.05, min(5.0, self.settings.idle_seconds / 4))
        while not self._closed.wait(interval):
            try:
                self.reap()
            except Exception:  # keep reaping; one bad environment must not stop it
                pass

    def close(self) -> None:
        self._closed.set()
        with self._cond:
            envs = [env for group in self._envs.values() for env in group]
            self._envs.clear()
            self._cond.notify_all()
        for env in envs:
            env.close()
