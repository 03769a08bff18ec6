# The web UI's browser tests drive Debian's Chromium (Playwright never
# downloads a browser here). Install it once; later runs find it in place.
if ! command -v chromium >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq chromium >/dev/null
fi
# Without Chromium the browser tests fail here instead of skipping.
export ENACT_REQUIRE_BROWSER=1
