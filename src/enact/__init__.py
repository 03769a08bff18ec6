"""enact: a framework for generative software.

Commit values to content-addressed stores, journal every call of a component,
then rewind, replay and branch what ran. This module only re-exports; each
name lives in the submodule SPEC A1 gives for it.
"""

from enact import contexts
from enact.digests import resource_digest
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
    ExceptionResource,
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
    request_input,
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
from enact.serialization import (
    DeserializationError,
    JsonSerializer,
    SerializationError,
    Serializer,
)
from enact.summaries import invocation_summary
from enact.wrappers import TypeWrapper, deepcopy, register, unwrap, wrap

__all__ = [
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
    "get",
    "invocation_summary",
    "pformat",
    "pprint",
    "register",
    "request_input",
    "resource_digest",
    "typed_invokable",
    "unwrap",
    "wrap",
]
