"""Journaled invocations, replay and human input
(docs/compatibility.md#invocations).

The implementation lives in the private package :mod:`enact._invocations`;
this module is its public face.
"""

from enact._invocations.calls import (
    AsyncFunctionWrapper,
    AsyncMethodWrapper,
    CallArgs,
    FunctionWrapper,
    MethodWrapper,
)
from enact._invocations.exceptions import (
    ExceptionResource,
    IncompleteSubinvocationError,
    InputChanged,
    InputRequestOutsideInvocation,
    InvocationError,
    InvokableTypeError,
    ReplayError,
    RequestedTypeUndetermined,
    WrappedException,
)
from enact._invocations.functions import (
    RegisteredAsyncFunction,
    RegisteredFunction,
    invoke,
    invoke_async,
)
from enact._invocations.input_requests import InputRequest
from enact._invocations.inputs import (
    AsyncInvocationGenerator,
    AsyncRequestInput,
    InvocationGenerator,
    RequestInput,
    request_input,
    request_input_async,
)
from enact._invocations.invokables import (
    AsyncInvokable,
    AsyncInvokableBase,
    Invokable,
    InvokableBase,
    typed_invokable,
)
from enact._invocations.journal import Builder
from enact._invocations.parallel import thread_pool_map
from enact._invocations.records import ExceptionOverride, Invocation, Request, Response
from enact._invocations.replay import ReplayContext

__all__ = [
    "AsyncInvocationGenerator",
    "AsyncFunctionWrapper",
    "AsyncInvokable",
    "AsyncInvokableBase",
    "AsyncRequestInput",
    "IncompleteSubinvocationError",
    "invoke_async",
    "request_input_async",
    "thread_pool_map",
    "Builder",
    "CallArgs",
    "ExceptionOverride",
    "ExceptionResource",
    "FunctionWrapper",
    "InputChanged",
    "InputRequest",
    "InputRequestOutsideInvocation",
    "InvocationError",
    "InvocationGenerator",
    "Invokable",
    "InvokableBase",
    "InvokableTypeError",
    "Invocation",
    "AsyncMethodWrapper",
    "MethodWrapper",
    "RegisteredAsyncFunction",
    "RegisteredFunction",
    "ReplayContext",
    "ReplayError",
    "Request",
    "RequestInput",
    "RequestedTypeUndetermined",
    "Response",
    "WrappedException",
    "invoke",
    "request_input",
    "typed_invokable",
]
