"""Object storage and exchange: S3 writes and pushes between stores.

    python bench/exchange.py            # 64 MiB value, 10,000 objects
    python bench/exchange.py --quick    # 16 MiB, 2,000 objects

Three figures, as a Markdown table:

- **64 MiB to S3**: ``store.commit`` of a 64 MiB ``enact.Bytes`` to a store
  whose objects are in S3 (encoding, SHA-256 and a multipart upload
  included), against a raw boto3 ``put_object`` of the same bytes to the
  same endpoint, measured in the same run. Target: at least 80% of raw.
  The endpoint is moto's standalone S3 server on loopback (started here),
  the same one the tests use: it is slow and CPU-bound, and shares the two
  cores with the client, so the ratio is what counts, not the MB/s.
- **push, directory -> SQLite**: a durable run reaching about 10,000 small
  objects, pushed from a store directory to a new SQLite store (objects/s).
- **second push**: the same push again: nothing is sent (target: < 1 s).

Every figure is the best of ``--repeat`` runs (3 by default), each in fresh
stores: other work on the machine only ever adds time.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "src")]

import enact  # noqa: E402 - needs the path
from enact.backends import SQLiteObjects  # noqa: E402 - needs the path
from enact.backends.s3 import S3Backend, S3Objects  # noqa: E402 - needs the path
from enact.exchange import push  # noqa: E402 - needs the path
from enact.references import Store  # noqa: E402 - needs the path
from s3server import S3Server, start_server  # noqa: E402 - needs the path

MiB = 1024 * 1024


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Echo(enact.Invokable[enact.Int, enact.Int]):
    """A leaf call: a few small objects each (request, output, invocation)."""

    def call(self, value: enact.Int) -> enact.Int:
        return enact.Int(int(value) + 1)


@enact.typed_invokable(enact.Int, enact.Int)
@dataclasses.dataclass
class Fanout(enact.Invokable[enact.Int, enact.Int]):
    """Calls ``Echo`` on 0 .. count-1."""

    def call(self, count: enact.Int) -> enact.Int:
        return enact.Int(sum(int(Echo()(enact.Int(i))) for i in range(int(count))))


def best(seconds: list[float]) -> float:
    return min(seconds)


def bench_large(server: S3Server, size: int, repeat: int, tmp: str) -> dict[str, float]:
    data = os.urandom(size)
    raw = server.client()
    raw_times, store_times = [], []
    for attempt in range(repeat):
        key = f"raw-{attempt}-{time.time_ns()}"
        started = time.perf_counter()
        raw.put_object(Bucket=server.bucket, Key=key, Body=data)
        raw_times.append(time.perf_counter() - started)
        raw.delete_object(Bucket=server.bucket, Key=key)

        value = enact.Bytes(data)
        store = Store(
            S3Backend(
                S3Objects(server.fresh_url()),
                SQLiteObjects(os.path.join(tmp, f"large-{attempt}.sqlite")),
            )
        )
        try:
            started = time.perf_counter()
            store.commit(value)
            store_times.append(time.perf_counter() - started)
        finally:
            store.close()
    raw_best, store_best = best(raw_times), best(store_times)
    return {
        "raw_mbps": size / MiB / raw_best,
        "store_mbps": size / MiB / store_best,
        "ratio": raw_best / store_best,
    }


def bench_push(calls: int, repeat: int, tmp: str) -> dict[str, float]:
    rates, again_times, objects = [], [], 0
    for attempt in range(repeat):
        source = enact.FileStore(os.path.join(tmp, f"src-{attempt}"))
        with source:
            run = enact.run(Fanout(), enact.Int(calls))
        destination = enact.SQLiteStore(os.path.join(tmp, f"dst-{attempt}.sqlite"))
        try:
            first = push(source, destination, [run.id])
            objects = first.objects_sent
            rates.append(first.objects_sent / first.duration)
            again = push(source, destination, [run.id])
            assert again.objects_sent == 0, again
            again_times.append(again.duration)
        finally:
            destination.close()
            source.close()
    return {
        "objects": objects,
        "objects_per_s": max(rates),
        "second_push_s": best(again_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure")
    options = parser.parse_args()
    size = (16 if options.quick else 64) * MiB
    # Each Echo call stores about four objects of its own.
    calls = 500 if options.quick else 2_500
    with tempfile.TemporaryDirectory(prefix="enact-bench-exchange-") as tmp:
        server = start_server(os.path.join(tmp, "moto.log"))
        try:
            large = bench_large(server, size, options.repeat, tmp)
        finally:
            server.stop()
        pushed = bench_push(calls, options.repeat, tmp)
    load = os.getloadavg()[0]
    print(f"# exchange ({time.strftime('%Y-%m-%d %H:%M')}, load {load:.1f})\n")
    print("| figure | value | target |")
    print("|---|---|---|")
    print(
        f"| {size // MiB} MiB value to S3, raw boto3 put_object | "
        f"{large['raw_mbps']:.0f} MB/s | |"
    )
    print(
        f"| {size // MiB} MiB value to S3, store.commit | "
        f"{large['store_mbps']:.0f} MB/s ({large['ratio']:.0%} of raw) | >= 80% |"
    )
    print(
        f"| push of {pushed['objects']:,} objects, directory -> SQLite | "
        f"{pushed['objects_per_s']:,.0f} objects/s | |"
    )
    print(
        f"| second push of the same run (nothing sent) | "
        f"{pushed['second_push_s'] * 1000:.0f} ms | < 1 s |"
    )


if __name__ == "__main__":
    main()
