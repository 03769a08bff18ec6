"""Objects in S3-compatible object storage (the ``s3`` extra).

:class:`S3Objects` is the objects interface on a bucket; :class:`S3Backend`
bundles it with another backend's index; :func:`s3_store` opens a store of
the two. boto3 is imported when an :class:`S3Objects` is made, never by
``import enact``.
"""

from enact.backends.s3._location import S3Location, mask_url, parse_s3_url
from enact.backends.s3.objects import S3Objects, StoredObject
from enact.backends.s3.store import (
    S3Backend,
    open_index_backend,
    s3_store,
    tiered_store,
)

__all__ = [
    "S3Backend",
    "S3Location",
    "S3Objects",
    "StoredObject",
    "mask_url",
    "open_index_backend",
    "parse_s3_url",
    "s3_store",
    "tiered_store",
]
