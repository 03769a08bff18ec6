"""Batches: many durable runs of one component, sampled, forked and resumed.

A generative component is a distribution, and its users sample it: hundreds
or thousands of runs of one input, compared, scored, the best kept.
:func:`sample` starts ``n`` durable runs for each input as one
:class:`Batch`, on asyncio tasks, threads, worker processes or a Ray cluster,
and returns at once; :meth:`~enact.runs.Run.fork` with ``n`` grows ``n``
branches from one point of a run the same way.

A sample is known by its batch and its index, never by its input: two
samples of one input are two runs with two journals. A batch is listed in
the store's index (:func:`list_batches`, :func:`get_batch`) and resumed from
any process (:meth:`Batch.resume`): crashed samples continue from their
journals, finished ones never run again.

The implementation lives in :mod:`enact._batches`; this module is its public
face.
"""

from enact._batches.api import get_batch, list_batches, sample
from enact._batches.batch import Batch, BatchInfo, BatchNotFound, BatchStatus
from enact._batches.executors import (
    DEFAULT_CONCURRENCY,
    Dispatcher,
    Job,
    SampleExecutor,
)
from enact._batches.shipping import NotShippable
from enact._batches.summary import Distribution, Report

__all__ = [
    "sample",
    "Batch",
    "BatchInfo",
    "BatchStatus",
    "list_batches",
    "get_batch",
    "BatchNotFound",
    "NotShippable",
    "Report",
    "Distribution",
    "SampleExecutor",
    "Dispatcher",
    "Job",
    "DEFAULT_CONCURRENCY",
]
