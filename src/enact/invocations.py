"""Journaled invocations, replay and human input (SPEC A11).

The implementation lives in the private package :mod:`enact._invocations`;
this module is its public face.
"""

from enact._invocations.async_functions import (
    AsyncFunctionWrapper,
    AsyncMethodWrapper,
    RegisteredAsyncFunction,
    invoke_async,
)
from enact._invocations.async_inputs import (
    AsyncInvocationGenerator,
    AsyncRequestInput,
    request_input_async,
)
from enact._invocations.asyncs import AsyncInvokable, AsyncInvokableBase
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
    CallArgs,
    FunctionWrapper,
    MethodWrapper,
    RegisteredFunction,
    invoke,
)
from enact._invocations.input_requests import InputRequest
from enact._invocations.inputs import InvocationGenerator, RequestInput, request_input
from enact._invocations.invokables import (
    Builder,
    Invokable,
    InvokableBase,
    ReplayContext,
    typed_invokable,
)
from enact._invocations.parallel import thread_pool_map
from enact._invocations.records import ExceptionOverride, Invocation, Request, Response

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
