"""The file family: objects, index and journals in one directory.

- :mod:`~enact.backends.files.objects`: loose files, packs and logs
  (:class:`FileObjects`, the family's bundle);
- :mod:`~enact.backends.files.format`: the pack and log formats;
- :mod:`~enact.backends.files.index`: run records, step logs, names, claims;
- :mod:`~enact.backends.files.journals`: durable runs' step writers;
- :mod:`~enact.backends.files.scan`: damage for ``store.verify()``;
- :mod:`~enact.backends.files.gc`: the heap garbage collection sweeps;
- :mod:`~enact.backends.files.migrations`: the layout's versions.
"""

from enact.backends.files.index import FileIndex
from enact.backends.files.journals import FileJournals
from enact.backends.files.objects import FileObjects

__all__ = ["FileIndex", "FileJournals", "FileObjects"]
