"""moto's record of every model object it creates, holding them weakly.

moto keeps, per model class, a list of every instance ever made
(``BaseModel.__new__`` appends to ``cls.instances_tracked``) for its
dashboard (``/moto-api/data.json``) and for S3's reset. Nothing ever leaves
that list: every DynamoDB item replaced by a put, every copy an update makes
of the old item, every deleted item and table stays in memory for the life of
the process. In one run of the whole course, about 17,700 of the 19,700 items
moto had recorded were such dead ones (and 55 of its 68 tables), and a longer
workshop only adds more.

Here the record holds its instances weakly: it lists the objects that still
exist, in the order they were made, as moto's list did, and forgets an object
once nothing else holds it. Nothing an AWS API answers reads the record.
"""

from __future__ import annotations

import itertools
import threading
import weakref
from collections.abc import Iterator
from typing import Any

from moto.core.common_models import BaseModel


class LiveInstances:
    """What ``cls.instances_tracked`` holds from now on: the class's instances still alive.

    It has what moto uses of the list (``append``, iteration, ``len``). An
    object that cannot be referenced weakly (a class with ``__slots__`` and no
    ``__weakref__``) is held as moto held it.
    """

    def __init__(self, instances: Iterator[Any] | list[Any] = ()) -> None:
        self._order = itertools.count()
        self._lock = threading.Lock()  # objects are made outside moto's lock too (stream records)
        self._weak: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._strong: dict[int, Any] = {}
        for instance in instances:
            self.append(instance)

    def append(self, instance: Any) -> None:
        with self._lock:
            key = next(self._order)
            try:
                self._weak[key] = instance
            except TypeError:  # not weakly referenceable
                self._strong[key] = instance

    def _alive(self) -> list[Any]:
        with self._lock:
            pairs = list(self._weak.items()) + list(self._strong.items())
        return [instance for _, instance in sorted(pairs, key=lambda pair: pair[0])]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._alive())

    def __len__(self) -> int:
        return len(self._weak) + len(self._strong)


_original_new = BaseModel.__new__


def _tracked_weakly(cls: type, *args: Any, **kwargs: Any) -> Any:
    """``BaseModel.__new__``, recording the instance in the class's ``LiveInstances``.

    A class made after ``apply`` (moto imports a service's models on its first
    request) or whose record moto reset to a new list (``reset_model_data``)
    gets its ``LiveInstances`` here, on its next instance.
    """
    instance = super(BaseModel, cls).__new__(cls)  # as moto's: object.__new__ or next in MRO
    tracked = cls.__dict__.get("instances_tracked")
    if not isinstance(tracked, LiveInstances):
        tracked = LiveInstances(tracked or ())
        cls.instances_tracked = tracked  # type: ignore[attr-defined]
    tracked.append(instance)
    return instance


def apply() -> None:
    """Hold moto's model instances weakly from now on (idempotent).

    Classes moto has already made keep the instances they hold now, weakly.
    """
    if BaseModel.__new__ is not _original_new:
        return
    from moto.core.model_instances import model_data

    for models in model_data.values():
        for cls in models.values():
            tracked = cls.__dict__.get("instances_tracked")
            if not isinstance(tracked, LiveInstances):
                cls.instances_tracked = LiveInstances(tracked or ())
    BaseModel.__new__ = staticmethod(_tracked_weakly)  # type: ignore[method-assign,assignment]
