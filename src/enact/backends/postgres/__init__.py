"""The PostgreSQL family: one store that processes on many machines share.

Opened with ``enact.open_store("postgresql://user@host/db")`` (needs the
``postgres`` extra: ``pip install 'enact[postgres]'``, psycopg 3).

- :mod:`~enact.backends.postgres.objects`: the objects table
  (:class:`PostgresObjects`, the family's bundle) and garbage collection;
- :mod:`~enact.backends.postgres.index`: run records, step rows, names,
  claims (and ``LISTEN``/``NOTIFY`` for waiting runs);
- :mod:`~enact.backends.postgres.journals`: a finished call's objects and
  steps in one pipelined transaction;
- :mod:`~enact.backends.postgres.sessions`: live writers as rows with a
  beat;
- :mod:`~enact.backends.postgres.connections`: connections, retries,
  errors;
- :mod:`~enact.backends.postgres.migrations`: the schema and its versions.

Importing this package does not import psycopg; opening a store does.
"""

from enact.backends.postgres.index import PostgresIndex
from enact.backends.postgres.journals import PostgresJournals
from enact.backends.postgres.objects import PostgresObjects

__all__ = ["PostgresIndex", "PostgresJournals", "PostgresObjects"]
