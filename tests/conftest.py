"""Shared fixtures: a seeded RNG and a fresh artifacts home per test."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from recommender.librosa_import import load_librosa  # noqa: E402

# Before any test module imports librosa: its numba cache is written by one process at a time.
load_librosa()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty artifacts folder, also set as MUSICREC_HOME so nothing touches ./artifacts."""
    path = tmp_path / "home"
    monkeypatch.setenv("MUSICREC_HOME", str(path))
    return path


@pytest.fixture(scope="session")
def built_home(tmp_path_factory):
    """A tiny real demo catalog (24 synthesised songs, a 2-epoch model), built once per test session.

    Shared by many tests: a test that writes user data uses its own user name.
    """
    from recommender.build import BuildOptions, build

    path = tmp_path_factory.mktemp("built") / "home"
    build(BuildOptions(source="demo", tracks=24, epochs=2, seed=0, workers=2), home=path)
    return path


@pytest.fixture(params=[0o022, 0o002], ids=["umask022", "umask002"])
def umask(request):
    """Run the test under this process umask (a personal home, then one shared by a group)."""
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


@pytest.fixture
def shared_folder():
    """A fresh folder that every user can reach (pytest's own tmp_path is private to its user)."""
    import shutil
    import stat
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp(prefix="musicrec-test-"))
    path.chmod(0o777)
    yield path
    for folder in [path, *path.rglob("*")]:  # let the cleanup into folders made unwritable
        if folder.is_dir() and not folder.is_symlink():
            folder.chmod(folder.stat().st_mode | stat.S_IRWXU)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def navigation_like_the_server(monkeypatch):
    """Let AppTest run app.py on every run, as the live server does after its first run.

    AppTest (1.67) re-detects the ``pages/`` folder before each run and so starts every
    run in Streamlit's older multipage mode, where a page file runs without app.py. The
    app recovers from that mode by rerunning (``pages/_routing.ensure_routed``, covered by
    the browser test), but a rerun drops a button click; the live server leaves that mode
    for good after app.py's first ``st.navigation``, and this puts AppTest in the same state.
    Modules of AppTest tests use it in an autouse fixture of their own.
    """
    from streamlit.runtime import pages_manager

    original = pages_manager.PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        pages_manager.PagesManager.uses_pages_directory = False

    monkeypatch.setattr(pages_manager.PagesManager, "__init__", init)
