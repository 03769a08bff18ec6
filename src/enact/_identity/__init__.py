"""A value's identity: its canonical bytes and their digest, made in one place.

- :mod:`enact._identity.memo`: what is remembered (encodings by content,
  digests by encoding), under one policy and one bound.
- :mod:`enact._identity.large`: large values (a document, a prompt) encoded
  and hashed once per process however many records hold them.
- :mod:`enact._identity.fields`: the flat encoders of the journal's records,
  generated from the fields each record declares.

The canonical encoding itself is :mod:`enact._codec` (the tree path, and the
flat path for small resources) with its decoder :mod:`enact._decode`; the
digests are :mod:`enact.digests`.
"""

__all__: list[str] = []
