"""The merge train's decisions: the order a batch lands in, and the search for
the task that broke the checks.  Pure.

Order: a task after the tasks of the batch it waits for (``after``), then by
priority (urgent first), then age, then id — the order the scheduler would
have started them in.  The search assumes what a train makes true: the
target's tip passed its checks (prefix 0), the whole batch failed them
(prefix n); it finds the shortest failing prefix in about log2(n) runs, so
its last task is the first that breaks them, and everything before it can land.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from cairn.core.vocabulary import priority_rank


class Car(NamedTuple):
    id: int
    after: list[int]
    priority: str
    created: float


def train_order(cars: list[Car]) -> list[int]:
    """Each task after the tasks of this batch it waits for; else priority, age, id."""
    left = sorted(cars, key=lambda c: (-priority_rank(c.priority), c.created, c.id))
    in_batch = {c.id for c in cars}
    done: set[int] = set()
    ordered: list[int] = []
    while left:
        # A cycle cannot happen (after only ever names older tasks); if one did, take the first anyway.
        ready = next((c for c in left if all(a in done or a not in in_batch for a in c.after)), left[0])
        ordered.append(ready.id)
        done.add(ready.id)
        left.remove(ready)
    return ordered


def first_breaking(count: int, passes: Callable[[int], bool]) -> int:
    """The length of the shortest prefix whose checks fail, given that the
    prefix of ``count`` fails and the empty one passes; ``passes(k)`` runs the
    checks on the first k tasks.  1 <= result <= count."""
    good, bad = 0, count
    while bad - good > 1:
        middle = (good + bad) // 2
        if passes(middle):
            good = middle
        else:
            bad = middle
    return bad
