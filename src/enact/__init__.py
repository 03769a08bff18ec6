"""enact: a framework for generative software.

Commit values to content-addressed stores, journal every call of a component,
then rewind, replay and branch what ran. This module only re-exports; each
name lives in the submodule enact 0.4.0.dev1 has it in
(docs/compatibility.md#public-modules-and-names).
"""

from enact import batches, contexts, datasets, evaluations, feedback, runs
from enact._store_urls import open_store
from enact.batches import Batch, sample
from enact.digests import resource_digest
from enact.evaluations import evaluate
from enact.interfaces import (
    FieldTypeError,
    FieldValue,
    MissingWrapperError,
    NoneResource,
    ResourceBase,
    ResourceDict,
    ResourceDictValue,
    TypeWrapperBase,
)
from enact.invocations import (
    AsyncInvocationGenerator,
    AsyncInvokable,
    AsyncInvokableBase,
    AsyncRequestInput,
    ExceptionResource,
    IncompleteSubinvocationError,
    InputChanged,
    InputRequest,
    InputRequestOutsideInvocation,
    Invocation,
    InvocationGenerator,
    Invokable,
    InvokableBase,
    ReplayContext,
    ReplayError,
    Request,
    RequestedTypeUndetermined,
    RequestInput,
    Response,
    WrappedException,
    invoke,
    invoke_async,
    request_input,
    request_input_async,
    thread_pool_map,
    typed_invokable,
)
from enact.pretty_print import PPrinter, PPValue, pformat, pprint
from enact.references import (
    FileBackend,
    FileStore,
    InMemoryBackend,
    InMemoryStore,
    Ref,
    RefError,
    SQLiteBackend,
    SQLiteStore,
    Store,
    checkout,
    commit,
    get,
)
from enact.resource_registry import Registry
from enact.resource_types import Bytes, Float, Image, Int, NPArray, Str
from enact.resources import Resource
from enact.runs import Run, RunStatus, run
from enact.serialization import (
    DeserializationError,
    JsonSerializer,
    SerializationError,
    Serializer,
)
from enact.summaries import invocation_summary
from enact.wrappers import TypeWrapper, deepcopy, register, unwrap, wrap

__all__ = [
    "AsyncInvocationGenerator",
    "AsyncInvokable",
    "AsyncInvokableBase",
    "AsyncRequestInput",
    "IncompleteSubinvocationError",
    "invoke_async",
    "request_input_async",
    "thread_pool_map",
    # Durable runs (enact.runs): indexed, resumable, answerable from anywhere.
    "Run",
    "RunStatus",
    "run",
    "runs",
    # Batches (enact.batches): many runs, sampled, forked and resumed.
    "Batch",
    "batches",
    "sample",
    # Executions as training data: feedback, evaluations, dataset export.
    "datasets",
    "evaluate",
    "evaluations",
    "feedback",
    "Bytes",
    "DeserializationError",
    "ExceptionResource",
    "FieldTypeError",
    "FieldValue",
    "FileBackend",
    "FileStore",
    "Float",
    "Image",
    "InMemoryBackend",
    "InMemoryStore",
    "InputChanged",
    "InputRequest",
    "InputRequestOutsideInvocation",
    "Int",
    "Invocation",
    "InvocationGenerator",
    "Invokable",
    "InvokableBase",
    "MissingWrapperError",
    "JsonSerializer",
    "NPArray",
    "NoneResource",
    "PPValue",
    "PPrinter",
    "Ref",
    "RefError",
    "Registry",
    "ReplayContext",
    "ReplayError",
    "Request",
    "RequestInput",
    "RequestedTypeUndetermined",
    "Resource",
    "ResourceBase",
    "ResourceDict",
    "ResourceDictValue",
    "Response",
    "SQLiteBackend",
    "SQLiteStore",
    "SerializationError",
    "Serializer",
    "Store",
    "Str",
    "TypeWrapper",
    "TypeWrapperBase",
    "WrappedException",
    "checkout",
    "commit",
    "contexts",
    "deepcopy",
    "open_store",
    "get",
    "invocation_summary",
    "invoke",
    "pformat",
    "pprint",
    "register",
    "request_input",
    "resource_digest",
    "typed_invokable",
    "unwrap",
    "wrap",
]
