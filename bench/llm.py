"""What a journaled model call costs over the bare openai SDK call.

Run ``python bench/llm.py`` from the repository's root (``--quick`` for a
smoke run). In one process it measures:

* **paired calls**: N times, the bare SDK call
  (``client.chat.completions.create``) and then the same call through
  :class:`enact.llm.ChatModel` in a durable run in a file store, one right
  after the other, so that the load of the machine falls on both alike;
  against an in-process server (``httpx.MockTransport``, which answers at
  once) and against llama.cpp's server on SmolLM2-135M (started by the
  script as ``examples/agent.py`` does, or ``--base-url``). Reported: the
  medians, and the median of the paired differences.
* **enact's own cost**: the same calls with the SDK's HTTP call replaced by a
  stub that returns the same response bytes at once, so that nothing but
  enact is timed: not journaled, journaled by ``invoke``, and in a durable
  run (best of several rounds).
* **replay** of a 100-call durable run: its time, and the requests it sent.

The target: a journaled call costs at most 200 µs or 2% more than the bare
call, whichever is larger.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import pathlib
import platform
import shutil
import statistics
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai

import enact
import enact.llm._models
from enact.llm import ChatModel, Message, using_http_client

ROOT = pathlib.Path(__file__).resolve().parents[1]
MESSAGES = [Message("system", "You are terse."), Message("user", "Say yes.")]
#: The timings of the paired calls: (bare, journaled) seconds.
PAIRS: list[tuple[float, float]] = []
#: The SDK client of the bare calls (not a field: not part of the journal).
BARE: dict[str, Any] = {}


def _arguments(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [m.to_openai() for m in MESSAGES],
        "temperature": 0.0,
        "max_tokens": 4,
        "timeout": 60.0,
    }


@enact.register(name="bench.llm.Calls")
@enact.typed_invokable(enact.Int, enact.Int, register=False)
@dataclasses.dataclass
class Calls(enact.Invokable):
    """Calls ``model`` ``n`` times with the same conversation."""

    model: Any

    def call(self, n: enact.Int) -> enact.Int:
        for _ in range(int(n)):
            self.model(MESSAGES)
        return enact.Int(int(n))


@enact.register(name="bench.llm.Paired")
@enact.typed_invokable(enact.Int, enact.Int, register=False)
@dataclasses.dataclass
class Paired(enact.Invokable):
    """``n`` times: a bare SDK call, then the same call through ``model``."""

    model: Any

    def call(self, n: enact.Int) -> enact.Int:
        client, arguments = BARE["client"], BARE["arguments"]
        for _ in range(int(n)):
            start = time.perf_counter()
            client.chat.completions.create(**arguments)
            middle = time.perf_counter()
            self.model(MESSAGES)
            PAIRS.append((middle - start, time.perf_counter() - middle))
        return enact.Int(int(n))


def _completion_bytes(model: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1,
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Yes."},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22},
        }
    ).encode()


def _answer_at_once(request: httpx.Request) -> httpx.Response:
    model = json.loads(request.content)["model"]
    return httpx.Response(
        200,
        content=_completion_bytes(model),
        headers={"content-type": "application/json"},
    )


class Counting(httpx.BaseTransport):
    """Counts the requests it passes on to ``inner``."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return self.inner.handle_request(request)


@contextlib.contextmanager
def file_store() -> Iterator[enact.Store]:
    directory = tempfile.mkdtemp(prefix="enact-bench-llm-")
    try:
        with enact.FileStore(os.path.join(directory, "store")) as store:
            yield store
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def timed(work: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def timed_both(work: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of ``work`` (the CPU time of this process
    is what other processes on a loaded machine add least to)."""
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - start, time.process_time() - cpu


def paired(base_url: str, model: str, transport: httpx.BaseTransport, n: int) -> None:
    """Prints the paired comparison against one server."""
    with httpx.Client(transport=transport) as http, using_http_client(http):
        BARE["client"] = openai.OpenAI(
            api_key="no-key", base_url=base_url, max_retries=0, http_client=http
        )
        BARE["arguments"] = _arguments(model)
        chat = ChatModel(model, base_url=base_url, temperature=0.0, max_tokens=4)
        with file_store():
            enact.run(Paired(chat), enact.Int(2))  # warm up: connections, caches
            PAIRS.clear()
            run = enact.run(Paired(chat), enact.Int(n))
            assert run.status is enact.RunStatus.FINISHED, run.info().error
    bare = statistics.median(b for b, _ in PAIRS)
    journaled = statistics.median(j for _, j in PAIRS)
    difference = statistics.median(j - b for b, j in PAIRS)
    allowed = max(200e-6, 0.02 * bare)
    print(f"\n### paired calls: {base_url} ({n} pairs)\n")
    print("| per call | median µs | best µs |")
    print("|---|---|---|")
    print(
        f"| bare SDK call | {bare * 1e6:,.0f} | {min(b for b, _ in PAIRS) * 1e6:,.0f} |"
    )
    print(
        f"| ChatModel in a durable run | {journaled * 1e6:,.0f} | "
        f"{min(j for _, j in PAIRS) * 1e6:,.0f} |"
    )
    verdict = "pass" if difference <= allowed else "**FAIL**"
    print(
        f"\nMedian paired difference: {difference * 1e6:+,.0f} µs "
        f"({difference / bare:+.1%}); target at most {allowed * 1e6:,.0f} µs: "
        f"{verdict}."
    )


def own_cost(calls: int, rounds: int) -> None:
    """Prints enact's own cost per call, the HTTP call replaced by a stub."""
    response = types.SimpleNamespace(content=_completion_bytes("bench"))
    create = types.SimpleNamespace(create=lambda **_: response)
    stub = types.SimpleNamespace(
        chat=types.SimpleNamespace(
            completions=types.SimpleNamespace(with_raw_response=create)
        )
    )
    models: Any = enact.llm._models
    real = models.sync_client
    models.sync_client = lambda settings: stub
    try:
        chat = ChatModel("bench", base_url="http://stub/v1", temperature=0.0)

        def plain() -> None:
            for _ in range(calls):
                chat(MESSAGES)

        def journaled() -> None:
            Calls(chat).invoke(enact.commit(enact.Int(calls)))

        def durable() -> None:
            enact.run(Calls(chat), enact.Int(calls))

        best: dict[str, float] = {}
        best_cpu: dict[str, float] = {}
        for _ in range(rounds):
            for name, work in (
                ("plain", plain),
                ("journaled", journaled),
                ("durable", durable),
            ):
                with file_store():
                    wall, cpu = timed_both(work)
                best[name] = min(best.get(name, wall / calls), wall / calls)
                best_cpu[name] = min(best_cpu.get(name, cpu / calls), cpu / calls)
    finally:
        models.sync_client = real
    print(f"\n### enact's own cost ({calls} calls x {rounds} rounds, SDK stubbed)\n")
    print("| per call | wall µs | over not journaled | CPU µs | over not journaled |")
    print("|---|---|---|---|---|")
    rows = [
        ("ChatModel, not journaled", "plain"),
        ("journaled (invoke, file store)", "journaled"),
        ("durable run (file store)", "durable"),
    ]
    for label, name in rows:
        extra = best[name] - best["plain"]
        extra_cpu = best_cpu[name] - best_cpu["plain"]
        print(
            f"| {label} | {best[name] * 1e6:,.0f} | {extra * 1e6:+,.0f} | "
            f"{best_cpu[name] * 1e6:,.0f} | {extra_cpu * 1e6:+,.0f} |"
        )


def replay_of_100(base_url: str, model: str, transport: httpx.BaseTransport) -> None:
    """Prints the time to replay a 100-call durable run, and its requests."""
    counting = Counting(transport)
    with (
        httpx.Client(transport=counting) as http,
        using_http_client(http),
        file_store(),
    ):
        chat = ChatModel(model, base_url=base_url, temperature=0.0, max_tokens=4)
        run = enact.run(Calls(chat), enact.Int(100))
        before = counting.count
        seconds = min(timed(run.replay) for _ in range(5))
        sent = counting.count - before
    print(
        f"\nReplay of a 100-call run of {base_url}: {seconds * 1e3:.1f} ms "
        f"({seconds * 1e4:.0f} µs per call), {sent} requests sent."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="a running server (else llama.cpp starts)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--pairs", type=int, default=40, help="local model pairs")
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    options = parser.parse_args()
    quick = options.quick
    print(
        f"# enact.llm: a model call's cost (Python {platform.python_version()}, "
        f"openai {openai.__version__})"
    )
    print(f"\nload average before: {os.getloadavg()[0]:.2f}")
    own_cost(50 if quick else 500, 3 if quick else 7)
    in_process = "http://in-process/v1"
    paired(
        in_process, "bench", httpx.MockTransport(_answer_at_once), 50 if quick else 300
    )
    replay_of_100(in_process, "bench", httpx.MockTransport(_answer_at_once))
    with contextlib.ExitStack() as stack:
        url = options.base_url
        if url is None:
            sys.path.insert(0, str(ROOT))
            from examples.agent import local_server

            url = stack.enter_context(local_server())
        paired(url, options.model, httpx.HTTPTransport(), 5 if quick else options.pairs)
        replay_of_100(url, options.model, httpx.HTTPTransport())
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
