"""moto's standalone S3 server on loopback, for the tests of S3 objects.

The server is a separate process speaking the S3 protocol over HTTP; the
client talks to it exactly as to S3 (no patching). Without moto the S3 tests
skip, unless ``ENACT_REQUIRE_S3=1`` (set by ``.ci/setup.d/50-s3.sh``) makes
them fail.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest

__all__ = ["S3Server", "require_s3", "start_server"]

# Generous: a loaded CI machine may take long to import moto and flask.
_START_TIMEOUT = 120.0


def require_s3() -> None:
    """Skips the test (fails it, with ENACT_REQUIRE_S3=1) without moto or boto3."""
    missing = [name for name in ("boto3", "moto", "flask") if not _importable(name)]
    if missing:
        reason = (
            f"S3 tests need {', '.join(missing)} (pip install 'moto[server]' boto3)"
        )
        if os.environ.get("ENACT_REQUIRE_S3") == "1":
            pytest.fail(reason + "; ENACT_REQUIRE_S3=1 requires them")
        pytest.skip(reason)


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


class S3Server:
    """A running moto server: its endpoint, and a fresh bucket URL per test."""

    def __init__(
        self, process: subprocess.Popen[bytes], endpoint: str, log: Any
    ) -> None:
        self.process = process
        self._log = log
        self.endpoint = endpoint
        self.bucket = "enact-tests"
        self.client().create_bucket(Bucket=self.bucket)

    def client(self):  # type: ignore[no-untyped-def]
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def fresh_url(self, **options: str) -> str:
        """``s3://enact-tests/<new prefix>?endpoint=...``: empty for each caller."""
        query = "&".join(
            f"{name}={value}"
            for name, value in {"endpoint": self.endpoint, **options}.items()
        )
        return f"s3://{self.bucket}/t-{uuid.uuid4().hex}?{query}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


def start_server(log_path: str) -> S3Server:
    """Starts moto's server on a free loopback port and waits until it answers."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(log_path, "wb")  # the server writes it until stopped
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + _START_TIMEOUT
    while True:  # polling a server that is starting, not ordering work
        if process.poll() is not None:
            raise RuntimeError(f"moto's server exited (see {log_path})")
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=5).close()
            break
        except (urllib.error.URLError, OSError):
            if time.monotonic() > deadline:
                process.kill()
                log.close()
                raise RuntimeError(
                    f"moto's server did not answer (see {log_path})"
                ) from None
            time.sleep(0.1)
    return S3Server(process, endpoint, log)
