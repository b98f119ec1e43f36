"""Event source mapping pollers: DynamoDB stream records to Lambda, as AWS delivers them.

moto answers the mapping API but its own trigger runs inside the write, ignores
every setting and needs Docker; ``moto_patches`` keeps that trigger from
running, and this extension adds a poller per enabled stream mapping instead.

Parts, one job each: ``settings`` (defaults and validation), ``records`` (AWS's
record shape), ``source`` (the emulator's shards), ``stream_poller`` (every
shard, parents before children), ``batcher`` (sizes, filters, lanes,
windows), ``processor`` (retries, bisect, partial responses, on-failure),
``invoker`` (Invoke over HTTP), ``on_failure`` (the message describing a failed
batch; ``local/destinations`` sends it, as it sends the runtime's), ``windows``
(tumbling state), ``poller`` (one shard's lanes and checkpoints), ``registry`` (states),
``interceptor`` (the HTTP entry: the mapping API).
"""

from __future__ import annotations

from typing import Any

from .. import moto_patches
from ..destinations import DestinationSender
from .interceptor import EventSourceMappingApi
from .invoker import LambdaInvoker
from .registry import MappingRegistry, moto_source_factory


def install(app: Any) -> MappingRegistry:
    """Plug the pollers into the emulator: the API interceptor, wake-ups and shutdown."""
    registry = MappingRegistry(
        source_factory=moto_source_factory(app.moto_lock),
        invoker=LambdaInvoker(lambda: app.endpoint),
        sender=DestinationSender(lambda: app.endpoint),
    )

    def wake(shard: Any) -> None:
        registry.wake_table(shard.table.table_arn)

    moto_patches.add_stream_listener(wake)
    app.add_interceptor(EventSourceMappingApi(app, registry))

    def shutdown() -> None:
        moto_patches.remove_stream_listener(wake)
        registry.close()

    app.shutdown_hooks.append(shutdown)
    app.stream_mappings = registry
    return registry
