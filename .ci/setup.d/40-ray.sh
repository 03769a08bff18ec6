# Batches on Ray: the tests start real local Ray clusters (`ray.init`, and
# `ray start` head and worker nodes on loopback). Ray comes with the dev
# extra; install it here only if it is missing.
if ! python3 -c "import ray" >/dev/null 2>&1; then
    python3 -m pip install -q "ray==2.60.0"
fi
# Without Ray the Ray tests fail here instead of skipping.
export ENACT_REQUIRE_RAY=1
