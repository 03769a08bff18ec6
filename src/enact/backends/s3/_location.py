"""Where S3 objects live: ``s3://bucket/prefix?endpoint=...``, parsed and shown.

This module imports no S3 client: a bad URL is refused before boto3 loads.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse

from enact.backends.base import BackendError

__all__ = ["S3Location", "mask_text", "mask_url", "parse_s3_url"]

# Bucket names as S3 allows them (3-63 characters; MinIO and R2 agree).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
# Query options an ``s3://`` URL may carry, and what each means.
_OPTIONS = {
    "endpoint": "the service's URL (MinIO, R2, GCS, a local server)",
    "region": "the region (else the profile's or $AWS_REGION)",
    "profile": "a profile of ~/.aws/config (else $AWS_PROFILE or the default)",
    "concurrency": "requests in flight at once (default 128)",
    "conditional": "1 to write with If-None-Match (default), 0 to check first",
    "create": "1 to create the bucket if it is missing",
}


@dataclasses.dataclass(frozen=True)
class S3Location:
    """A bucket, a key prefix and how to reach them."""

    #: The bucket.
    bucket: str
    #: The key prefix: empty, or ending in ``/``.
    prefix: str
    #: The endpoint URL, or None for the SDK's choice (AWS, or
    #: ``$AWS_ENDPOINT_URL_S3`` / ``$AWS_ENDPOINT_URL``).
    endpoint: str | None = None
    #: The region, or None for the profile's.
    region: str | None = None
    #: The profile, or None for ``$AWS_PROFILE`` / the default chain.
    profile: str | None = None
    #: Requests in flight at once.
    concurrency: int = 128
    #: Whether writes are conditional (``If-None-Match: *``).
    conditional: bool = True
    #: Whether a missing bucket is created.
    create: bool = False

    @property
    def url(self) -> str:
        """``s3://bucket/prefix``, plus the endpoint, passwords masked."""
        text = f"s3://{self.bucket}/{self.prefix}"
        if self.endpoint:
            text += f" (endpoint {mask_url(self.endpoint)})"
        return text

    def key_of(self, digest: str) -> str:
        """The S3 key of an object."""
        return self.prefix + digest


# The user part of a URL inside any text: ``scheme://user:password@``.
_USER_PART = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s\"']+@")


def mask_text(text: str) -> str:
    """``text`` with the user part of every URL in it masked (``***@``)."""
    return _USER_PART.sub(r"\1***@", text)


def mask_url(url: str) -> str:
    """``url`` with any password (and access key in the user part) masked."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"***@{host}"))


def parse_s3_url(url: str) -> S3Location:
    """Reads ``s3://bucket[/prefix][?endpoint=URL&region=R&profile=P&...]``.

    Raises:
        BackendError: naming what is wrong with the URL (passwords masked).
    """
    shown = mask_url(url)
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as error:
        raise BackendError(f"{shown} is not a URL: {error}", shown) from None
    if parts.scheme != "s3":
        raise BackendError(f"{shown} is not an s3:// URL", shown)
    if parts.username is not None or parts.password is not None:
        raise BackendError(
            f"{shown}: credentials do not belong in the URL; use "
            "$AWS_ACCESS_KEY_ID and $AWS_SECRET_ACCESS_KEY or a profile",
            shown,
        )
    bucket = parts.hostname or ""
    if _BUCKET.fullmatch(bucket) is None:
        raise BackendError(
            f"{shown}: {bucket!r} is not a valid bucket name (3-63 lowercase "
            "letters, digits, '.' and '-')",
            shown,
        )
    prefix = parts.path.strip("/")
    prefix = prefix + "/" if prefix else ""
    options: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if name not in _OPTIONS:
            known = ", ".join(f"{key} ({meaning})" for key, meaning in _OPTIONS.items())
            raise BackendError(
                f"{shown}: unknown option {name!r}; known: {known}", shown
            )
        options[name] = value
    concurrency_text = options.get("concurrency", "128")
    if not concurrency_text.isdigit() or not 1 <= int(concurrency_text) <= 1024:
        raise BackendError(
            f"{shown}: concurrency must be a number from 1 to 1024", shown
        )
    return S3Location(
        bucket=bucket,
        prefix=prefix,
        endpoint=options.get("endpoint") or None,
        region=options.get("region") or None,
        profile=options.get("profile") or None,
        concurrency=int(concurrency_text),
        conditional=_flag(options, "conditional", True, shown),
        create=_flag(options, "create", False, shown),
    )


def _flag(options: dict[str, str], name: str, default: bool, shown: str) -> bool:
    value = options.get(name)
    if value is None:
        return default
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise BackendError(f"{shown}: {name} must be 0 or 1, got {value!r}", shown)
