"""The root of enact's exception tree.

Every error enact raises on its own derives from :class:`EnactError`, so
``except enact.errors.EnactError`` catches all of them. The names and modules
of enact 0.4.0.dev1 are kept (docs/compatibility.md#exception-tree); the tree
is::

    EnactError
    ├── interfaces.ResourceError
    ├── interfaces.FieldTypeError
    ├── resource_registry.RegistryError
    │   └── resource_registry.ResourceNotFound
    ├── serialization.SerializationError
    ├── serialization.DeserializationError
    ├── contexts.ContextError
    │   └── contexts.NoActiveContext
    ├── references.RefError
    │   └── references.CorruptObject      (stored bytes do not match their digest)
    ├── references.NotFound
    └── invocations.InvocationError        (also an ExceptionResource)
        ├── invocations.InvokableTypeError (also a TypeError)
        ├── invocations.InputChanged
        ├── invocations.RequestedTypeUndetermined
        └── invocations.ReplayError

Errors carry the facts as attributes (``.ref``, ``.path``, ``.type_id``) as
well as in their message.
"""

from __future__ import annotations

__all__ = ["EnactError"]


class EnactError(Exception):
    """Base class of every error raised by enact itself."""
