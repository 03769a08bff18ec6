"""The PostgreSQL store's read-ahead, without a server: what it fetches, and
that it serves each object once."""

from __future__ import annotations

from collections.abc import Sequence

from enact.backends.postgres.readahead import ReadAhead


def _digest(n: int) -> str:
    return f"{n:064x}"


class Fetcher:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.queries: list[list[str]] = []

    def __call__(self, keys: Sequence[str]) -> dict[str, bytes]:
        self.queries.append(list(keys))
        return {key: self.objects[key] for key in keys if key in self.objects}


def test_reads_along_a_step_log_take_one_query_per_batch() -> None:
    keys = [_digest(n) for n in range(1, 101)]
    # Each object refers to one more, read after it (a call's response).
    objects = {
        key: b'{"digest":"%s"}' % _digest(1000 + n).encode()
        for n, key in enumerate(keys)
    }
    objects.update({_digest(1000 + n): b"leaf" for n in range(100)})
    fetch = Fetcher(objects)
    ahead = ReadAhead(fetch)
    ahead.note([b'{"record":"%s"}' % key.encode() for key in keys])
    for n, key in enumerate(keys):
        assert ahead.take([key]) == {key: objects[key]}
        referred = _digest(1000 + n)
        assert ahead.take([referred]) == {referred: b"leaf"}
    # One query for the step log's objects, one for what they refer to.
    assert len(fetch.queries) == 2


def test_each_object_is_served_once_and_unknown_keys_are_left_to_the_caller() -> None:
    key, other = _digest(1), _digest(2)
    fetch = Fetcher({key: b"a", other: b"b"})
    ahead = ReadAhead(fetch)
    assert ahead.take([key]) == {}  # nothing noted: nothing fetched
    ahead.note([key.encode() + b" " + other.encode()])
    assert ahead.take([key]) == {key: b"a"}
    assert ahead.take([other]) == {other: b"b"}
    assert ahead.take([other]) == {}  # served once: the caller reads it
    assert len(fetch.queries) == 1


def test_absent_objects_are_not_invented() -> None:
    key = _digest(7)
    fetch = Fetcher({})
    ahead = ReadAhead(fetch)
    ahead.note([key.encode()])
    assert ahead.take([key]) == {}


def test_a_bulk_read_leaves_the_order_noted_for_the_reads_after_it() -> None:
    from enact.backends.postgres.readahead import BULK

    keys = [_digest(n) for n in range(1, BULK + 11)]
    objects = {key: b"x%d" % n for n, key in enumerate(keys)}
    fetch = Fetcher(objects)
    ahead = ReadAhead(fetch)
    ahead.note([key.encode() for key in keys])
    # A check reading them all at once: nothing fetched ahead, nothing taken.
    assert ahead.take(keys) == {}
    assert ahead.take(keys[:BULK]) == {}
    assert fetch.queries == []
    # The replay after it still reads them in one query, one at a time.
    for key in keys:
        assert ahead.take([key]) == {key: objects[key]}
    assert len(fetch.queries) == 1
