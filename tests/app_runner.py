"""Open one page of the app in Streamlit's AppTest, as the live server runs it (see ``test_app``)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def open_page(home: Path, page: str, monkeypatch, *, timeout: int = 120):
    """The app on ``home`` with ``pages/<page>.py`` open; app.py's navigation kept on every run."""
    from streamlit.runtime import pages_manager
    from streamlit.testing.v1 import AppTest

    original = pages_manager.PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        pages_manager.PagesManager.uses_pages_directory = False

    monkeypatch.setattr(pages_manager.PagesManager, "__init__", init)
    monkeypatch.setenv("MUSICREC_HOME", str(home))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.run()
    at.switch_page(f"pages/{page}.py").run()
    assert not at.exception, at.exception[0].message
    return at
