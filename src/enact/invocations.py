"""Journaled invocations, replay and human input (SPEC A11).

The implementation lives in the private package :mod:`enact._invocations`;
this module is its public face.
"""

from enact._invocations.exceptions import (
    ExceptionResource,
    InputChanged,
    InputRequest,
    InputRequestOutsideInvocation,
    InvocationError,
    InvokableTypeError,
    ReplayError,
    RequestedTypeUndetermined,
    WrappedException,
)
from enact._invocations.inputs import InvocationGenerator, RequestInput, request_input
from enact._invocations.invokables import (
    Builder,
    Invokable,
    InvokableBase,
    ReplayContext,
    typed_invokable,
)
from enact._invocations.records import ExceptionOverride, Invocation, Request, Response

__all__ = [
    "Builder",
    "ExceptionOverride",
    "ExceptionResource",
    "InputChanged",
    "InputRequest",
    "InputRequestOutsideInvocation",
    "InvocationError",
    "InvocationGenerator",
    "Invokable",
    "InvokableBase",
    "InvokableTypeError",
    "Invocation",
    "ReplayContext",
    "ReplayError",
    "Request",
    "RequestInput",
    "RequestedTypeUndetermined",
    "Response",
    "WrappedException",
    "request_input",
    "typed_invokable",
]
