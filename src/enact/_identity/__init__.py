"""A value's identity: its canonical bytes and their digest, made in one place.

- :mod:`enact._identity.memo`: what is remembered (encodings by content,
  digests by encoding), under one policy and one bound.
- :mod:`enact._identity.large`: large values (a document, a prompt) encoded
  and hashed once per process however many records hold them.
- :mod:`enact._identity.fields`: the flat encoders of the journal's records,
  generated from the fields each record declares.
- :mod:`enact._identity.resource_dicts`: resources as ``ResourceDict`` trees
  and back (``to_resource_dict``, ``from_resource_dict``), which encode to a
  resource's own bytes.

The canonical encoding itself is :mod:`enact._codec` (the tree path, and the
flat path for small resources) with its decoder :mod:`enact._decode`; the
digests are :mod:`enact.digests`.
"""

# Imported with the package: it installs the resource-dict conversion that
# enact.interfaces.ResourceBase (a lower layer) calls.
from enact._identity import resource_dicts  # noqa: F401 - for its installing

__all__: list[str] = []
