# The PostgreSQL store's tests start a throwaway server of Debian's
# postgresql package (initdb and pg_ctl in a temporary directory, as the
# postgres user). Install it once; later runs find it in place. The
# package's own cluster is not used (nor started here).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq postgresql >/dev/null
fi
# Without the server binaries the PostgreSQL tests fail here instead of
# skipping.
export ENACT_REQUIRE_POSTGRES=1
