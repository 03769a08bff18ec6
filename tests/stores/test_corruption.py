"""Damaged storage and hostile stored data give clear enact errors.

Every read verifies that the stored bytes hash to the requested digest, so
damage on disk surfaces as :class:`CorruptObject` naming the object and the
store. Bytes that *do* hash correctly can still be hostile (written straight
through the backend): decoding builds only registered types, never runs code
and never recurses without bound.
"""

from __future__ import annotations

import ast
import json
import os
import pathlib
import sqlite3
from collections.abc import Callable

import pytest

import enact
from enact.backends import BackendError, FileObjects
from enact.backends.postgres import PostgresObjects
from enact.errors import EnactError
from enact.references import (
    CorruptObject,
    FileBackend,
    NotFound,
    PackedResource,
    Ref,
    RefError,
    Store,
)
from enact.resource_registry import ResourceNotFound
from enact.serialization import (
    CanonicalSerializer,
    DeserializationError,
    JsonSerializer,
)

from .helpers import (
    PACK_END,
    PACK_ENTRY,
    PACK_FOOTER,
    PACK_MIN,
    Sample,
    files_under,
    key_of,
    read_pack,
    whole_objects,
)

SRC = pathlib.Path(enact.__file__).parent


def fresh_ref(ref: Ref) -> Ref:
    return type(ref)(ref.digest)


def type_id_json(cls: type[enact.ResourceBase]) -> str:
    return json.dumps(cls.type_id())


def store_raw(store: Store, raw: bytes) -> Ref:
    """Writes ``raw`` under its own SHA-256, bypassing encoding."""
    store.backend.put_many([(key_of(raw), [raw])])  # type: ignore[union-attr]
    return Ref(key_of(raw))


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def check_corrupt(store: Store, ref: Ref) -> None:
    with pytest.raises(CorruptObject) as caught:
        store.checkout(fresh_ref(ref))
    message = str(caught.value)
    assert ref.digest in message
    assert store.location in message
    assert caught.value.ref.digest == ref.digest
    assert caught.value.location == store.location
    assert isinstance(caught.value, RefError)


# -- damage on disk, for every store -----------------------------------------


def damage(store: Store, key: str, change: Callable[[bytes], bytes]) -> None:
    """Rewrites the stored bytes of ``key`` in place, behind the store's back."""
    backend = store.backend
    if isinstance(backend, FileObjects) and key in backend._packed:
        # A small object lives in a log (or pack): damage its bytes in place,
        # keeping the record's length so the file's structure stays intact.
        path, offset, length = backend._packed[key]
        with open(path, "r+b") as file:
            file.seek(offset)
            data = file.read(length)
            changed = change(data)
            if len(changed) != len(data):
                changed = (changed + bytes(length))[:length]
                if changed == data:
                    changed = flip(data, length - 1)
            file.seek(offset)
            file.write(changed)
    elif isinstance(backend, FileObjects):
        path = backend.path_of(key)
        with open(path, "rb") as file:
            data = file.read()
        with open(path, "wb") as file:
            file.write(change(data))
    elif isinstance(backend, enact.SQLiteBackend):
        with sqlite3.connect(backend.path) as db:
            (data,) = db.execute(
                "SELECT data FROM objects WHERE digest = ?", (key,)
            ).fetchone()
            db.execute(
                "UPDATE objects SET data = ? WHERE digest = ?", (change(data), key)
            )
        db.close()
    elif isinstance(backend, PostgresObjects):
        with backend._db.connect() as pg:
            (data,) = pg.execute(
                "SELECT data FROM objects WHERE digest = %s", (key,)
            ).fetchone()
            pg.execute(
                "UPDATE objects SET data = %s WHERE digest = %s",
                (change(bytes(data)), key),
            )
    else:
        # The memory backend's dict: the only way to damage it.
        objects = backend._objects  # type: ignore[union-attr]
        objects[key] = change(objects[key])


CHANGES = {
    "flip-first": lambda data: flip(data, 0),
    "flip-middle": lambda data: flip(data, len(data) // 2),
    "flip-last": lambda data: flip(data, len(data) - 1),
    "truncate-half": lambda data: data[: len(data) // 2],
    "truncate-empty": lambda data: b"",
    "append": lambda data: data + b"\n",
}


@pytest.mark.parametrize("change", CHANGES)
def test_damaged_object_is_corrupt(
    store: Store, reopen_store: Callable[[], Store], change: str
) -> None:
    ref = store.commit(Sample(text="precious", blob=b"\x00" * 100))
    other = store.commit(Sample(text="untouched"))
    damage(store, ref.digest, CHANGES[change])
    check_corrupt(store, ref)
    check_corrupt(reopen_store(), ref)
    # A ref that caches the committed object still returns it.
    assert ref.checkout() == Sample(text="precious", blob=b"\x00" * 100)
    assert reopen_store().checkout(fresh_ref(other)) == Sample(text="untouched")


def test_sqlite_row_of_another_type_is_corrupt(tmp_path) -> None:
    store = enact.SQLiteStore(tmp_path / "store.sqlite")
    ref = store.commit(Sample(text="row"))
    with sqlite3.connect(tmp_path / "store.sqlite") as db:
        db.execute("UPDATE objects SET data = 12345 WHERE digest = ?", (ref.digest,))
    db.close()
    assert store.has(fresh_ref(ref))
    check_corrupt(store, ref)
    store.close()


# -- pack files ----------------------------------------------------------------


def write_pack(
    root: pathlib.Path, count: int = PACK_MIN
) -> tuple[Store, list[Ref], str]:
    store = enact.FileStore(root)
    with store.batch():
        refs = [store.commit(Sample(number=i, text="in a pack")) for i in range(count)]
    (pack,) = store.backend.pack_files()  # type: ignore[union-attr]
    return store, refs, pack


def rewrite(path: str, change: Callable[[bytes], bytes]) -> None:
    with open(path, "rb") as file:
        data = file.read()
    with open(path, "wb") as file:
        file.write(change(data))


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_damaged_object_in_pack_is_corrupt(tmp_path, where: str) -> None:
    store, refs, pack = write_pack(tmp_path / "store")
    entries = {key: (offset, length) for key, offset, length in read_pack(pack)}
    victim = refs[3]
    offset, length = entries[victim.digest]
    at = {"first": 0, "middle": length // 2, "last": length - 1}[where]
    rewrite(pack, lambda data: flip(data, offset + at))
    for reader in (store, enact.FileStore(tmp_path / "store")):
        check_corrupt(reader, victim)
        for ref in refs:
            if ref is not victim:
                assert reader.checkout(fresh_ref(ref)) == ref.checkout()


def test_pack_index_pointing_at_the_wrong_object_is_corrupt(tmp_path) -> None:
    _, _, pack = write_pack(tmp_path / "store")
    (first, *_), (second, *_) = read_pack(pack)[:2]
    # Swap the digests of the first two index entries.
    rewrite(
        pack,
        lambda data: (
            data.replace(bytes.fromhex(first), b"\x00" * 32)
            .replace(bytes.fromhex(second), bytes.fromhex(first))
            .replace(b"\x00" * 32, bytes.fromhex(second))
        ),
    )
    reader = enact.FileStore(tmp_path / "store")
    check_corrupt(reader, Ref(first))
    check_corrupt(reader, Ref(second))


def test_pack_truncated_while_open_is_corrupt(tmp_path) -> None:
    store, refs, pack = write_pack(tmp_path / "store")
    entries = {key: offset for key, offset, _ in read_pack(pack)}
    last = max(refs, key=lambda ref: entries[ref.digest])
    os.truncate(pack, entries[last.digest] + 3)
    check_corrupt(store, last)


def garbage_packs() -> dict[str, Callable[[bytes], bytes]]:
    def footer(index_at: int, count: int) -> Callable[[bytes], bytes]:
        return lambda data: (
            data[: -PACK_FOOTER.size] + PACK_FOOTER.pack(index_at, count, PACK_END)
        )

    return {
        "empty": lambda data: b"",
        "magic-only": lambda data: data[:8],
        "short": lambda data: data[:20],
        "truncated-footer": lambda data: data[:-1],
        "truncated-index": lambda data: data[: -PACK_FOOTER.size - 5],
        "cut-in-half": lambda data: data[: len(data) // 2],
        "random": lambda data: os.urandom(len(data)),
        "huge-count": footer(0, 2**60),
        "index-past-end": footer(2**63, 1),
        "index-and-count-wrong": footer(8, 1),
    }


@pytest.mark.parametrize("kind", garbage_packs())
def test_damaged_pack_gives_a_clear_error(tmp_path, kind: str) -> None:
    root = tmp_path / "store"
    store, refs, pack = write_pack(root)
    loose = store.commit(Sample(text="loose"))
    store.close()
    rewrite(pack, garbage_packs()[kind])
    reader = enact.FileStore(root)
    # A loose object does not depend on the pack.
    assert reader.checkout(fresh_ref(loose)) == Sample(text="loose")
    for ref in refs[:3]:
        with pytest.raises(RefError) as caught:
            reader.checkout(fresh_ref(ref))
        assert ref.digest in str(caught.value)
        assert pack in str(caught.value)
        assert caught.value.__cause__ is None or isinstance(
            caught.value.__cause__, EnactError
        )
    with pytest.raises((BackendError, RefError)) as listing:
        list(reader.iter_refs())
    assert pack in str(listing.value)


def test_a_damaged_end_marker_costs_no_object(tmp_path) -> None:
    # The footer's other fields still point at a whole index: it is used.
    root = tmp_path / "store"
    _, refs, pack = write_pack(root)
    rewrite(pack, lambda data: data[:-8] + b"ENACTXXX")
    reader = enact.FileStore(root)
    assert [reader.checkout(fresh_ref(ref)) for ref in refs] == [
        ref.checkout() for ref in refs
    ]
    (damage,) = reader.verify()
    assert damage.key is None and damage.path == pack
    assert "footer" in damage.problem


def test_a_damaged_index_entry_costs_its_object_only(tmp_path) -> None:
    root = tmp_path / "store"
    _, refs, pack = write_pack(root)
    entries = read_pack(pack)
    victim = entries[-1][0]
    rewrite(
        pack,
        lambda data: (
            data[: -PACK_FOOTER.size - PACK_ENTRY.size]
            + PACK_ENTRY.pack(bytes.fromhex(victim), 8, 2**40)
            + data[-PACK_FOOTER.size :]
        ),
    )
    reader = enact.FileStore(root)
    for ref in refs:
        if ref.digest == victim:
            with pytest.raises(RefError, match=pack):
                reader.checkout(fresh_ref(ref))
        else:
            assert reader.checkout(fresh_ref(ref)) == ref.checkout()
    found = reader.verify()
    assert {d.key for d in found} == {victim}
    assert all(d.path == pack for d in found)


def test_damaged_pack_does_not_hide_other_packs(tmp_path) -> None:
    root = tmp_path / "store"
    store = enact.FileStore(root)
    refs = []
    for b in range(6):
        with store.batch():
            refs += [
                store.commit(Sample(number=i, text=f"pack {b}"))
                for i in range(PACK_MIN)
            ]
    packs = store.backend.pack_files()  # type: ignore[union-attr]
    assert len(packs) == 6
    store.close()
    for damaged in packs:
        lost = {key for key, _, _ in read_pack(damaged)}
        saved = pathlib.Path(damaged).read_bytes()
        rewrite(damaged, lambda data: data[:10])
        reader = enact.FileStore(root)
        for ref in refs:
            if ref.digest in lost:
                with pytest.raises(RefError, match=damaged):
                    reader.checkout(fresh_ref(ref))
            else:
                assert reader.checkout(fresh_ref(ref)) == ref.checkout()
        reader.close()
        pathlib.Path(damaged).write_bytes(saved)


# -- hostile stored data that hashes correctly -------------------------------------


def resource_json(cls: type[enact.ResourceBase], fields: str) -> bytes:
    body = f'{{"#res":{type_id_json(cls)}{"," if fields else ""}{fields}}}'
    return body.encode()


def test_unknown_type_id(store: Store) -> None:
    ref = store_raw(store, b'{"#res":"{\\"name\\": \\"no.such.Type\\"}","x":1}')
    with pytest.raises(ResourceNotFound) as caught:
        store.checkout(ref)
    assert caught.value.type_id == '{"name": "no.such.Type"}'
    assert "no.such.Type" in str(caught.value)
    assert ref.digest in str(caught.value)


def test_unknown_type_as_value(store: Store) -> None:
    raw = resource_json(Sample, '"child":{"#type":"{\\"name\\": \\"evil.Type\\"}"}')
    with pytest.raises(ResourceNotFound, match=r"evil\.Type"):
        store.checkout(store_raw(store, raw))


HOSTILE = {
    "wrong-field-name": resource_json(Sample, '"bogus":1'),
    "builtin-wrong-field": resource_json(enact.Int, '"wrong":1'),
    "builtin-wrong-type": resource_json(enact.Int, '"value":"1"'),
    "none-resource-field": resource_json(enact.NoneResource, '"x":1'),
    "ref-extra-field": resource_json(Ref, '"digest":"00","x":1'),
    "deep-lists": resource_json(enact.Str, '"value":' + "[" * 100_000 + "]" * 100_000),
    "deep-lists-under-json-limit": resource_json(
        Sample, '"items":' + "[" * 1000 + "]" * 1000
    ),
    "deep-dicts": resource_json(
        Sample, '"mapping":' + '{"a":' * 100_000 + "1" + "}" * 100_000
    ),
    "deep-dicts-under-json-limit": resource_json(
        Sample, '"mapping":' + '{"a":' * 1000 + "1" + "}" * 1000
    ),
    "deep-resources": (
        f'{{"#res":{type_id_json(Sample)},"child":' * 1000
        + resource_json(Sample, '"number":1').decode()
        + "}" * 1000
    ).encode(),
    "unknown-tag-value": resource_json(Sample, '"child":{"#evil":1}'),
    "unknown-tag-field": resource_json(Sample, '"#evil":1'),
    "unknown-tag-key": resource_json(Sample, '"mapping":{"#evil":1,"b":2}'),
    "trailing-garbage-after-blobs": resource_json(Sample, '"blob":{"#bytes":3}')
    + b"\nabcXYZ",
    "trailing-garbage-without-blobs": resource_json(Sample, "") + b"\nXYZ",
    "blob-past-end": resource_json(Sample, '"blob":{"#bytes":10}') + b"\nabc",
    "blob-negative": resource_json(Sample, '"blob":{"#bytes":-1}') + b"\n",
    "blob-not-int": resource_json(Sample, '"blob":{"#bytes":true}') + b"\n",
    "bad-float-tag": resource_json(Sample, '"real":{"#float":"1e999"}'),
    "small-int-as-big": resource_json(Sample, '"number":{"#int":"5"}'),
    "not-json": b"\x80\x81 not json",
    "invalid-utf8": resource_json(Sample, '"text":"\xff"').replace(
        b"\xc3\xbf", b"\xff"
    ),
    "top-level-list": b"[1,2]",
    "top-level-dict-without-type": b'{"a":1}',
    "type-id-not-str": b'{"#res":5}',
    "type-id-empty": b'{"#res":""}',
    "empty": b"",
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_data_raises_deserialization_error(store: Store, case: str) -> None:
    ref = store_raw(store, HOSTILE[case])
    with pytest.raises(DeserializationError) as caught:
        store.checkout(ref)
    assert ref.digest in str(caught.value)
    assert store.location in str(caught.value)


class CheckedRef(Ref):
    """A Ref subclass, so the store takes the generic pack/unpack path."""

    @classmethod
    def verify(cls, packed: PackedResource) -> None:
        super().verify(packed)


GENERIC_PATHS = {
    "canonical-serializer": lambda root: Store(
        FileBackend(root, serializer=CanonicalSerializer())
    ),
    "json-serializer": lambda root: Store(
        FileBackend(root, serializer=JsonSerializer())
    ),
    "custom-ref-type": lambda root: Store(FileBackend(root), ref_type=CheckedRef),
}


@pytest.mark.parametrize("path", GENERIC_PATHS)
@pytest.mark.parametrize(
    "case", ["wrong-field-name", "builtin-wrong-field", "builtin-wrong-type"]
)
def test_hostile_fields_on_the_generic_path(tmp_path, path: str, case: str) -> None:
    store = GENERIC_PATHS[path](tmp_path / "store")
    raw = HOSTILE[case]
    store.backend.put_many([(key_of(raw), [raw])])  # type: ignore[union-attr]
    ref = store.ref_type(key_of(raw))
    with pytest.raises(DeserializationError, match=ref.digest):
        store.checkout(ref)


def test_huge_int_raises_deserialization_error(store: Store) -> None:
    ref = store_raw(
        store, resource_json(Sample, '"number":{"#int":"' + "9" * 5000 + '"}')
    )
    with pytest.raises(DeserializationError):
        store.checkout(ref)


@pytest.mark.parametrize("digest", ['["x"]', "5", "null", '{"a":1}'])
def test_stored_ref_with_a_non_string_digest(store: Store, digest: str) -> None:
    raw = resource_json(
        Sample, f'"child":{{"#res":{type_id_json(Ref)},"digest":{digest}}}'
    )
    with pytest.raises(DeserializationError):
        store.checkout(store_raw(store, raw))


def test_pickled_numpy_array_is_refused(store: Store, tmp_path) -> None:
    pytest.importorskip("numpy")
    sentinel = tmp_path / "pwned"
    # A .npy file of dtype object whose payload is a pickle that would create
    # the sentinel file if unpickled. Written by hand: no pickle module needed.
    payload = b"cbuiltins\nopen\n(V%s\nVw\ntR." % str(sentinel).encode()
    header = b"{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += b" " * (63 - len(header) % 64) + b"\n"
    npy = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + payload
    raw = resource_json(enact.NPArray, f'"value":{{"#bytes":{len(npy)}}}')
    ref = store_raw(store, raw + b"\n" + npy)
    with pytest.raises(DeserializationError, match="NPArray"):
        store.checkout(ref)
    assert not sentinel.exists()


def test_garbage_image_is_refused(store: Store) -> None:
    pytest.importorskip("PIL")
    raw = resource_json(enact.Image, '"data":{"#bytes":7}') + b"\nnot png"
    with pytest.raises(DeserializationError, match="Image"):
        store.checkout(store_raw(store, raw))


# -- invalid keys ------------------------------------------------------------------


BAD_DIGESTS = [
    "../../etc/passwd",
    "../" + "0" * 61,
    "/etc/passwd",
    "0" * 63,
    "0" * 65,
    "A" * 64,
    "z" * 64,
    "",
    "ab/../../../../" + "c" * 49,
]


@pytest.mark.parametrize("digest", BAD_DIGESTS)
def test_invalid_ref_digest_touches_nothing(store_kind, tmp_path, digest: str) -> None:
    canary = tmp_path / "canary"
    canary.write_bytes(b"keep")
    store = store_kind.open()
    before = files_under(str(tmp_path))
    ref = Ref(digest)
    for attempt in (store.checkout, lambda r: r.checkout()):
        with store, pytest.raises((NotFound, RefError)) as caught:
            attempt(ref)
        assert digest in str(caught.value)
    try:
        assert store.has(ref) is False
    except RefError as error:
        assert digest in str(error)
    with pytest.raises(BackendError, match="not a valid object key"):
        store.backend.put_many([(digest, [b"data"])])  # type: ignore[union-attr]
    store.close()
    # SQLite removes its -wal and -shm files when the last connection closes.
    after = files_under(str(tmp_path))
    assert {p for p in after ^ before if not p.endswith(("-wal", "-shm"))} == set()
    assert canary.read_bytes() == b"keep"


def test_ref_from_id_with_hostile_digest(store: Store) -> None:
    # from_id refuses it; a Ref made directly is refused by the store.
    with pytest.raises(RefError, match="etc/passwd"):
        Ref.from_id('{"digest": "../../etc/passwd"}')
    with pytest.raises((NotFound, RefError), match="etc/passwd"):
        store.checkout(Ref("../../etc/passwd"))


def test_file_backend_keys_never_leave_the_store(tmp_path) -> None:
    backend = FileObjects(tmp_path / "store")
    for digest in BAD_DIGESTS:
        with pytest.raises(BackendError):
            backend.path_of(digest)
        with pytest.raises(BackendError):
            backend.get_many([digest])
        with pytest.raises(BackendError):
            backend.has_many([digest])
    key = "0123456789abcdef" * 4
    path = pathlib.Path(backend.path_of(key))
    assert path.parent.parent == tmp_path / "store" / "objects"


# -- no code runs on decode ---------------------------------------------------

BANNED_MODULES = {
    "pickle",
    "cPickle",
    "_pickle",
    "marshal",
    "shelve",
    "dill",
    "cloudpickle",
}
BANNED_CALLS = {"eval", "exec", "compile", "__import__"}
# resource_types imports numpy/PIL lazily by a fixed name.
ALLOWED_IMPORT_CALLS = {"resource_types.py"}


def python_sources() -> list[pathlib.Path]:
    sources = sorted(SRC.rglob("*.py"))
    assert len(sources) > 10, SRC
    return sources


def banned_uses(source: str, filename: str) -> list[str]:
    """Where ``source`` imports pickle & co., calls eval & co., or allows pickle."""
    problems = []
    for node in ast.walk(ast.parse(source, filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module.split(".")[0]]
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        problems += [f"{where} imports {n}" for n in names if n in BANNED_MODULES]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            name = node.func.id
            allowed = name == "__import__" and filename in ALLOWED_IMPORT_CALLS
            if name in BANNED_CALLS and not allowed:
                problems.append(f"{where} calls {name}()")
        if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            if not (isinstance(node.value, ast.Constant) and node.value.value is False):
                problems.append(f"{where} passes allow_pickle other than False")
    return problems


def test_no_pickle_marshal_or_eval_in_src() -> None:
    sources = sorted(SRC.rglob("*.py"))
    assert len(sources) > 10, SRC
    problems = []
    for path in sources:
        problems += banned_uses(path.read_text(), path.name)
    assert problems == []


@pytest.mark.parametrize(
    "source",
    [
        "import pickle",
        "import os, marshal as m",
        "from pickle import loads",
        "from _pickle import loads",
        "eval('1')",
        "exec('x = 1')",
        "__import__('os')",
        "np.load(f, allow_pickle=True)",
        "np.load(f, allow_pickle=flag)",
    ],
)
def test_banned_use_scan_finds(source: str) -> None:
    assert len(banned_uses(source, "module.py")) == 1


@pytest.mark.parametrize(
    "raw",
    [
        # Whitespace, unsorted keys, a newline with no bytes value after it.
        b'{"#res": {tid}, "text": "x"}',
        b'{"text":"x","#res":{tid}}',
        b'{"#res":{tid},"text":"x"}\n',
    ],
    ids=["whitespace", "unsorted", "dangling-newline"],
)
def test_non_canonical_bytes_are_refused(store: Store, raw: bytes) -> None:
    # Such bytes hash to their own key, but would decode to a value whose own
    # digest is another: a checkout must never return that.
    ref = store_raw(store, raw.replace(b"{tid}", type_id_json(Sample).encode()))
    with pytest.raises(DeserializationError) as caught:
        store.checkout(ref)
    assert ref.digest in str(caught.value)


def test_verify_reports_damage_without_raising(tmp_path: pathlib.Path) -> None:
    store = enact.FileStore(tmp_path)
    good = store.commit(Sample(text="good"))
    with whole_objects():  # as a store from before chunking: a loose file
        bad_loose = store.commit(Sample(text="bad", blob=b"x" * 300_000))
    bad_logged = store.commit(Sample(text="bad too"))
    assert store.verify() == []
    path = os.path.join(tmp_path, "objects", bad_loose.digest[:2], bad_loose.digest[2:])
    with open(path, "rb") as file:
        data = file.read()
    with open(path, "wb") as file:
        file.write(data[:-3])
    damage(store, bad_logged.digest, CHANGES["flip-middle"])
    found = enact.FileStore(tmp_path).verify()
    assert sorted(d.key for d in found) == sorted([bad_loose.digest, bad_logged.digest])
    assert all("digest" in d.problem for d in found)
    assert good.digest not in {d.key for d in found}


def test_a_regular_file_is_not_a_store_directory(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "file"
    path.write_text("not a directory")
    with pytest.raises(BackendError) as caught:
        enact.FileStore(path)
    assert str(path) in str(caught.value)
