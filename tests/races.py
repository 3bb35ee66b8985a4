"""Races for tests: every worker started at once (a barrier, then one thread each)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


def race(workers: list[Callable[[], Any]]) -> list[Any]:
    """Start every worker at once; each one's result or the exception it raised, in order."""
    barrier = threading.Barrier(len(workers))
    results: list[Any] = [None] * len(workers)

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = workers[n]()
        except Exception as exc:
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results
