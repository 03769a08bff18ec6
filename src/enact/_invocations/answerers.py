"""Who answers input requests in place: offers claimed by a run's top call.

An input generator (sync or async) keeps a run alive and answers its input
requests where they are made. It *offers* its answerer to the ``invoke`` it
runs; that invoke's top-level call *claims* it as the live answerer, so
invokes nested in the run (meta-invocations) find no offer and record their
requests as usual. A durable run offers its recorder the same way (see
:mod:`enact._invocations.journal`).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from enact._invocations.input_requests import InputRequest
from enact.interfaces import ResourceBase

__all__ = [
    "Answerer",
    "AsyncAnswerer",
    "async_live_answerer",
    "async_offered_answerer",
    "claim_offer",
    "live_answerer",
    "offered_answerer",
]

#: Answers an input request in place (by asking the generator's user).
Answerer = Callable[[InputRequest], ResourceBase]
#: The async twin: awaits the answer.
AsyncAnswerer = Callable[[InputRequest], Awaitable[ResourceBase]]

# Set by InvocationGenerator while it drives a run live: answers an input
# request in place instead of raising it.
live_answerer: contextvars.ContextVar[Answerer | None] = contextvars.ContextVar(
    "enact.live_answerer", default=None
)
# Offered by InvocationGenerator to the invoke() it runs (see above).
offered_answerer: contextvars.ContextVar[Answerer | None] = contextvars.ContextVar(
    "enact.offered_answerer", default=None
)
# The async twins, set by AsyncInvocationGenerator: a request awaits its answer.
async_live_answerer: contextvars.ContextVar[AsyncAnswerer | None] = (
    contextvars.ContextVar("enact.async_live_answerer", default=None)
)
async_offered_answerer: contextvars.ContextVar[AsyncAnswerer | None] = (
    contextvars.ContextVar("enact.async_offered_answerer", default=None)
)


@contextlib.contextmanager
def claim_offer(
    live_variable: contextvars.ContextVar[Any],
    offered_variable: contextvars.ContextVar[Any],
) -> Iterator[None]:
    """Takes what was offered in ``offered_variable``, for this run only.

    The offer becomes the value of ``live_variable`` and is withdrawn, so an
    ``invoke`` nested in the run sees none.
    """
    live = live_variable.set(offered_variable.get())
    offer = offered_variable.set(None)
    try:
        yield
    finally:
        offered_variable.reset(offer)
        live_variable.reset(live)
