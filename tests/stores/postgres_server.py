"""A throwaway PostgreSQL server for the tests: initdb, pg_ctl, a free port.

The server is Debian's ``postgresql`` package (``/usr/lib/postgresql/<n>/bin``,
or ``$ENACT_POSTGRES_BIN``). PostgreSQL refuses to run as root, so as root the
cluster belongs to the ``postgres`` user (or ``nobody``) and its tools run as
that user (``runuser``). The cluster lives in a temporary directory and
listens on a free loopback port only; trust authentication for loopback.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid

__all__ = ["PostgresServer", "find_binaries"]


def find_binaries() -> str | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None."""
    chosen = os.environ.get("ENACT_POSTGRES_BIN")
    candidates = (
        [chosen]
        if chosen
        else sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True)
    )
    for directory in candidates:
        if directory and all(
            os.access(os.path.join(directory, tool), os.X_OK)
            for tool in ("initdb", "pg_ctl", "postgres")
        ):
            return directory
    return None


def _version(directory: str) -> int:
    try:
        return int(directory.rstrip("/").split("/")[-2])
    except ValueError:
        return 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One cluster: :meth:`start`, :meth:`url`, :meth:`restart`, :meth:`stop`."""

    def __init__(self, binaries: str) -> None:
        self.binaries = binaries
        self.root = tempfile.mkdtemp(prefix="enact-pg-")
        self.data = os.path.join(self.root, "data")
        self.log = os.path.join(self.root, "server.log")
        self.port = _free_port()
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = _unprivileged_user()
            record = pwd.getpwnam(self._user)
            os.chown(self.root, record.pw_uid, record.pw_gid)
        os.chmod(self.root, 0o755)

    def _tool(self, name: str, *args: str, check: bool = True) -> str:
        command = [os.path.join(self.binaries, name), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=120, cwd=self.root
        )
        if check and done.returncode:
            raise RuntimeError(
                f"{name} failed ({done.returncode}): {done.stdout}{done.stderr}"
            )
        return done.stdout

    def start(self) -> None:
        """Creates the cluster (first time) and starts the server."""
        if not os.path.isdir(self.data):
            self._tool(
                "initdb", "-D", self.data, "-U", "enact", "--auth=trust",
                "-E", "UTF8", "--locale=C.UTF-8",
            )  # fmt: skip
        self._start()
        self.create_database("enact")

    def _start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.root} -c fsync=on "
            "-c max_connections=300 -c shared_buffers=64MB"
        )
        self._tool(
            "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "start"
        )

    def restart(self, mode: str = "fast") -> None:
        """Stops the server (``fast``: committed work flushed; ``immediate``:
        like a crash) and starts it again on the same port."""
        self._tool("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")
        self._start()

    def stop_server(self, mode: str = "fast") -> None:
        """Stops the server (see :meth:`start_again`)."""
        self._tool("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def start_again(self) -> None:
        """Starts a stopped server."""
        self._start()

    def stop(self) -> None:
        """Stops the server and removes the cluster."""
        self._tool(
            "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False
        )
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "enact", schema: str | None = None) -> str:
        """A URL of the server (``?schema=`` if given)."""
        base = f"postgresql://enact@127.0.0.1:{self.port}/{database}"
        return base + (f"?schema={schema}" if schema else "")

    def fresh_url(self) -> str:
        """A URL of a store of its own: a new schema on the test database."""
        return self.url(schema=f"t_{uuid.uuid4().hex[:20]}")

    def create_database(self, name: str) -> None:
        """Creates a database (if missing)."""
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as db:
            exists = db.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if not exists:
                db.execute(f'CREATE DATABASE "{name}"')


def _unprivileged_user() -> str:
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("no unprivileged user (postgres, nobody) to run PostgreSQL as")
