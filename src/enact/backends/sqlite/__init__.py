"""The SQLite family: objects, index and journals in one database file.

- :mod:`~enact.backends.sqlite.objects`: the objects table
  (:class:`SQLiteObjects`, the family's bundle);
- :mod:`~enact.backends.sqlite.index`: run records, step rows, names, claims;
- :mod:`~enact.backends.sqlite.journals`: durable runs' journals, folded
  into the tables; :mod:`~enact.backends.sqlite.journal_files` their format;
- :mod:`~enact.backends.sqlite.migrations`: the schema and its versions.
"""

from enact.backends.sqlite.index import SQLiteIndex
from enact.backends.sqlite.journals import SQLiteJournals
from enact.backends.sqlite.objects import SQLiteObjects

__all__ = ["SQLiteIndex", "SQLiteJournals", "SQLiteObjects"]
