"""Independent calls made at once, on a small thread pool per container: one round trip's wait
instead of one per call (botocore's clients are thread-safe; each call runs in a copy of the
caller's context, so its log lines keep the request's fields)."""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

WORKERS = 4  # more calls than this queue for a free worker: still correct, a little slower

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="pulse-together")
        return _pool


def run(calls: Sequence[Callable[[], T]]) -> list[T | BaseException]:
    """Each call's answer, in order, or the exception it raised (the others still run to the
    end: nothing is left running when this returns). The first runs in the caller's thread."""
    if not calls:
        return []
    futures: list[Future[T | BaseException]] = [
        _executor().submit(contextvars.copy_context().run, _settle, call) for call in calls[1:]
    ]
    return [_settle(calls[0]), *(future.result() for future in futures)]


def _settle(call: Callable[[], T]) -> T | BaseException:
    try:
        return call()
    except Exception as exc:  # handed back to the caller, who decides
        return exc
