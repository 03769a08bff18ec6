"""Journaled calls from a thread pool.

Threads do not inherit context variables, so calls made from a plain worker
thread would see no store and no journal. :func:`thread_pool_map` runs each
call in a copy of the caller's context: the calls are journaled as children
of the current call, in the order they start, and a replay answers each from
its own record (matched by request, since threads start in any order).
"""

from __future__ import annotations

import concurrent.futures
import contextvars
from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["thread_pool_map"]

T = TypeVar("T")
R = TypeVar("R")


def thread_pool_map(
    fn: Callable[[T], R], items: Iterable[T], max_workers: int | None = None
) -> list[R]:
    """Calls ``fn`` on every item in a thread pool; returns results in order.

    Each call runs in a copy of the caller's contexts (store, journal,
    replay), so invokables called by ``fn`` are journaled as children of the
    calling invokable. Every call finishes before this returns, so none is
    left pending when the caller returns.

    Args:
        fn: Called once per item, e.g. an invokable.
        items: The arguments.
        max_workers: Threads in the pool (``ThreadPoolExecutor``'s default
            if None).

    Returns:
        ``[fn(item) for item in items]``, computed concurrently.

    Raises:
        Exception: the first exception (in item order) that a call raised,
            once every call has finished.
    """
    items = list(items)
    with concurrent.futures.ThreadPoolExecutor(max_workers) as pool:
        futures = [
            pool.submit(contextvars.copy_context().run, fn, item) for item in items
        ]
        concurrent.futures.wait(futures)
    return [future.result() for future in futures]
