"""What the benchmarks share: percentiles of timings and a one-file Lambda package."""

from __future__ import annotations

import io
import zipfile


def percentile(values: list[float], fraction: float) -> float:
    """The value at ``fraction`` (0..1) of the sorted ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


def handler_zip(source: str) -> bytes:
    """A deployment package holding ``source`` as ``lambda_function.py``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambda_function.py", source)
    return buffer.getvalue()
