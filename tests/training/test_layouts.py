"""Journal records and plain values read from their text a batch at a time:
the same digests as parsing each one, and nothing read from another spelling."""

from __future__ import annotations

from typing import Any

import orjson

import enact
from enact._codec import encode
from enact._datasets import layouts
from enact._datasets.calls import walk
from training.test_reading import Node


def _records(store: enact.Store) -> dict[layouts.Kind, list[bytes]]:
    """The invocations, requests and responses of a run that fails in places."""
    run = enact.run(Node(2, 6), enact.Int(1))
    calls = list(walk(run))
    read = store.objects.get_many
    return {
        layouts.INVOCATION: read([call.invocation for call in calls]),
        layouts.REQUEST: read([call.request for call in calls]),
        layouts.RESPONSE: read(
            [
                orjson.loads(data)["response"]["digest"]
                for data in read([call.invocation for call in calls])
            ]
        ),
    }


def _one_by_one(kind: layouts.Kind, raw: list[bytes]) -> list[Any]:
    return [kind.parse(data.decode()) for data in raw]


def test_a_batch_gives_what_each_record_gives(tmp_path: Any) -> None:
    with enact.FileStore(str(tmp_path / "store")) as store:
        found = _records(store)
    for kind, raw in found.items():
        assert layouts.parse_all(kind, raw) == _one_by_one(kind, raw)
    # Leaves that returned are read from the fixed spelling; the others
    # (calls that raised, calls that made calls) from the pattern.
    responses = _one_by_one(layouts.RESPONSE, found[layouts.RESPONSE])
    assert any(children for _, _, children in responses)
    assert any(raised for _, raised, _ in responses)
    assert layouts.parse_all(layouts.INVOCATION, []) == []


def test_another_spelling_is_not_read_as_the_fixed_one(tmp_path: Any) -> None:
    with enact.FileStore(str(tmp_path / "store")) as store:
        raw = _records(store)[layouts.INVOCATION][:3]
    spaced = orjson.dumps(orjson.loads(raw[0]), option=orjson.OPT_INDENT_2)
    upper = raw[1].replace(raw[1][-67:-3], raw[1][-67:-3].upper())
    found = layouts.parse_all(layouts.INVOCATION, [spaced, upper, raw[2]])
    # Indented JSON has lines of its own: the batch is read one by one.
    assert found is None
    found = layouts.parse_all(layouts.INVOCATION, [upper, raw[2]])
    assert found is not None
    expected = _one_by_one(layouts.INVOCATION, [raw[2]])[0]
    # Capital hex is no digest of the layout: not read from the fixed
    # spelling (and the JSON parse gives it as it is written).
    assert found[0] == _one_by_one(layouts.INVOCATION, [upper])[0]
    assert found[1] == expected
    keyed = orjson.dumps({"#res": "x", "request": 1})
    assert layouts.parse_all(layouts.INVOCATION, [keyed, raw[2]]) == [None, expected]


def test_int_texts() -> None:
    values = [
        enact.Int(5),
        enact.Int(-12),
        enact.Int(0),
        enact.Int(10**17),
        enact.Int(10**18),  # more digits than read from the text
        enact.Str("5"),
        enact.Float(5.0),
    ]
    raw = [b"".join(encode(value)) for value in values]
    found = layouts.int_texts([*raw, raw[0] + b"x"])
    assert found == ["5", "-12", "0", str(10**17), "", "", "", ""]
    assert layouts.int_texts([b"a\nb"]) is None
