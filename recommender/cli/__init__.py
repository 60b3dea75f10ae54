"""``python -m recommender …``: build a catalog, then ask it questions.

Every command takes ``--home DIR`` (default ``$MUSICREC_HOME``, else ``./artifacts``) and
``--catalog NAME`` (one of the home's named catalogs; default its current one).
Commands that print results take ``--json`` and then print exactly one JSON object on
stdout; logs and progress go to stderr. Exit code 0 on success; on failure a one-line
message on stderr and exit code 1 (2 for bad command-line usage). When the program
reading the output stops early (``… | head -1``), the command ends quietly with 141, the
status of a process ended by SIGPIPE.

Where things are:

- ``common``: what every command shares (``--home``/``--catalog``/``--json``, number ranges, printing results);
- ``build``: build, info, evaluate, add, catalogs (making and describing a catalog; the home's catalogs);
- ``queries``: search, similar, recommend, path (asking the catalog for songs);
- ``users``: play, like, history, playlist (a listener's actions and playlists);
- ``owner``: owner, profile (the owner's settings and care of profiles);
- ``discover``: discover, mix, radio, skip (what the app finds by itself, and the radio);
- ``main``: the parser and ``main``, with the table ``COMMANDS``.

A new command: write ``<name>_parser(sub)`` (it adds the sub-parser, calling
``common.add_common``) and ``cmd_<name>(args)`` in the module of its concept (a new module
for a new concept), then add one line ``"<name>": (module.<name>_parser, module.cmd_<name>)``
to ``COMMANDS`` in ``main.py``. Handlers print through ``common.emit`` and raise
``RecommenderError`` for anything the user can fix.
"""

from recommender.cli.common import MAX_EPOCHS, MAX_K, MAX_SEED, MAX_STEPS, MAX_TRACKS, MAX_WORKERS
from recommender.cli.main import COMMANDS, main, parser

__all__ = [
    "COMMANDS",
    "MAX_EPOCHS",
    "MAX_K",
    "MAX_SEED",
    "MAX_STEPS",
    "MAX_TRACKS",
    "MAX_WORKERS",
    "main",
    "parser",
]
