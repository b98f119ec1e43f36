"""botocore's JSON models parsed compactly: about a third of botocore's own size.

botocore parses each model into ``OrderedDict`` objects, documentation and all:
``endpoints.json`` alone is about 7 MiB of Python objects, DynamoDB's API model
1.6 MiB. Both the emulator (its one shared loader, and moto's) and the worker
template (the default session every forked worker's boto3 starts from) parse
them this way instead:

* plain dicts, not ``OrderedDict``: a dict keeps its order too, in less than
  two thirds of the memory;
* no documentation: ``documentation`` and ``documentationUrl`` strings are what
  botocore puts in docstrings (``help(client.put_item)``); nothing else reads
  them, so only docstrings come out empty;
* repeated names shared: keys and short strings (shape names, types) are
  interned, one string for all their uses;
* optionally, in ``endpoints.json``, no ``variants``: the FIPS and dual-stack
  endpoints, which botocore reads only for a client asked for one
  (``use_fips_endpoint``, ``use_dualstack_endpoint``). The emulator's own
  clients never are, so it drops them; a function might be, so the template
  keeps them.

This file imports only the standard library and botocore: the template
(``runtime/forkserver.py``, which never imports the emulator) loads it by its path.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

from botocore.loaders import JSONFileLoader

DOCUMENTATION_KEYS = frozenset({"documentation", "documentationUrl"})
ENDPOINTS_FILE = "endpoints.json"  # botocore's partitions, regions and endpoints per service
INTERN_LONGEST = 64  # names, types and hostnames repeat; longer strings seldom do

_intern = sys.intern


def compact_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object as a plain dict, without documentation, its short strings shared."""
    return {
        _intern(key): (
            _intern(value) if type(value) is str and len(value) <= INTERN_LONGEST else value
        )
        for key, value in pairs
        if not (key in DOCUMENTATION_KEYS and type(value) is str)
    }


def compact_endpoints_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """As ``compact_object``, without the FIPS and dual-stack ``variants`` lists."""
    return compact_object([(key, value) for key, value in pairs if key != "variants"])


class CompactJSONFileLoader(JSONFileLoader):
    """botocore's JSON file loader, parsing into the compact form described above."""

    def __init__(self, *, drop_endpoint_variants: bool = False) -> None:
        super().__init__()
        self._endpoints_hook = (
            compact_endpoints_object if drop_endpoint_variants else compact_object
        )

    def _load_file(self, full_path: str, open_method: Callable[..., Any]) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as fp:
            payload = fp.read().decode("utf-8")
        hook = (
            self._endpoints_hook
            if os.path.basename(full_path) == ENDPOINTS_FILE
            else compact_object
        )
        return json.loads(payload, object_pairs_hook=hook)
