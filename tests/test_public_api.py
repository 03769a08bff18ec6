"""The public surface: the names of enact 0.4.0.dev1 and enact's own, pinned
(docs/compatibility.md#public-modules-and-names)."""

from __future__ import annotations

import importlib

import enact

# enact 0.4.0.dev1: names `import enact` must expose.
ORIGINAL_TOP_LEVEL = {
    "FieldValue", "ResourceDictValue", "FieldTypeError", "NoneResource",
    "ResourceBase", "ResourceDict", "ExceptionResource", "InputChanged",
    "InputRequest", "InputRequestOutsideInvocation", "RequestedTypeUndetermined",
    "InvocationGenerator", "Invokable", "InvokableBase", "Invocation",
    "ReplayContext", "ReplayError", "Request", "Response", "RequestInput",
    "request_input", "typed_invokable", "WrappedException", "pformat", "pprint",
    "PPrinter", "PPValue", "commit", "get", "FileBackend", "InMemoryBackend",
    "Ref", "RefError", "Store", "InMemoryStore", "FileStore", "Resource",
    "register", "Registry", "Image", "Int", "Float", "Str", "Bytes", "NPArray",
    "Serializer", "JsonSerializer", "SerializationError", "DeserializationError",
    "contexts",
}  # fmt: skip

# Beyond 0.4.0.dev1.
EXTRAS = {
    "SQLiteBackend", "SQLiteStore", "checkout", "invocation_summary",
    "invoke",  # invokables and registered functions
    # Async invokables; parallel calls.
    "AsyncInvokable", "AsyncInvokableBase", "AsyncInvocationGenerator",
    "AsyncRequestInput", "IncompleteSubinvocationError", "invoke_async",
    "request_input_async", "thread_pool_map",
    # Durable runs (issue 5).
    "Run", "RunStatus", "run", "runs",
    # Stores by URL (issue 14).
    "open_store",
    # Batches (issue 15).
    "Batch", "batches", "sample",
    # Executions as training data (issue 17).
    "datasets", "evaluate", "evaluations", "feedback",
}  # fmt: skip

# Later versions: plain values.
PLAIN_VALUES = {
    "MissingWrapperError", "TypeWrapper", "TypeWrapperBase", "deepcopy",
    "resource_digest", "unwrap", "wrap",
}  # fmt: skip

# enact 0.4.0.dev1: public in their modules.
MODULE_NAMES = {
    "interfaces": ["ResourceError", "PRIMITIVES", "Json"],
    "resource_registry": ["RegistryError", "ResourceNotFound"],
    "references": ["PackedResource", "StorageBackend", "NotFound"],
    "contexts": [
        "Context", "ContextError", "NoActiveContext", "register",
        "with_current_contexts", "with_new_contexts",
    ],
    "invocations": [
        "Builder", "InvocationError", "InvokableTypeError", "ExceptionOverride",
    ],
    "digests": ["digest", "type_digest"],
    "serialization": ["Serializer", "JsonSerializer"],
    "resource_types": ["Int", "Float", "Str", "Bytes", "NPArray", "Image"],
    "pretty_print": ["PPrinter", "PPValue", "pformat", "pprint"],
    "runs": [
        "run", "list_runs", "RunList", "page_runs", "RunsPage", "count_runs",
        "RunsCount", "DamagedRun",
    ],
}  # fmt: skip


def test_all_is_exactly_the_pinned_names() -> None:
    assert set(enact.__all__) == ORIGINAL_TOP_LEVEL | EXTRAS | PLAIN_VALUES


def test_every_exported_name_exists() -> None:
    for name in enact.__all__:
        assert hasattr(enact, name), name


def test_public_submodules_and_their_names() -> None:
    for module_name, names in MODULE_NAMES.items():
        module = importlib.import_module(f"enact.{module_name}")
        for name in names:
            assert hasattr(module, name), f"enact.{module_name}.{name}"


def test_exception_hierarchy() -> None:
    from enact import contexts, invocations, references, resource_registry
    from enact.errors import EnactError

    assert issubclass(
        resource_registry.ResourceNotFound, resource_registry.RegistryError
    )
    assert issubclass(contexts.NoActiveContext, contexts.ContextError)
    assert issubclass(invocations.InvocationError, enact.ExceptionResource)
    for cls in (
        invocations.InvokableTypeError,
        enact.InputChanged,
        enact.RequestedTypeUndetermined,
        enact.ReplayError,
    ):
        assert issubclass(cls, invocations.InvocationError)
    assert issubclass(invocations.InvokableTypeError, TypeError)
    for cls in (enact.WrappedException, enact.InputRequest):
        assert issubclass(cls, enact.ExceptionResource)
    for cls in (
        enact.FieldTypeError,
        resource_registry.RegistryError,
        enact.SerializationError,
        enact.DeserializationError,
        contexts.ContextError,
        references.RefError,
        references.NotFound,
        invocations.InvocationError,
    ):
        assert issubclass(cls, EnactError), cls


def test_builtin_registrations() -> None:
    registry = enact.Registry.get()
    for cls in (
        enact.NoneResource, enact.Ref, enact.ExceptionResource,
        enact.WrappedException, enact.InputRequest,
        enact.InputRequestOutsideInvocation, enact.invocations.InvocationError,
        enact.invocations.InvokableTypeError, enact.InputChanged,
        enact.RequestedTypeUndetermined, enact.ReplayError, enact.Request,
        enact.Response, enact.Invocation, enact.RequestInput, enact.Int,
        enact.Float, enact.Str, enact.Bytes, enact.NPArray, enact.Image,
    ):  # fmt: skip
        assert registry.lookup(cls.type_id()) is cls


def test_framework_type_ids_do_not_depend_on_module_layout() -> None:
    # Persisted ids must survive moving a class between private modules.
    assert enact.Invocation.type_id().count('"enact.invocations.Invocation"') == 1
    assert enact.Ref.type_id() == '{"name": "enact.references.Ref"}'
    assert enact.Int.type_id() == '{"name": "enact.resource_types.Int"}'
