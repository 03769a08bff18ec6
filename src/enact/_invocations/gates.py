"""Gates: what a call waits for before it runs (a concurrency limit).

A batch whose component calls a rate-limited API sets :data:`call_gate` while
its samples run; every call that really runs (not one answered from a
journal) asks the gate first and holds what it is given while it runs. Calls
outside such a scope see no gate and pay one context-variable read.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Protocol

__all__ = ["CallGate", "call_gate"]


class CallGate(Protocol):
    """Decides, per call, what the call must hold while it runs."""

    def hold(self, invokable: Any) -> contextlib.AbstractContextManager[Any] | None:
        """What a sync call of ``invokable`` holds while it runs (None: nothing)."""

    def hold_async(
        self, invokable: Any
    ) -> contextlib.AbstractAsyncContextManager[Any] | None:
        """What an async call of ``invokable`` holds while it runs (None:
        nothing); waiting for it never blocks the event loop."""


#: The gate of the calls made in this context, if any.
call_gate: contextvars.ContextVar[CallGate | None] = contextvars.ContextVar(
    "enact.call_gate", default=None
)
