"""What a batch is: an immutable descriptor, named in the store's index.

A batch's :class:`BatchSpec` is an object like any other, committed once when
the batch is made: its id, name, tags, the component, the inputs (one ref per
input), how many samples each input gets, and for a fork batch the journal
every branch replays. The index names it ``enact.batch.<id>`` (a name is a
garbage-collection root, so the spec and all it reaches stay). Nothing about
a batch is ever rewritten: its progress is the run records of its samples,
whose run ids are the batch id and the sample index (``<id>-<index>``), so a
sample is found, resumed or started again by its index alone, and two samples
of one input are two runs, never one result served twice.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from typing import Any

from enact._store_urls import StoreAddress, open_address, store_address
from enact.references import Ref
from enact.resource_registry import register
from enact.resources import Resource

__all__ = [
    "NAME_PREFIX",
    "BatchSpec",
    "StoreAddress",
    "new_batch_id",
    "open_address",
    "sample_run_id",
    "store_address",
]

#: The prefix of the index names that point at batch specs.
NAME_PREFIX = "enact.batch."


@register
@dataclasses.dataclass
class BatchSpec(Resource):
    """The immutable description of one batch of samples."""

    _enact_type_name = "enact.batches.BatchSpec"

    #: The batch id (unique in the store; its samples' run ids start with it).
    id: str
    #: A unique name given to the batch, if any.
    name: str | None
    #: Labels given to the batch and to each of its samples.
    tags: list[str]
    #: The qualified name of the component, for listings.
    component_name: str
    #: The invokable every sample calls.
    component: Ref[Any]
    #: The inputs, in order; sample ``i`` takes input ``i // per_input``.
    inputs: list[Ref[Any]]
    #: How many samples each input gets.
    per_input: int
    #: When the batch was made (seconds since the epoch).
    created: float
    #: The modules a worker process imports before reading the component.
    modules: list[str]
    #: For a fork batch, the run its samples branch from.
    parent: str | None = None
    #: For a fork batch, the journal every branch replays (cut at the branch point).
    replay_from: Ref[Any] | None = None
    #: The most calls at once of a component, by type id (None: no limits).
    limits: dict[str, int] | None = None

    @property
    def size(self) -> int:
        """How many samples the batch has."""
        return len(self.inputs) * self.per_input

    def input_of(self, index: int) -> Ref[Any]:
        """The input of sample ``index``."""
        return self.inputs[index // self.per_input]

    def run_id(self, index: int) -> str:
        """The run id of sample ``index``."""
        return sample_run_id(self.id, index)


def new_batch_id() -> str:
    """A new batch id: sortable by time, unique without coordination."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"b{stamp}-{uuid.uuid4().hex[:8]}"


def sample_run_id(batch_id: str, index: int) -> str:
    """The run id of sample ``index`` of a batch."""
    return f"{batch_id}-{index}"
