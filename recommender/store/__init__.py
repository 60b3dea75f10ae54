"""DuckDB store: the catalog (tracks) and user data (profiles, plays, likes, playlists).

``from recommender.store import Store`` is all most code needs. The package, by concept:

- ``connection.py``: how processes and threads share the file (the rule below);
- ``schema.py``: tables, migrations and the search word index;
- ``values.py``: names, ids, limits and times as the store checks them;
- ``core.py``: ``Store``: tracks, search, profiles, plays, likes;
- ``playlists.py``: the playlist methods of ``Store``;
- ``profiles.py``: profile PINs: made, claimed, checked, reset;
- ``uploads.py``: who added each uploaded clip, and deleting one (methods of ``Store``);
- ``board.py``: the class board: the class playlist, hidden uploads and the board's one read.

Concurrency rule. A process holds at most one connection to the database file, shared by
its threads (each call gets its own cursor and transaction). Writing needs the file
read-write under an exclusive lock on ``<database>.lock``; reading is served by the open
connection, or opens the file read-only under a shared lock, so reads run beside this
process's writes (waiting only while the connection changes hands) and processes that
only read never wait for each other. The
connection lingers 0.2 s after the last call (a burst of calls opens the file once) and
is given back within 0.5 s when another process waits for it (``<database>.wait``), so
the app, command-line processes and builds all write at the same time without losing
anything; a call that cannot get
its turn within ``timeout`` (10 s) raises ``RecommenderError("database is busy …")``.
Anything else that opens the database (the DuckDB shell, a notebook) should keep it open
only briefly. The profile list is cached in the process until this process or another
writes (other processes' commits change the database file's or its log's stamp).

Consistency. Every call that writes more than one row is one transaction, so a process
killed mid-write leaves the previous state (a playlist is either absent or complete).
Catalog tracks that user data still refers to are never deleted, only hidden
(``in_catalog = false``).
"""

from recommender.store.core import Activity, Store
from recommender.store.profiles import Profile
from recommender.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from recommender.store.values import MAX_PLAYLIST_NAME, MAX_USER_NAME, PLAY_SOURCES, TRACK_COLUMNS

__all__ = [
    "MAX_PLAYLIST_NAME",
    "MAX_USER_NAME",
    "MIGRATIONS",
    "PLAY_SOURCES",
    "Profile",
    "SCHEMA_VERSION",
    "TRACK_COLUMNS",
    "Activity",
    "Store",
    "migrate",
    "schema_version",
]
