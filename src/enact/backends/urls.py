"""Store URLs in messages: the password masked."""

from __future__ import annotations

import re
import urllib.parse

__all__ = ["mask_password"]


def mask_password(url: str) -> str:
    """``url`` with the password of its user part (and ``password=``) masked.

    ``postgresql://ann:secret@db/runs`` becomes ``postgresql://ann:***@db/runs``.
    """
    parts = urllib.parse.urlsplit(url) if "://" in url else None
    if parts is not None and parts.password is not None:
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[1]
        url = urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", url)
