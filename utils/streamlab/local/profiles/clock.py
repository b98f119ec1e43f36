"""The aws profile's figures and clock: AWS's documented numbers, scaled and seeded.

Every figure lives in ``aws.json`` beside this module, with the AWS page it
comes from. A delay is a number or a ``[min, max]`` range of seconds at time
scale 1; ``ProfileClock.delay`` draws it (uniformly, from a generator seeded
by ``--seed``, so a rehearsal can be replayed) and multiplies it by
``--time-scale``, so CI can rehearse AWS's waits in a fraction of the time
while keeping their order and proportions.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError

FIGURES_FILE = Path(__file__).with_name("aws.json")


@dataclass(frozen=True)
class Figure:
    """One documented number: a value or a ``(low, high)`` range, and its source page."""

    name: str
    low: float
    high: float
    source: str
    note: str = ""

    @property
    def value(self) -> float:
        """The figure itself (a range's midpoint; used for counts and quotas)."""
        return (self.low + self.high) / 2


def load_figures(path: Path = FIGURES_FILE) -> dict[str, Figure]:
    """Read the figures; a figure without a number or an AWS source is a ``ConfigError``."""
    raw = json.loads(path.read_text())
    figures: dict[str, Figure] = {}
    for name, entry in raw["figures"].items():
        value = entry.get("value")
        if isinstance(value, list) and len(value) == 2:
            low, high = float(value[0]), float(value[1])
        elif isinstance(value, (int, float)):
            low = high = float(value)
        else:
            raise ConfigError(f"{path.name}: figure {name} needs a number or [min, max].")
        source = str(entry.get("source", ""))
        if not source.startswith("https://docs.aws.amazon.com/"):
            raise ConfigError(f"{path.name}: figure {name} must cite an AWS documentation page.")
        if low > high or low < 0:
            raise ConfigError(f"{path.name}: figure {name} has an empty or negative range.")
        figures[name] = Figure(name, low, high, source, str(entry.get("note", "")))
    return figures


class ProfileClock:
    """Draws the profile's delays: AWS's figure, times the time scale, from a seeded generator."""

    def __init__(
        self,
        time_scale: float = 1.0,
        seed: int | None = None,
        figures: dict[str, Figure] | None = None,
    ) -> None:
        if not time_scale > 0:
            raise ConfigError(
                f"--time-scale {time_scale!r}: use a number above 0 (1 = AWS's pace)."
            )
        self.time_scale = float(time_scale)
        self.seed = seed
        self.figures = load_figures() if figures is None else figures
        self._random = random.Random(seed)
        self._lock = threading.Lock()  # random.Random is shared by every request thread

    def figure(self, name: str) -> Figure:
        try:
            return self.figures[name]
        except KeyError:
            raise ConfigError(f"The aws profile has no figure {name!r}.") from None

    def value(self, name: str) -> float:
        """An unscaled figure: a quota, a count, a probability, a rate per real second."""
        return self.figure(name).value

    def delay(self, name: str) -> float:
        """Seconds to wait for ``name``: drawn from its range, multiplied by the time scale."""
        figure = self.figure(name)
        with self._lock:
            drawn = (
                figure.low
                if figure.low == figure.high
                else self._random.uniform(figure.low, figure.high)
            )
        return drawn * self.time_scale

    def chance(self, probability: float) -> bool:
        """A seeded coin: True with ``probability``."""
        with self._lock:
            return self._random.random() < probability

    def describe(self) -> dict[str, Any]:
        return {"time_scale": self.time_scale, "seed": self.seed}
