"""Refs: digests, caching, modify() and the packing protocol
(docs/compatibility.md#refs-and-stores)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

import enact
from enact.contexts import NoActiveContext
from enact.digests import digest
from enact.interfaces import ResourceDict
from enact.references import (
    FileBackend,
    InMemoryBackend,
    NotFound,
    PackedResource,
    Ref,
    RefError,
    StorageBackend,
    Store,
)
from enact.serialization import JsonSerializer


@enact.register
@dataclasses.dataclass
class Box(enact.Resource):
    value: Any = None


@enact.register
@dataclasses.dataclass
class Link(enact.Resource):
    """A resource that holds a ref to another."""

    target: Any = None
    name: str = ""


@enact.register
@dataclasses.dataclass
class Envelope(enact.Resource):
    """What EnvelopeRef stores: the resource serialized as JSON bytes."""

    payload: bytes = b""


class EnvelopeRef(Ref[Any]):
    """A custom ref type whose stored form differs from the resource.

    ``from_resource`` still digests the resource itself, so the stored data
    cannot be verified against the digest; ``verify`` is therefore a no-op.
    """

    @classmethod
    def pack(cls, resource: Any) -> PackedResource:
        payload = JsonSerializer().serialize(resource.to_resource_dict())
        return PackedResource(
            Envelope(payload).to_resource_dict(), cls.from_resource(resource)
        )

    @classmethod
    def verify(cls, packed: PackedResource) -> None:
        pass

    @classmethod
    def unpack(cls, packed: PackedResource) -> Any:
        if not isinstance(packed.ref, cls):
            raise RefError("not an EnvelopeRef")
        envelope = packed.data.to_resource()
        return JsonSerializer().deserialize(envelope.payload).to_resource()


D1, D2 = "ab" * 32, "cd" * 32


# -- the ref itself ------------------------------------------------------------


def test_ref_has_one_digest_field():
    ref = Ref(D1)
    assert ref.digest == D1
    assert list(Ref.field_names()) == ["digest"]
    assert list(ref.field_values()) == [D1]
    assert list(ref.field_items()) == [("digest", D1)]
    assert Ref.from_fields({"digest": D1}) == ref
    assert ref.to_resource_dict() == {"digest": D1}
    assert ref.to_resource_dict().type is Ref


def test_ref_id_and_from_id_round_trip():
    ref = Ref(D1)
    assert ref.id == '{"digest": "' + D1 + '"}'
    assert json.loads(ref.id) == {"digest": D1}
    again = Ref.from_id(ref.id)
    assert again == ref
    assert type(again) is Ref
    assert type(EnvelopeRef.from_id(ref.id)) is EnvelopeRef


@pytest.mark.parametrize(
    "bad", ["not json", "", '{"digest": 5}', "[]", '{"other": "x"}']
)
def test_from_id_rejects_invalid_ids(bad):
    with pytest.raises(json.JSONDecodeError):
        Ref.from_id(bad)


def test_repr():
    assert repr(Ref(D1)) == f"<Ref: {D1}>"
    assert repr(EnvelopeRef(D1)) == f"<EnvelopeRef: {D1}>"


def test_ref_is_subscriptable():
    ref = Ref[enact.Int](D1)
    assert type(ref) is Ref
    assert Ref["Box"] is not None


def test_equality_and_hash():
    assert Ref(D1) == Ref(D1)
    assert Ref(D1) != Ref(D2)
    assert hash(Ref(D1)) == hash(Ref(D1))
    assert len({Ref(D1), Ref(D1), Ref(D2)}) == 2
    assert Ref(D1) != D1
    assert Ref(D1) != {"digest": D1}
    assert Ref(D1) != None  # noqa: E711 - __eq__ with None is the point


def test_equality_between_ref_classes_checks_the_other_out():
    box = Box(1)
    plain = Ref.from_resource(box)
    envelope = EnvelopeRef.from_resource(box)
    assert plain == envelope  # envelope's cache supplies the resource
    assert envelope == plain
    assert Ref.from_resource(Box(2)) != envelope


def test_equality_between_ref_classes_needs_a_store_when_uncached():
    store = enact.InMemoryStore()
    ref = store.commit(Box(1))
    uncached = EnvelopeRef(ref.digest)
    with pytest.raises(NoActiveContext):
        _ = Ref(ref.digest) == uncached
    plain_uncached = Ref(ref.digest)
    with store:
        assert EnvelopeRef.from_resource(Box(1)) == plain_uncached


def test_ref_is_registered():
    assert enact.Registry.get().lookup(Ref.type_id()) is Ref


# -- caching -------------------------------------------------------------------


def test_from_resource_caches_the_very_object():
    box = Box([1])
    ref = Ref.from_resource(box)
    assert ref.digest == digest(box)
    assert ref.checkout() is box
    assert ref() is box
    assert enact.get(ref) is box


def test_constructor_can_prefill_the_cache():
    box = Box(1)
    assert Ref(digest(box), box).checkout() is box


def test_commit_returns_a_ref_caching_the_committed_object():
    store = enact.InMemoryStore()
    box = Box([1])
    ref = store.commit(box)
    assert ref.checkout() is box  # no store needed


def test_uncached_ref_needs_a_store():
    ref = enact.InMemoryStore().commit(Box(1))
    with pytest.raises(NoActiveContext):
        Ref(ref.digest).checkout()
    with pytest.raises(NoActiveContext):
        Ref.from_id(ref.id).checkout()


def test_mutation_invalidates_the_cache_outside_a_store():
    store = enact.InMemoryStore()
    box = Box([1])
    ref = store.commit(box)
    box.value.append(2)
    with pytest.raises(NoActiveContext):
        ref.checkout()


def test_mutation_invalidates_the_cache_inside_a_store(store):
    box = Box([1])
    with store:
        ref = enact.commit(box)
        box.value.append(2)
        fresh = ref.checkout()
        assert fresh is not box
        assert fresh == Box([1])
        assert ref.checkout() is fresh  # the fresh copy is cached now
        assert ref.digest == digest(fresh)


def test_checkout_through_a_store_caches_the_result(store):
    ref = store.commit(Box(1))
    uncached = Ref(ref.digest)
    with store:
        first = uncached.checkout()
    assert uncached.checkout() is first


def test_refs_decoded_from_a_store_have_no_cache(store):
    inner = Box("inner")
    with store:
        link_ref = enact.commit(Link(enact.commit(inner), "l"))
    copy = store.checkout(link_ref)
    assert copy.target == link_ref.checkout().target
    with pytest.raises(NoActiveContext):
        copy.target.checkout()
    with store:
        assert copy.target.checkout() == inner


def test_set_points_the_ref_at_a_new_resource():
    ref = Ref.from_resource(Box(1))
    other = Box(2)
    ref.set(other)
    assert ref.digest == digest(other)
    assert ref.checkout() is other


# -- get and commit ------------------------------------------------------------


def test_get_none_is_an_assertion_error():
    with pytest.raises(AssertionError):
        enact.get(None)


def test_commit_without_a_store_raises_no_active_context():
    with pytest.raises(NoActiveContext):
        enact.commit(Box(1))


def test_commit_uses_the_current_store(store):
    with store:
        ref = enact.commit(Box(1))
    assert store.has(ref)
    assert not enact.InMemoryStore().has(ref)


def test_missing_object_raises_not_found(store):
    missing = Ref(digest(Box("never committed")))
    with pytest.raises(NotFound) as info:
        store.checkout(missing)
    assert info.value.ref == missing
    with store, pytest.raises(NotFound):
        missing.checkout()
    assert not store.has(missing)


# -- Store basics the refs depend on -------------------------------------------


def test_commit_has_checkout(store):
    box = Box({"k": [1, b"2"]})
    ref = store.commit(box)
    assert store.has(ref)
    copy = store.checkout(ref)
    assert copy == box
    assert copy is not box
    assert store.checkout(ref) is not copy


def test_identical_content_gives_equal_refs(store):
    first, second = store.commit(Box([1])), store.commit(Box([1]))
    assert first == second
    assert first is not second


def test_later_mutation_never_alters_stored_content(store):
    box = Box([1])
    ref = store.commit(box)
    box.value.append(2)
    copy = store.checkout(ref)
    copy.value.append(3)
    assert store.checkout(ref) == Box([1])


def test_nested_resources_are_stored_inline(store):
    inner = Box("inner")
    ref = store.commit(Link(inner))
    assert not store.has(Ref.from_resource(inner))
    assert store.checkout(ref) == Link(inner)


def test_refs_inside_are_not_checked_for_existence(store):
    dangling = Ref(D1)
    ref = store.commit(Link(dangling))
    assert store.checkout(ref).target == dangling


def test_none_resource_can_be_committed(store):
    ref = store.commit(enact.NoneResource())
    assert isinstance(store.checkout(ref), enact.NoneResource)


def test_explicit_empty_in_memory_backend_is_used():
    # compatibility.md, difference 7: an empty backend is falsy but must not be
    # replaced.
    backend = InMemoryBackend()
    assert len(backend) == 0
    store = Store(backend)
    store.commit(Box(1))
    assert len(backend) == 1


def test_store_factories():
    assert isinstance(enact.InMemoryStore(), Store)


def test_file_store_round_trip(tmp_path):
    ref = enact.FileStore(tmp_path / "a").commit(Link(Box([1.5, None]), "x"))
    reopened = enact.FileStore(tmp_path / "a")
    assert isinstance(reopened, Store)
    assert reopened.checkout(Ref.from_id(ref.id)) == Link(Box([1.5, None]), "x")


def test_file_backend_with_json_serializer_round_trip(tmp_path):
    store = Store(FileBackend(str(tmp_path / "json"), serializer=JsonSerializer()))
    ref = store.commit(Link(Box(b"\x00"), "x"))
    again = Store(FileBackend(str(tmp_path / "json"), serializer=JsonSerializer()))
    assert again.has(ref)
    assert again.checkout(Ref(ref.digest)) == Link(Box(b"\x00"), "x")


# -- the StorageBackend interface (the 0.4.0.dev1 resource-dict backends) -----


def test_storage_backend_is_abstract():
    with pytest.raises(TypeError):
        StorageBackend()  # type: ignore[abstract]


@pytest.mark.parametrize("kind", ["memory", "file", "file-json"])
def test_storage_backend_api(kind, tmp_path):
    if kind == "memory":
        backend: StorageBackend = InMemoryBackend()
    elif kind == "file":
        backend = FileBackend(str(tmp_path / "files"))
    else:
        backend = FileBackend(str(tmp_path / "json"), serializer=JsonSerializer())
    packed = Ref.pack(Link(Box([1, b"x"]), "n"))
    assert not backend.has(packed.ref)
    assert backend.checkout(packed.ref) is None
    backend.commit(packed)
    assert backend.has(packed.ref)
    assert backend.has(Ref(packed.ref.digest))
    data = backend.checkout(Ref(packed.ref.digest))
    assert isinstance(data, ResourceDict)
    assert data.type is Link
    assert data == packed.data
    backend.commit(packed)  # committing again is fine


def test_storage_backend_commit_verifies_with_the_refs_class():
    backend = InMemoryBackend()
    good = Ref.pack(Box(1))
    with pytest.raises(RefError):
        backend.commit(PackedResource(Box(2).to_resource_dict(), good.ref))
    assert not backend.has(good.ref)
    # EnvelopeRef's verify accepts anything.
    backend.commit(
        PackedResource(Box(2).to_resource_dict(), EnvelopeRef(good.ref.digest))
    )
    assert backend.has(good.ref)
    assert len(backend) == 1


# -- modify --------------------------------------------------------------------


def test_modify_commits_and_changes_the_digest(store):
    box = Box(1)
    with store:
        ref = enact.commit(box)
        old = ref.digest
        with ref.modify() as modified:
            assert modified is box
            modified.value = 2
        assert ref.digest != old
        assert ref.digest == digest(Box(2))
        assert ref.checkout() is box
    assert store.checkout(Ref(ref.digest)) == Box(2)
    assert store.checkout(Ref(old)) == Box(1)  # old content remains


def test_modify_of_an_uncached_ref_reads_from_the_store(store):
    ref = Ref(store.commit(Box(1)).digest)
    with store:
        with ref.modify() as box:
            box.value += 1
    assert store.checkout(ref) == Box(2)


def test_modify_commits_nothing_on_error(store):
    box = Box(1)
    with store:
        ref = enact.commit(box)
        old = ref.digest
        with pytest.raises(ValueError), ref.modify() as modified:
            modified.value = 3
            raise ValueError
        assert ref.digest == old
        assert not store.has(Ref(digest(Box(3))))
        # The mutated cache no longer matches: the pristine copy is read back.
        assert ref.checkout() == Box(1)


def test_modify_needs_an_active_store_at_exit():
    store = enact.InMemoryStore()
    ref = store.commit(Box(1))
    old = ref.digest
    with pytest.raises(NoActiveContext), ref.modify() as box:
        box.value = 2
    assert ref.digest == old


def test_nested_modify(store):
    with store:
        child_ref = enact.commit(Box(1))
        parent_ref = enact.commit(Link(child_ref, "p"))
        old_child, old_parent = child_ref.digest, parent_ref.digest
        with parent_ref.modify() as parent:
            with parent.target.modify() as child:
                child.value = 2
            parent.name = "q"
        # The inner ref object was updated in place.
        assert parent.target is child_ref
        assert child_ref.digest != old_child
        assert parent_ref.digest != old_parent
    fresh = store.checkout(Ref(parent_ref.digest))
    assert fresh.name == "q"
    assert fresh.target.digest == child_ref.digest
    assert store.checkout(fresh.target) == Box(2)
    assert store.checkout(Ref(old_parent)) == Link(Ref(old_child), "p")


def test_nested_modify_of_uncached_refs(store):
    with store:
        parent_ref = enact.commit(Link(enact.commit(Box(1)), "p"))
    uncached = Ref(parent_ref.digest)
    with store:
        with uncached.modify() as parent:
            with parent.target.modify() as child:
                child.value = 5
        assert enact.get(enact.get(uncached).target) == Box(5)


# -- pack, verify, unpack ------------------------------------------------------


def test_pack_verify_unpack_round_trip():
    box = Box({"a": [1, 2.5]})
    packed = Ref.pack(box)
    assert isinstance(packed, PackedResource)
    assert isinstance(packed.data, ResourceDict)
    assert packed.data.type is Box
    assert packed.data == box.to_resource_dict()
    assert packed.ref.digest == digest(box)
    assert packed.ref.checkout() is box
    Ref.verify(packed)
    unpacked = Ref.unpack(packed)
    assert unpacked == box
    assert unpacked is not box
    assert Ref.unpack(packed) is not unpacked


def test_verify_rejects_mismatched_data():
    packed = Ref.pack(Box(1))
    with pytest.raises(RefError):
        Ref.verify(PackedResource(Box(2).to_resource_dict(), packed.ref))
    with pytest.raises(RefError):
        Ref.unpack(PackedResource(Box(2).to_resource_dict(), packed.ref))


def test_unpack_requires_a_ref_of_its_class():
    packed = Ref.pack(Box(1))
    with pytest.raises(RefError):
        EnvelopeRef.unpack(packed)


def test_none_resource_can_be_packed():
    packed = Ref.pack(enact.NoneResource())
    Ref.verify(packed)
    assert isinstance(Ref.unpack(packed), enact.NoneResource)


# -- a custom ref type ---------------------------------------------------------


def test_custom_ref_pack_stores_an_envelope():
    box = Box([1, "x"])
    packed = EnvelopeRef.pack(box)
    assert packed.data.type is Envelope
    assert isinstance(packed.ref, EnvelopeRef)
    assert packed.ref.digest == digest(box)
    EnvelopeRef.verify(packed)
    assert EnvelopeRef.unpack(packed) == box


def test_custom_ref_type_in_a_store(tmp_path):
    for store in (
        Store(ref_type=EnvelopeRef),
        Store(FileBackend(str(tmp_path / "f")), ref_type=EnvelopeRef),
        Store(
            FileBackend(str(tmp_path / "j"), serializer=JsonSerializer()),
            ref_type=EnvelopeRef,
        ),
    ):
        box = Box({"k": b"v"})
        ref = store.commit(box)
        assert type(ref) is EnvelopeRef
        assert ref.digest == digest(box)
        assert ref.checkout() is box
        assert store.has(ref)
        assert store.has(EnvelopeRef(ref.digest))
        copy = store.checkout(EnvelopeRef(ref.digest))
        assert copy == box
        assert copy is not box
        with store:
            assert EnvelopeRef(ref.digest).checkout() == box
            # A plain Ref verifies the stored envelope against the digest.
            with pytest.raises(RefError):
                store.checkout(Ref(ref.digest))


def test_custom_ref_type_modify():
    store = Store(ref_type=EnvelopeRef)
    with store:
        ref = enact.commit(Box(1))
        with ref.modify() as box:
            box.value = 2
        assert type(ref) is EnvelopeRef
    assert store.checkout(EnvelopeRef(ref.digest)) == Box(2)


def test_serve_checked_serves_each_object_once_then_reads_the_store():
    store = enact.InMemoryStore()
    with store:
        ref = enact.commit(enact.Str("kept"))
        store.flush()
        data = store.objects.get_many([ref.digest])[0]
        store.serve_checked({ref.digest: data})
        store.backend._objects.clear()  # the backend no longer has it
        assert store.checkout(ref) == "kept"  # served from what was handed over
        with pytest.raises(NotFound):
            store.checkout(ref)  # once only: then the store is read
        store.serve_checked({ref.digest: data})
        store.close()
        with pytest.raises(NotFound):
            store.checkout(ref)  # closing lets go of it
