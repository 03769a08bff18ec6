"""What a journaled model call costs over the bare openai SDK call.

Run ``python bench/llm.py`` from the repository's root. It measures, in one
process and one run:

* **local model**: the same short completion (greedy, a few tokens) from
  llama.cpp's server on SmolLM2-135M, called N times with the bare SDK
  (``client.chat.completions.create``) and N times through
  :class:`enact.llm.ChatModel` journaled in a file store, interleaved in
  rounds so that the machine's load falls on both alike. Without
  ``--base-url`` the script starts the server itself (as
  ``examples/agent.py`` does).
* **in-process server**: the same two, against an ``httpx.MockTransport``
  that answers at once, so that the difference is enact's own cost, not the
  model's noise.
* **replay** of a 100-call run: no request reaches the server.

Every figure is the best (fastest) of several repeats. The target: enact's
cost at most 200 µs per call or 2% of the bare call, whichever is larger.
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
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai

import enact
from enact.llm import ChatModel, Message, using_http_client

ROOT = pathlib.Path(__file__).resolve().parents[1]
MESSAGES = [
    Message("system", "You are terse."),
    Message("user", "Say yes."),
]


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


class Counting(httpx.BaseTransport):
    """Counts the requests it passes on to ``inner``."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.count = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return self.inner.handle_request(request)


def _completion(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(
        200,
        json={
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "Yes."},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22},
        },
    )


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


def compare(
    base_url: str, model: str, transport: httpx.BaseTransport, calls: int, rounds: int
) -> dict[str, float]:
    """Per-call seconds of the bare SDK and of a journaled ChatModel (the
    best round of each), calling the same server through ``transport``."""
    with httpx.Client(transport=transport) as http, using_http_client(http):
        client = openai.OpenAI(
            api_key="no-key", base_url=base_url, max_retries=0, http_client=http
        )
        chat = ChatModel(model, base_url=base_url, temperature=0.0, max_tokens=4)
        arguments = {
            "model": model,
            "messages": [m.to_openai() for m in MESSAGES],
            "temperature": 0.0,
            "max_tokens": 4,
            "timeout": 60.0,
        }

        def bare() -> None:
            for _ in range(calls):
                client.chat.completions.create(**arguments)

        def plain() -> None:
            for _ in range(calls):
                chat(MESSAGES)

        bare()  # warm up: connections, caches
        plain()
        bare_times, plain_times, enact_times, durable_times = [], [], [], []
        for _ in range(rounds):
            bare_times.append(timed(bare))
            plain_times.append(timed(plain))
            with file_store():
                enact_times.append(
                    timed(lambda: Calls(chat).invoke(enact.commit(enact.Int(calls))))
                )
            with file_store():
                durable_times.append(
                    timed(lambda: enact.run(Calls(chat), enact.Int(calls)))
                )
    return {
        "bare": min(bare_times) / calls,
        "plain": min(plain_times) / calls,
        "journaled": min(enact_times) / calls,
        "durable": min(durable_times) / calls,
        "bare_median": statistics.median(bare_times) / calls,
        "journaled_median": statistics.median(enact_times) / calls,
    }


def replay_of_100(
    base_url: str, model: str, transport: httpx.BaseTransport
) -> tuple[float, int]:
    """Seconds to replay a 100-call durable run, and requests it sent."""
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
        return seconds, counting.count - before


def report(title: str, figures: dict[str, float]) -> None:
    bare, plain = figures["bare"], figures["plain"]
    journaled, durable = figures["journaled"], figures["durable"]
    allowed = max(200e-6, 0.02 * bare)
    print(f"\n### {title}\n")
    print("| per call | µs | over the bare SDK call |")
    print("|---|---|---|")
    rows = [
        ("bare SDK call (`chat.completions.create`)", bare),
        ("ChatModel, not journaled", plain),
        ("ChatModel, journaled (invoke, file store)", journaled),
        ("ChatModel, durable run (file store)", durable),
    ]
    for label, seconds in rows:
        extra = seconds - bare
        print(
            f"| {label} | {seconds * 1e6:,.0f} | "
            f"{extra * 1e6:+,.0f} ({extra / bare:+.1%}) |"
        )
    journaling = durable - plain
    print(
        "\nThe journal's own cost (durable run - not journaled): "
        f"{journaling * 1e6:,.0f} µs per call."
    )
    worst = max(journaled, durable) - bare
    verdict = "pass" if worst <= allowed else "**FAIL**"
    print(f"Target: at most {allowed * 1e6:,.0f} µs over the bare call: {verdict}.")
    print(
        f"Medians: bare {figures['bare_median'] * 1e6:,.0f} µs, journaled "
        f"{figures['journaled_median'] * 1e6:,.0f} µs."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base-url", help="a running server (else llama.cpp is started)"
    )
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--calls", type=int, default=20, help="model calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    options = parser.parse_args()
    calls, rounds = (5, 3) if options.quick else (options.calls, options.rounds)
    print(
        f"# enact.llm overhead (Python {platform.python_version()}, "
        f"openai {openai.__version__})"
    )
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    fast = compare(
        "http://in-process/v1", "bench", httpx.MockTransport(_completion), 200, rounds
    )
    report("in-process server (enact's own cost)", fast)
    seconds, sent = replay_of_100(
        "http://in-process/v1", "bench", httpx.MockTransport(_completion)
    )
    print(f"\nReplay of a 100-call run: {seconds * 1e3:.1f} ms, {sent} requests sent.")
    with contextlib.ExitStack() as stack:
        url = options.base_url
        if url is None:
            sys.path.insert(0, str(ROOT))
            from examples.agent import local_server

            url = stack.enter_context(local_server())
        local = compare(url, options.model, httpx.HTTPTransport(), calls, rounds)
        report(f"local model ({url}, {calls} calls x {rounds} rounds)", local)
        seconds, sent = replay_of_100(url, options.model, httpx.HTTPTransport())
        print(
            f"\nReplay of a 100-call run of the local model: "
            f"{seconds * 1e3:.1f} ms, {sent} requests sent."
        )
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
