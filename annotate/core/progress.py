"""How a long command reports how far it is: one protocol for push, pull and publish.

The library calls back with a `Progress`; only the CLI draws bars from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    stage: str
    """What is being counted: tasks, predictions, annotations, articles."""
    done: int
    total: int


ProgressCallback = Callable[[Progress], None]
