"""pages/_routing.py: the one place that knows how a page opened on its own gets back into app.py.

These tests fail as soon as a Streamlit upgrade either makes ``ensure_routed`` unnecessary
(a ``pages/`` folder no longer starts the older multipage mode) or breaks it (``st.navigation``
no longer ends that mode through the switch ``ensure_routed`` flips).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from pages import _routing

ROOT = Path(__file__).resolve().parents[1]
NAVIGATING_APP = """
import streamlit as st
from pages import _routing
st.session_state.before = _routing.in_pages_directory_mode()
st.navigation([st.Page(lambda: None, title="Only", url_path="only")]).run()
st.session_state.after = _routing.in_pages_directory_mode()
"""


PAGE = """
import streamlit as st
from pages import _routing
st.session_state.setdefault("reroutes", []).append(_routing.in_pages_directory_mode())
_routing.ensure_routed(__file__)
st.markdown("the page ran")
"""


def _layout(tmp_path: Path, monkeypatch) -> Path:
    """A copy of the app's layout (``pages/_routing.py``) importable as ``pages``."""
    (tmp_path / "pages").mkdir()
    # a namespace package, as the app's own: a ``pages`` with a file would stay in ``inspect``'s
    # memory of module files and trip its ``getmodule`` once the app's ``pages`` is back
    (tmp_path / "pages" / "_routing.py").write_text((ROOT / "pages" / "_routing.py").read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("pages", "pages._routing"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return tmp_path


@pytest.fixture
def fresh_server(monkeypatch):
    """Streamlit as a freshly started server finds it: the mode not decided yet."""
    monkeypatch.setattr(PagesManager, "uses_pages_directory", None)


def test_a_pages_folder_still_starts_the_older_multipage_mode(fresh_server):
    PagesManager(str(ROOT / "app.py"))
    assert _routing.in_pages_directory_mode()  # else ensure_routed is no longer needed: remove it


def test_st_navigation_ends_that_mode_with_the_switch_ensure_routed_flips(
    fresh_server, tmp_path, monkeypatch
):
    folder = _layout(tmp_path, monkeypatch)
    (folder / "app.py").write_text(NAVIGATING_APP)
    at = AppTest.from_file(str(folder / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.session_state["before"] is True and at.session_state["after"] is False


def test_a_page_run_on_its_own_leaves_the_mode_and_then_runs(fresh_server, tmp_path, monkeypatch):
    folder = _layout(tmp_path, monkeypatch)
    (folder / "pages" / "pages").mkdir()  # the page's own folder holds a pages/ folder: the mode starts
    (folder / "pages" / "page.py").write_text(PAGE)
    at = AppTest.from_file(str(folder / "pages" / "page.py"), default_timeout=60).run()
    assert not at.exception
    # In the mode at first; out of it after the rerun. No app.py here marks a run as routed, so it
    # reruns once more (never more), then the page runs with the state pages rely on.
    assert at.session_state["reroutes"] == [True, False, False]
    assert at.session_state["flash"] is None
    assert [m.value for m in at.markdown] == ["the page ran"]
