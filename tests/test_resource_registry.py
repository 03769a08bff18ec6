"""The type registry (docs/compatibility.md#type-registry)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

import enact
from enact import interfaces, resource_registry
from enact.resource_registry import Registry, RegistryError, ResourceNotFound


@dataclasses.dataclass
class Thing(enact.Resource):
    x: Any = None


def _same_id_class() -> type[enact.Resource]:
    # Same module, qualname and fields as the class from any other call.
    @dataclasses.dataclass
    class Twin(enact.Resource):
        x: Any = None

    return Twin


def test_fresh_registry_holds_only_none_resource():
    registry = Registry()
    assert registry.lookup(enact.NoneResource.type_id()) is enact.NoneResource
    for cls in (enact.Ref, enact.Int, Thing):
        with pytest.raises(ResourceNotFound):
            registry.lookup(cls.type_id())


def test_registries_are_independent():
    first, second = Registry(), Registry()
    first.register(Thing)
    assert first.lookup(Thing.type_id()) is Thing
    with pytest.raises(ResourceNotFound):
        second.lookup(Thing.type_id())


def test_register_and_lookup():
    registry = Registry()
    registry.register(Thing)
    assert registry.lookup(Thing.type_id()) is Thing
    assert Thing.type_id() in registry


@pytest.mark.parametrize("value", [int, object, dict, Thing(), "Thing", None])
def test_only_resource_classes_can_be_registered(value):
    with pytest.raises(RegistryError):
        Registry().register(value)


def test_unknown_type_id_raises_resource_not_found():
    with pytest.raises(ResourceNotFound) as info:
        Registry().lookup('{"name": "no.such.Type"}')
    assert info.value.type_id == '{"name": "no.such.Type"}'
    assert "no.such.Type" in str(info.value)
    assert isinstance(info.value, RegistryError)


def test_lookup_of_a_non_string_raises_resource_not_found():
    with pytest.raises(ResourceNotFound):
        Registry().lookup(["not", "hashable"])  # type: ignore[arg-type]


def test_reregistering_the_same_class_is_fine():
    registry = Registry()
    registry.allow_reregistration = False
    registry.register(Thing)
    registry.register(Thing)
    assert registry.lookup(Thing.type_id()) is Thing


def test_reregistration_replaces_silently_by_default():
    first, second = _same_id_class(), _same_id_class()
    assert first is not second
    assert first.type_id() == second.type_id()
    registry = Registry()
    assert registry.allow_reregistration is True
    registry.register(first)
    registry.register(second)
    assert registry.lookup(first.type_id()) is second


def test_reregistration_can_be_forbidden():
    first, second = _same_id_class(), _same_id_class()
    registry = Registry()
    registry.allow_reregistration = False
    registry.register(first)
    with pytest.raises(RegistryError):
        registry.register(second)
    assert registry.lookup(first.type_id()) is first


def test_get_returns_the_singleton():
    assert Registry.get() is Registry.get()
    assert isinstance(Registry.get(), Registry)


def test_register_decorator_registers_in_the_singleton_and_returns_the_class():
    @dataclasses.dataclass
    class Decorated(enact.Resource):
        y: int = 0

    assert enact.register(Decorated) is Decorated
    assert Registry.get().lookup(Decorated.type_id()) is Decorated
    assert resource_registry.register(Decorated) is Decorated


def test_register_decorator_rejects_non_resources():
    with pytest.raises(RegistryError):
        enact.register(int)
    with pytest.raises(RegistryError):
        resource_registry.register(int)


def test_register_with_a_persistent_name():
    @enact.register(name="tests.registry.Named")
    @dataclasses.dataclass
    class Named(enact.Resource):
        y: int = 0

    assert Named.type_name() == "tests.registry.Named"
    assert json.loads(Named.type_id())["name"] == "tests.registry.Named"
    assert Registry.get().lookup(Named.type_id()) is Named


def test_persistent_name_keeps_the_type_id_when_the_class_moves():
    def define(module: str) -> type[enact.Resource]:
        @dataclasses.dataclass
        class Moving(enact.Resource):
            y: int = 0

        Moving.__module__ = module
        return enact.register(name="tests.registry.Moving")(Moving)

    assert define("old.home").type_id() == define("new.home").type_id()


def test_name_after_the_type_id_was_computed_is_an_error():
    @dataclasses.dataclass
    class TooLate(enact.Resource):
        y: int = 0

    TooLate.type_id()
    with pytest.raises(RegistryError):
        enact.register(name="tests.registry.TooLate")(TooLate)


def test_builtin_registrations():
    registry = Registry.get()
    for cls in (
        interfaces.NoneResource,
        enact.Ref,
        enact.Int,
        enact.Float,
        enact.Str,
        enact.Bytes,
        enact.NPArray,
        enact.Image,
    ):
        assert registry.lookup(cls.type_id()) is cls


def test_error_hierarchy():
    assert issubclass(ResourceNotFound, RegistryError)
    assert issubclass(RegistryError, Exception)
    assert enact.Registry is Registry
