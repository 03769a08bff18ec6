"""Objects in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, GCS).

Each object is one S3 object under the location's prefix, named by its
digest: ``s3://bucket/prefix/<64 hex>``. Writes are conditional
(``If-None-Match: *``), so two writers of one key never race to overwrite
it, and carry the SHA-256 the key already is as ``x-amz-checksum-sha256``,
so the service refuses bytes damaged on the way. Reads are verified against
the key before they are returned. Calls on many keys run in a thread pool,
``concurrency`` requests in flight. A value of ``multipart_threshold`` bytes
or more goes up as a multipart upload of ``part_size`` pieces, each sent from
views of the caller's buffers (no joined copy), its parts in flight at once.

The client is boto3 (the ``s3`` extra): its credential chain is the one
users already configure (``$AWS_ACCESS_KEY_ID``, ``~/.aws`` profiles, SSO,
instance roles), and it speaks every S3-compatible service; see
docs/storage.md for the choice.
"""

from __future__ import annotations

import base64
import concurrent.futures
import hashlib
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from enact.backends import forks, sessions
from enact.backends.base import BackendError, Parts, check_key
from enact.backends.objects import Objects
from enact.backends.s3._location import S3Location, mask_text, parse_s3_url
from enact.backends.s3._streams import PartsReader, split_parts

__all__ = ["S3Objects", "StoredObject"]

MiB = 1024 * 1024
_DIGEST = re.compile(r"[0-9a-f]{64}")
# Object keys deleted per DeleteObjects request (the service's limit).
_DELETE_BATCH = 1000
# Error codes meaning the credentials do not grant access.
_DENIED = ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch")

T = TypeVar("T")
U = TypeVar("U")


class StoredObject:
    """One listed object: its key, size and last write (Unix seconds)."""

    __slots__ = ("key", "size", "written")

    def __init__(self, key: str, size: int, written: float) -> None:
        self.key = key
        self.size = size
        self.written = written


class S3Objects(Objects):
    """Immutable objects in an S3 bucket, by digest.

    Args:
        url: ``s3://bucket/prefix``, with options after ``?``: ``endpoint``
            (the service's URL; else ``$AWS_ENDPOINT_URL_S3`` or AWS),
            ``region``, ``profile``, ``concurrency`` (requests in flight,
            default 128), ``conditional=0`` (for services without
            ``If-None-Match``: look first, then write), ``create=1`` (create
            a missing bucket).
        client: An S3 client to use instead of making one (boto3's
            ``client("s3")``); the URL's endpoint and credentials options
            are then ignored.
        part_size: Bytes per part of a multipart upload (5 MiB at least).
        multipart_threshold: Values of this size or more go up in parts.

    Raises:
        BackendError: if the URL is bad, boto3 is missing, or the bucket
            cannot be reached (naming the bucket and endpoint).
    """

    def __init__(
        self,
        url: str,
        *,
        client: Any = None,
        part_size: int = 16 * MiB,
        multipart_threshold: int = 32 * MiB,
    ) -> None:
        self._where = parse_s3_url(url)
        self.location = self._where.url
        if part_size < 5 * MiB:
            raise BackendError(
                f"part_size must be 5 MiB at least (S3's smallest part), got "
                f"{part_size}",
                self.location,
            )
        self.part_size = part_size
        self.multipart_threshold = max(multipart_threshold, part_size)
        self._conditional = self._where.conditional
        self._errors = _client_errors()
        self._client = client if client is not None else _make_client(self._where)
        self._own_client = client is None
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        # A key stored before this time is re-stamped when written again, so
        # that garbage collection sees it as young (see enact.backends.gc).
        self._fresh_after = sessions.clock()
        self._closed = False
        self._check_bucket()
        forks.on_fork(self)

    def _after_fork(self) -> None:
        # A forked child never sends on its parent's HTTP connections (the
        # client's pool holds them): it makes a client of its own. A client
        # the caller gave is theirs to replace. The upload threads did not
        # survive the fork.
        if self._own_client:
            forks.keep(self._client)
            self._client = _make_client(self._where)
        self._pool = None
        self._pool_lock = threading.Lock()

    @property
    def where(self) -> S3Location:
        """The bucket, prefix and endpoint."""
        return self._where

    # -- the objects interface -------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        unique = list(dict.fromkeys(keys))
        found = dict(zip(unique, self._map(self._get, unique), strict=True))
        return [found[key] for key in keys]

    def put_many(self, items: Sequence[tuple[str, Parts]]) -> None:
        todo: dict[str, Parts] = {}
        for key, parts in items:
            check_key(key, self.location)
            todo.setdefault(key, parts)
        small: list[tuple[str, Parts]] = []
        for key, parts in todo.items():
            if sum(len(part) for part in parts) >= self.multipart_threshold:
                # In this thread: its parts take the pool.
                self._put_large(key, parts)
            else:
                small.append((key, parts))
        self._map(self._put_small, small)

    def has_many(self, keys: Sequence[str]) -> list[bool]:
        unique = list(dict.fromkeys(keys))
        found = dict(zip(unique, self._map(self._has, unique), strict=True))
        return [found[key] for key in keys]

    def iter_keys(self) -> Iterator[str]:
        for stored in self.iter_objects():
            yield stored.key

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
        close = getattr(self._client, "close", None)
        if close is not None:
            close()

    # -- maintenance: listing, deleting, re-stamping --------------------------

    def iter_objects(self) -> Iterator[StoredObject]:
        """Every stored object with its size and last write time."""
        prefix = self._where.prefix
        paginator = self._client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self._where.bucket, Prefix=prefix)
        try:
            for page in pages:
                for entry in page.get("Contents", ()):
                    name = entry["Key"][len(prefix) :]
                    if _DIGEST.fullmatch(name):
                        written = entry["LastModified"].timestamp()
                        yield StoredObject(name, int(entry["Size"]), written)
        except self._errors as error:
            raise self._failure("listing", None, error) from None

    def written_many(self, keys: Sequence[str]) -> list[float | None]:
        """Each object's last write (Unix seconds), None where absent."""
        unique = list(dict.fromkeys(keys))
        found = dict(zip(unique, self._map(self._head, unique), strict=True))
        return [found[key] for key in keys]

    def delete_many(self, keys: Sequence[str]) -> None:
        """Removes objects (for garbage collection); absent keys are ignored."""
        for key in keys:
            check_key(key, self.location)
        batches = [
            list(keys[start : start + _DELETE_BATCH])
            for start in range(0, len(keys), _DELETE_BATCH)
        ]
        self._map(self._delete, batches)

    def begin_collection(self, now: float) -> None:
        """From now on, a write of a key stored before ``now`` re-stamps it."""
        self._fresh_after = now

    # -- one request each ------------------------------------------------------

    def _get(self, key: str) -> bytes | None:
        try:
            response = self._client.get_object(
                Bucket=self._where.bucket, Key=self._where.key_of(key)
            )
            data: bytes = response["Body"].read()
        except self._errors as error:
            if _code(error) in ("NoSuchKey", "404"):
                return None
            raise self._failure("read", key, error) from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != key:
            raise BackendError(
                f"object {key} in {self.location} is damaged: its {len(data)} "
                f"bytes hash to {actual} (store.verify() lists damage)",
                self.location,
                key,
            )
        return data

    def _has(self, key: str) -> bool:
        return self._head(key) is not None

    def _head(self, key: str) -> float | None:
        """The object's last write time, or None if it is absent."""
        try:
            response = self._client.head_object(
                Bucket=self._where.bucket, Key=self._where.key_of(key)
            )
        except self._errors as error:
            if _code(error) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise self._failure("lookup", key, error) from None
        written: float = response["LastModified"].timestamp()
        return written

    def _put_small(self, item: tuple[str, Parts]) -> None:
        key, parts = item
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        if not self._conditional:
            written = self._head(key)
            if written is not None:
                self._restamp_if_old(key, written)
                return
        arguments: dict[str, Any] = {
            "Bucket": self._where.bucket,
            "Key": self._where.key_of(key),
            "Body": body,
            # The key is the SHA-256: the service checks the bytes against it.
            "ChecksumSHA256": base64.b64encode(bytes.fromhex(key)).decode("ascii"),
        }
        if self._conditional:
            arguments["IfNoneMatch"] = "*"
        try:
            self._client.put_object(**arguments)
        except self._errors as error:
            code = _code(error)
            if code in ("PreconditionFailed", "412"):
                self._restamp_if_old(key, None)  # stored already
                return
            if code == "ConditionalRequestConflict":  # a concurrent write won
                return
            if code in ("NotImplemented", "501") and self._conditional:
                # A service without conditional writes: look first from now on
                # (a race then writes the same bytes twice, which is harmless).
                self._conditional = False
                self._put_small(item)
                return
            raise self._failure("write", key, error) from None

    def _put_large(self, key: str, parts: Parts) -> None:
        written = self._head(key)
        if written is not None:
            self._restamp_if_old(key, written)
            return
        bucket, name = self._where.bucket, self._where.key_of(key)
        try:
            upload = self._client.create_multipart_upload(Bucket=bucket, Key=name)
        except self._errors as error:
            raise self._failure("multipart start", key, error) from None
        upload_id = upload["UploadId"]
        pieces = split_parts(parts, self.part_size)

        def send(numbered: tuple[int, list[memoryview]]) -> dict[str, Any]:
            number, views = numbered
            response = self._client.upload_part(
                Bucket=bucket,
                Key=name,
                UploadId=upload_id,
                PartNumber=number,
                Body=PartsReader(views),
            )
            return {"ETag": response["ETag"], "PartNumber": number}

        try:
            done = self._map(send, list(enumerate(pieces, start=1)))
            arguments: dict[str, Any] = {
                "Bucket": bucket,
                "Key": name,
                "UploadId": upload_id,
                "MultipartUpload": {"Parts": done},
            }
            if self._conditional:
                arguments["IfNoneMatch"] = "*"
            self._client.complete_multipart_upload(**arguments)
        except self._errors as error:
            self._abort(name, upload_id)
            if _code(error) in ("PreconditionFailed", "412"):
                return  # another writer stored it first
            raise self._failure("multipart write", key, error) from None
        except BaseException:
            self._abort(name, upload_id)
            raise

    def _abort(self, name: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(
                Bucket=self._where.bucket, Key=name, UploadId=upload_id
            )
        except self._errors:
            pass  # the bucket's lifecycle rule removes what is left

    def _restamp_if_old(self, key: str, written: float | None) -> None:
        if written is None:
            written = self._head(key)
            if written is None:
                return
        # LastModified has whole seconds: the copy may be up to one second
        # younger than listed. One written less than that before a collection
        # began is not re-stamped, and still safe: a collection's cutoff is
        # more than that (sessions.MARGIN) before it begins.
        if written + 1.0 >= self._fresh_after:
            return
        try:
            self._client.copy_object(
                Bucket=self._where.bucket,
                Key=self._where.key_of(key),
                CopySource={
                    "Bucket": self._where.bucket,
                    "Key": self._where.key_of(key),
                },
                MetadataDirective="REPLACE",
            )
        except self._errors as error:
            raise self._failure("re-stamp", key, error) from None

    def _delete(self, keys: list[str]) -> None:
        try:
            response = self._client.delete_objects(
                Bucket=self._where.bucket,
                Delete={
                    "Objects": [{"Key": self._where.key_of(key)} for key in keys],
                    "Quiet": True,
                },
            )
        except self._errors as error:
            raise self._failure("delete", keys[0] if keys else None, error) from None
        failed = response.get("Errors") or ()
        if failed:
            first = failed[0]
            raise BackendError(
                f"S3 delete in {self.location} failed for {len(failed)} objects, "
                f"e.g. {first.get('Key')}: {first.get('Code')}: {first.get('Message')}",
                self.location,
            )

    # -- plumbing --------------------------------------------------------------

    def _map(self, function: Callable[[T], U], items: Sequence[T]) -> list[U]:
        if len(items) <= 1:
            return [function(item) for item in items]
        return list(self._executor().map(function, items))

    def _executor(self) -> concurrent.futures.ThreadPoolExecutor:
        pool = self._pool
        if pool is None:
            with self._pool_lock:
                if self._closed:
                    raise BackendError(f"{self.location} is closed", self.location)
                if self._pool is None:
                    self._pool = concurrent.futures.ThreadPoolExecutor(
                        self._where.concurrency, thread_name_prefix="enact-s3"
                    )
                pool = self._pool
        return pool

    def _check_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self._where.bucket)
            return
        except self._errors as error:
            missing = _code(error) in ("NoSuchBucket", "404", "NotFound")
            if not (missing and self._where.create):
                raise self._failure("bucket check", None, error) from None
        try:
            self._client.create_bucket(Bucket=self._where.bucket)
        except self._errors as error:
            if _code(error) not in ("BucketAlreadyOwnedByYou",):
                raise self._failure("bucket creation", None, error) from None

    def _failure(
        self, action: str, key: str | None, error: BaseException
    ) -> BackendError:
        code = _code(error)
        what = f" of object {key}" if key else ""
        bucket = self._where.bucket
        if code in ("NoSuchBucket",) or (code in ("404", "NotFound") and key is None):
            hint = (
                f"the bucket {bucket} does not exist (create it, or add "
                "?create=1 to the URL)"
            )
        elif code in _DENIED:
            hint = f"access denied to {bucket} ({code}): check the credentials"
        elif type(error).__name__ == "NoCredentialsError":
            hint = (
                "no credentials: set $AWS_ACCESS_KEY_ID and "
                "$AWS_SECRET_ACCESS_KEY, or a profile (?profile= or $AWS_PROFILE)"
            )
        elif type(error).__name__ in ("EndpointConnectionError", "ConnectTimeoutError"):
            hint = f"cannot reach the endpoint: {error}"
        else:
            hint = f"{code or type(error).__name__}: {_message(error)}"
        return BackendError(
            mask_text(f"S3 {action}{what} in {self.location} failed: {hint}"),
            self.location,
            key,
        )


def _client_errors() -> tuple[type[BaseException], ...]:
    try:
        import botocore.exceptions
    except ImportError:
        raise BackendError(
            "S3 objects need boto3: pip install 'enact[s3]'", "s3"
        ) from None
    return (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


def _make_client(where: S3Location) -> Any:
    import boto3
    import botocore.config
    import botocore.exceptions

    try:
        session = boto3.session.Session(profile_name=where.profile)
    except botocore.exceptions.ProfileNotFound:
        raise BackendError(
            f"{where.url}: there is no AWS profile {where.profile!r} in ~/.aws",
            where.url,
        ) from None
    region = where.region or session.region_name
    if region is None and where.endpoint is not None:
        region = "us-east-1"  # what S3-compatible services accept
    config = botocore.config.Config(
        max_pool_connections=where.concurrency + 4,
        retries={"mode": "standard", "max_attempts": 5},
        # Path-style requests reach servers without wildcard DNS (MinIO,
        # a local endpoint); AWS itself picks virtual hosts.
        s3={"addressing_style": "path" if where.endpoint else "auto"},
        # Checksums are sent where the operation needs one; puts send the
        # SHA-256 the key already is.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    return session.client(
        "s3", endpoint_url=where.endpoint, region_name=region, config=config
    )


def _code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _message(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", "")) or str(error)
    return str(error)
