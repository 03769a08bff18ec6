"""Reading calls in batches: Store.checkout_many, FileObjects.get_many, walks."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest

import enact
from enact._datasets import layouts, records
from enact._datasets.calls import Call, call_at, walk
from enact.references import NotFound, Ref


@enact.typed_invokable(enact.Int, enact.Str)
@dataclasses.dataclass
class Node(enact.Invokable[enact.Int, enact.Str]):
    """A tree: ``fanout`` children per level down to ``depth``; odd leaves fail."""

    _enact_type_name = "tests.training.reading.Node"
    depth: int = 0
    fanout: int = 0
    size: int = 10

    def call(self, number: enact.Int) -> enact.Str:
        if self.depth == 0:
            if int(number) % 7 == 3:
                raise ValueError(f"leaf {int(number)} fails")
            return enact.Str(f"{int(number):06d}" * (self.size // 6 + 1))
        child = Node(self.depth - 1, self.fanout, self.size)
        parts = []
        for index in range(self.fanout):
            try:
                parts.append(str(child(enact.Int(int(number) * self.fanout + index))))
            except ValueError:
                parts.append("-")
        return enact.Str(str(len("".join(parts))))


def _shape(call: Call) -> tuple[Any, ...]:
    return (
        call.path,
        call.invocation,
        call.request,
        call.invokable,
        call.invokable_digest,
        call.input,
        call.input_digest,
        call.output,
        call.output_digest,
        call.error,
        call.children,
        call.parent_input,
    )


def test_checkout_many_equals_checkout(store: enact.Store) -> None:
    with store:
        refs = [enact.commit(enact.Str(f"v{n}")) for n in range(20)]
        refs.append(enact.commit(Node(1, 2)))
        refs.append(refs[0])  # the same object twice
        fresh = [Ref[Any](ref.digest) for ref in refs]
        assert store.checkout_many(fresh) == [store.checkout(r) for r in fresh]
        assert store.checkout_many([]) == []
        with store.batch():  # commits not written yet are read too
            pending = enact.commit(enact.Str("pending"))
            assert store.checkout_many([Ref(pending.digest), fresh[1]]) == [
                "pending",
                "v1",
            ]
        missing = Ref[Any]("ab" * 32)
        with pytest.raises(NotFound, match="ab" * 32):
            store.checkout_many([fresh[0], missing])


def test_file_objects_read_many_neighbours_at_once(tmp_path: Any) -> None:
    location = str(tmp_path / "files")
    with enact.FileStore(location) as store:
        run = enact.run(Node(2, 30, size=2000), enact.Int(1))
        keys = [call.invocation for call in walk(run)]
        keys += [call.output_digest or call.input_digest for call in walk(run)]
        loose = enact.commit(enact.Str("loose")).digest
        store.flush()
    reopened = enact.FileStore(location)
    objects = reopened.backend
    wanted = [*keys[::-1], loose, "cd" * 32, keys[3], keys[3]]
    one_by_one = [objects.get_many([key])[0] for key in wanted]
    assert objects.get_many(wanted) == one_by_one
    assert one_by_one[len(keys) + 1] is None and one_by_one[-1] is not None


def test_walk_reads_every_call_in_order_across_batches(store: enact.Store) -> None:
    with store:
        run = enact.run(Node(2, 40), enact.Int(0))
        calls = list(walk(run))
    assert len(calls) == 1 + 40 + 40 * 40
    paths = [call.path for call in calls]
    assert paths == sorted(paths)  # depth first, children in call order
    failed = [call for call in calls if call.error is not None]
    assert failed and all(call.output is None for call in failed)
    assert "fails" in failed[0].error
    leaf = calls[2]
    assert leaf.path == (0, 0) and leaf.parent_input == calls[1].input
    with store:
        assert _shape(call_at(run, (3, 7))) == _shape(calls[paths.index((3, 7))])


def test_records_of_another_layout_are_decoded_in_full(
    store: enact.Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    with store:
        run = enact.run(Node(2, 9), enact.Int(5))
        fast = [_shape(call) for call in walk(run)]
        monkeypatch.setattr(layouts, "_REF", "not the ref type id")
        assert [_shape(call) for call in walk(run)] == fast


def test_batches_shrink_for_large_values(tmp_path: Any) -> None:
    with enact.FileStore(str(tmp_path / "big")) as store:
        run = enact.run(Node(1, 12, size=1 << 20), enact.Int(0))
        reader = records.RecordReader(store)
        calls = list(walk(run, reader))
    assert len(calls) == 13
    assert reader._batch < records._FIRST_BATCH  # 8 MiB read: smaller next
    assert os.path.exists(tmp_path / "big")
