"""History lists the profile's skips with their time, mixed with its plays newest first: on the page (only
for the profile opened with its PIN), in the store and on the command line (``history --json``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

# The app is driven as in tests/test_app.py (its functions and fixtures: the module's own copy of
# the built catalog).
import test_app
from streamlit.testing.v1 import AppTest
from test_app import ROOT, TIMEOUT, goto, shown, start

from recommender.cli import main

_navigation_like_the_server = test_app._navigation_like_the_server
module_home, app_home, catalog = test_app.module_home, test_app.app_home, test_app.catalog

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def listen(store, user: str) -> None:
    """Plays of 1, 2 and 3 a minute apart; 2 was skipped 10 s in, and 4 skipped last (no play)."""
    store.record_play(user, 1, source="search", at=T0)
    store.record_play(user, 2, source="radio", at=T0 + timedelta(minutes=1))
    store.record_skip(user, 2, at=T0 + timedelta(minutes=1, seconds=10))
    store.record_play(user, 3, source="similar", at=T0 + timedelta(minutes=2))
    store.record_skip(user, 4, at=T0 + timedelta(minutes=3))


def test_history_page_lists_skips_with_their_time_mixed_with_plays(app_home, catalog):
    user = "skipper"
    at = start(user=user)
    listen(catalog.store, user)
    goto(at, "history")
    table = at.dataframe[0].value
    assert table["track_id"].tolist() == [4, 3, 2, 2, 1]
    assert table["what"].tolist() == ["skipped", "played", "skipped", "played", "played"]
    when = [ts.tz_localize(None) if ts.tzinfo else ts for ts in table["played_at"]]
    assert when[0] == (T0 + timedelta(minutes=3)).replace(tzinfo=None)
    assert when[2] == (T0 + timedelta(minutes=1, seconds=10)).replace(tzinfo=None)
    assert "3 plays and 2 skips of 4 songs" in shown(at)

    at.button(key="history_clear").click().run()  # clearing History forgets the skips it lists too
    assert catalog.store.history_with_skips(user).empty and catalog.store.skips(user).empty
    assert "No plays yet" in shown(at)


def test_skips_are_not_shown_without_the_profiles_pin(app_home, catalog):
    start(user="hidden skipper")
    catalog.store.record_skip("hidden skipper", 5, at=T0)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params["user"] = "hidden skipper"  # a link, in another browser: no PIN given
    at.run()
    goto(at, "history")
    assert not at.dataframe and "protected by a PIN" in shown(at)


def test_history_command_lists_skips_as_events(app_home, catalog, capsys):
    user = "cli skipper"
    listen(catalog.store, user)
    assert main(["history", "--user", user, "--json", "--home", str(app_home)]) == 0
    rows = json.loads(capsys.readouterr().out)["results"]
    assert [(r["track_id"], r["event"]) for r in rows] == [
        (4, "skip"), (3, "play"), (2, "skip"), (2, "play"), (1, "play")
    ]  # fmt: skip
    assert {"track_id", "title", "played_at", "source"} <= set(rows[0])  # the keys plays always had
    assert rows[2]["played_at"].startswith("2026-05-01T12:01:10") and rows[2]["source"] is None
    assert rows[1]["source"] == "similar"

    assert main(["history", "--user", user, "-k", "2", "--home", str(app_home)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[1].split()[-1] == "skip" and lines[2].split()[-1] == "play"
