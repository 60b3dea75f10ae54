"""The owner and the visitors: who may build, the owner's password, the music roots, per-session options.

Unit tests of ``recommender.access`` (addresses, proxies, roots with symlinks, the password
and its rate limit, the ``owner`` command), then the app through AppTest. AppTest has no
client connection, so an AppTest session is a visitor unless ``session_state["owner"]`` says
otherwise (as the password form sets it), or the password form unlocks it.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest
from fixtures import copy_home, tone, write_audio
from streamlit.testing.v1 import AppTest

from recommender import access, cli, jobs
from recommender.errors import UserInputError
from recommender.passwords import Guesses, verify_secret

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in (access.PASSWORD_ENV, access.ROOTS_ENV, access.TRUST_LOOPBACK_ENV):
        monkeypatch.delenv(name, raising=False)


# ---- who is at the browser ----------------------------------------------------------------------
@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_addresses(address):
    assert access.is_loopback(address)


@pytest.mark.parametrize(
    "address",
    [None, "", "10.0.0.1", "192.168.1.20", "203.0.113.9", "::ffff:10.0.0.1", "fe80::1", "localhost", "x"],
)
def test_other_and_unknown_addresses_are_not_loopback(address):
    assert not access.is_loopback(address)


def test_only_a_direct_loopback_connection_is_the_owner(home):
    assert access.local_owner("127.0.0.1", ["Host", "User-Agent"], home=home)
    assert access.local_owner("::1", [], home=home)
    assert not access.local_owner(None, [], home=home)  # unknown
    assert not access.local_owner("192.168.1.20", [], home=home)
    for proxy in ("X-Forwarded-For", "x-forwarded-for", "Forwarded", "X-Real-IP"):
        assert not access.local_owner("127.0.0.1", ["Host", proxy], home=home), proxy


def test_loopback_trust_can_be_turned_off_by_setting_or_environment(home, monkeypatch):
    access.set_trust_loopback(False, home)
    assert not access.local_owner("127.0.0.1", [], home=home)
    access.set_trust_loopback(True, home)
    assert access.local_owner("127.0.0.1", [], home=home)
    monkeypatch.setenv(access.TRUST_LOOPBACK_ENV, "0")
    assert not access.local_owner("127.0.0.1", [], home=home)


# ---- the password -----------------------------------------------------------------------------------
def test_the_password_is_kept_only_as_a_scrypt_hash(home):
    with pytest.raises(UserInputError, match="no owner password is set"):
        access.check_password("anything", home)
    access.set_password("correct horse", home)
    text = (home / access.ACCESS_FILE).read_text()
    assert "correct horse" not in text
    assert json.loads(text)["password"].startswith("scrypt$")
    guesses = Guesses()
    assert access.check_password("correct horse", home, guesses=guesses)
    assert not access.check_password("wrong horse", home, guesses=guesses)
    with pytest.raises(UserInputError, match="at least 4 characters"):
        access.set_password("abc", home)


def test_the_environment_password_is_hashed_on_first_read_and_leaves_the_environment(home, monkeypatch):
    monkeypatch.setenv(access.PASSWORD_ENV, "from the environment")
    assert access.has_password(home)
    assert access.PASSWORD_ENV not in os.environ  # build processes started later never see it
    text = (home / access.ACCESS_FILE).read_text()
    assert "from the environment" not in text
    assert verify_secret("from the environment", json.loads(text)["password"])


def test_wrong_passwords_are_rate_limited(home):
    access.set_password("right one", home)
    now = [0.0]
    guesses = Guesses(clock=lambda: now[0])
    for _ in range(3):
        assert not access.check_password("wrong", home, guesses=guesses)
    with pytest.raises(UserInputError, match="too many wrong tries; wait 2 s"):
        access.check_password("right one", home, guesses=guesses)  # even the right one must wait
    now[0] += 2.5
    assert access.check_password("right one", home, guesses=guesses)


# ---- the music roots --------------------------------------------------------------------------------
def test_the_roots_are_the_home_music_folder_the_environment_and_those_added(home, tmp_path, monkeypatch):
    (env_root := tmp_path / "env music").mkdir()
    (added := tmp_path / "added").mkdir()
    monkeypatch.setenv(access.ROOTS_ENV, str(env_root))
    assert access.add_root(added, home) == added.resolve()
    assert access.music_roots(home) == [(home / "music").resolve(), env_root.resolve(), added.resolve()]
    assert access.remove_root(added, home)
    assert access.music_roots(home) == [(home / "music").resolve(), env_root.resolve()]
    with pytest.raises(UserInputError, match="not a folder"):
        access.add_root(tmp_path / "missing", home)


@pytest.fixture
def music(home, tmp_path):
    """HOME/music with a genre folder, a symlink leading out of the roots and one staying inside."""
    root = home / "music"
    (root / "rock").mkdir(parents=True)
    (outside := tmp_path / "private").mkdir()
    (root / "escape").symlink_to(outside)
    (root / "alias").symlink_to(root / "rock")
    return root


def outside_paths(tmp_path: Path) -> list[str]:
    return [
        "/etc/shadow", "/root/.ssh", "/", "~", str(tmp_path / "does" / "not" / "exist"),
        "/" + "a" * 299, "..", "rock/../..", str(tmp_path / "private"), "escape", "escape/deeper",
    ]  # fmt: skip


def test_every_path_outside_the_roots_gets_one_message(home, music, tmp_path):
    for text in outside_paths(tmp_path):
        with pytest.raises(UserInputError) as caught:
            access.server_folder(text, home)
        assert str(caught.value) == access.OUTSIDE_ROOTS, text


def test_paths_inside_the_roots_are_resolved(home, music, tmp_path):
    rock = (music / "rock").resolve()
    assert access.server_folder(str(music / "rock"), home) == rock
    assert access.server_folder("rock", home) == rock  # relative: from HOME/music
    assert access.server_folder("alias", home) == rock  # a symlink that stays inside
    assert access.server_folder(" rock/../rock ", home) == rock
    assert access.server_folder(".", home) == music.resolve()
    # A root reached through a symlink: the link's target is the root.
    (elsewhere := tmp_path / "shared music").mkdir()
    (tmp_path / "link").symlink_to(elsewhere)
    access.add_root(tmp_path / "link", home)
    assert access.server_folder(str(tmp_path / "link"), home) == elsewhere.resolve()
    with pytest.raises(UserInputError, match="at most 1,024 characters"):
        access.server_folder("a" * 1025, home)


def test_a_visitor_download_is_relative_to_the_deepest_common_folder(tmp_path):
    songs = [tmp_path / "music" / "rock" / "a.mp3", tmp_path / "music" / "jazz" / "b.mp3"]
    assert access.export_base(songs) == tmp_path / "music"
    assert access.export_base([]) is None


# ---- the owner command ---------------------------------------------------------------------------------
def test_the_owner_command_sets_the_password_from_stdin_and_manages_roots(
    home, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr("sys.stdin", io.StringIO("teacher's secret\n"))
    assert cli.main(["owner", "set-password"]) == 0
    assert access.check_password("teacher's secret", home, guesses=Guesses())
    assert "teacher's secret" not in (home / access.ACCESS_FILE).read_text()
    capsys.readouterr()
    (music := tmp_path / "songs").mkdir()
    assert cli.main(["owner", "add-root", str(music), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"password_set": True, "roots": [str((home / "music").resolve()), str(music.resolve())],
                   "trust_loopback": True}  # fmt: skip
    assert cli.main(["owner", "add-root", str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().err.strip() == f"error: not a folder: {(tmp_path / 'nowhere').resolve()}"
    assert cli.main(["owner", "trust-loopback", "no", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trust_loopback"] is False
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert cli.main(["owner", "set-password"]) == 1
    assert capsys.readouterr().err.strip() == "error: the owner password cannot be empty"


# ---- the app ---------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _navigation_like_the_server(monkeypatch):
    """As in tests/test_app.py: AppTest runs app.py on every run, as the live server does."""
    from streamlit.runtime import pages_manager

    original = pages_manager.PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        pages_manager.PagesManager.uses_pages_directory = False

    monkeypatch.setattr(pages_manager.PagesManager, "__init__", init)


def start(*, owner: bool = False, page: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if owner:
        at.session_state["owner"] = True
    at.run()
    assert not at.exception
    if page:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception
    return at


def keys(at: AppTest, kind: str) -> set[str]:
    return {e.key for e in at.get(kind) if getattr(e, "key", None)}


def errors(at: AppTest) -> list[str]:
    import re

    return [re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", e.value) for e in at.error]


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info", "error") for e in at.get(kind))


BUILD_WIDGETS = {"home_build", "home_source", "home_audio", "home_metadata", "home_fma_audio"}


def test_a_visitor_of_an_empty_server_sees_no_build_form(home):
    at = start()
    assert not BUILD_WIDGETS & (keys(at, "button") | keys(at, "radio") | keys(at, "text_input"))
    assert "The owner of this server builds one" in texts(at)
    owner = start(owner=True)
    assert owner.button(key="home_build").label == "Build the catalog"


def _running(home: Path) -> None:
    state = {
        "state": "running", "pid": os.getpid(), "started_at": jobs._now(), "finished_at": None,
        "stage": "features", "done": 4, "total": 10, "info": "", "stages": [{"name": "features"}],
        "notes": [], "error": None, "options": {"source": "folder"}, "epochs": [],
    }  # fmt: skip
    home.mkdir(parents=True, exist_ok=True)
    (home / jobs.STATUS_FILE).write_text(json.dumps(state))


def test_a_visitor_cannot_cancel_a_running_build(home):
    _running(home)
    at = start()
    assert "Building the music folder" in texts(at).replace("\\", "")
    assert "home_cancel" not in keys(at, "button")
    assert "home_cancel" in keys(start(owner=True), "button")


def test_a_failed_build_tells_only_the_owner_why(home):
    state = {"state": "failed", "pid": 0, "started_at": jobs._now(), "finished_at": jobs._now(),
             "error": "no audio files in /srv/teacher/music/rock", "stages": [], "options": {}}  # fmt: skip
    home.mkdir(parents=True)
    (home / jobs.STATUS_FILE).write_text(json.dumps(state))
    assert errors(start()) == ["The last build failed; the catalog is as it was before it."]
    assert errors(start(owner=True)) == ["The last build failed: no audio files in /srv/teacher/music/rock"]


@pytest.fixture(scope="module")
def module_home(built_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("owner") / "home"
    copy_home(built_home, home)
    return home


@pytest.fixture
def built(module_home, monkeypatch):
    monkeypatch.setenv("MUSICREC_HOME", str(module_home))
    return module_home


def test_a_visitor_of_a_built_catalog_cannot_build_or_load_a_model(built):
    at = start()
    assert not BUILD_WIDGETS & keys(at, "button")
    assert "Build another catalog" not in [e.label for e in at.get("expander")]
    at.switch_page("pages/model.py").run()
    assert not at.exception
    assert not {"model_upload", "model_use", "model_saved", "model_arch"} & (
        keys(at, "file_uploader") | keys(at, "button") | keys(at, "selectbox")
    )
    assert not at.get("form_submit_button") or "model_train" not in keys(at, "form_submit_button")
    assert "Only the owner of this server can build or load another model." in texts(at)
    owner = start(owner=True, page="model")
    assert {"model_upload"} <= keys(owner, "file_uploader") and "model_use" in keys(owner, "button")


def unlock(at: AppTest, password: str) -> AppTest:
    at.sidebar.text_input(key="owner_password").input(password)
    at.sidebar.button(key="owner_unlock").click().run()
    assert not at.exception
    return at


def test_the_owner_password_unlocks_the_build_form(home):
    assert "owner_password" not in keys(start().sidebar, "text_input")  # no password set: no form
    access.set_password("class of 2026", home)
    at = start()
    assert "home_build" not in keys(at, "button")
    unlock(at, "class of 2026")
    assert at.button(key="home_build").label == "Build the catalog"
    assert at.session_state["owner"] is True
    at.sidebar.button(key="owner_lock").click().run()
    assert "home_build" not in keys(at, "button")


def test_wrong_passwords_are_rate_limited_in_the_app(home, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(access, "GUESSES", Guesses(clock=lambda: now[0]))
    access.set_password("class of 2026", home)
    at = start()
    for _ in range(3):
        unlock(at, "guess")
        assert errors(at) == ["wrong password"]
    unlock(at, "class of 2026")  # too soon, even when right
    assert errors(at) == ["too many wrong tries; wait 2 s and try again"]
    assert "home_build" not in keys(at, "button")
    now[0] += 3
    unlock(at, "class of 2026")
    assert errors(at) == [] and "home_build" in keys(at, "button")


def folder_check(at: AppTest, text: str) -> list[str]:
    at.text_input(key="home_audio").input(text).run()
    assert not at.exception, text
    return errors(at)


def test_paths_outside_the_music_roots_get_one_message(home, tmp_path):
    _music_folder(home / "music" / "class")
    at = start(owner=True)
    at.radio(key="home_source").set_value("folder").run()
    for text in ["/etc/shadow", "/root/.ssh", "/", "~", str(tmp_path / "missing"), "/" + "b" * 299, ".."]:
        assert folder_check(at, text) == [access.OUTSIDE_ROOTS], text
        assert at.button(key="home_build").disabled
    assert folder_check(at, "class/" + "c" * 300) == ["this folder cannot be read (File name too long)"]
    assert folder_check(at, "class") == []
    assert any(s.value.startswith("4 audio files, 2 folders as genres") for s in at.success)
    assert not at.button(key="home_build").disabled


def test_fma_paths_outside_the_music_roots_get_the_same_message(home):
    (home / "music").mkdir(parents=True)
    at = start(owner=True)
    at.radio(key="home_source").set_value("fma").run()
    at.text_input(key="home_metadata").input("/etc").run()
    at.text_input(key="home_fma_audio").input("/").run()
    assert errors(at) == [
        f"fma_metadata folder: {access.OUTSIDE_ROOTS}; audio folder: {access.OUTSIDE_ROOTS}"
    ]


def _music_folder(root: Path) -> Path:
    for i in range(4):
        write_audio(
            root / ("Low" if i % 2 else "High") / f"song{i}.wav", tone(4.0, freq=220 + 110 * i), 22_050
        )
    return root


def test_build_options_of_one_session_never_reach_another(home):
    _music_folder(home / "music" / "class")
    first = start(owner=True)
    first.radio(key="home_source").set_value("folder").run()
    first.text_input(key="home_audio").input("class").run()
    first.number_input(key="home_seed").set_value(7).run()
    first.number_input(key="home_workers").set_value(3).run()
    second = start(owner=True)
    assert second.radio(key="home_source").value == "demo"
    assert second.number_input(key="home_seed").value == 0
    assert second.number_input(key="home_workers").value == 0
    second.radio(key="home_source").set_value("folder").run()
    assert second.text_input(key="home_audio").value == ""
    assert not (home / "app-build-options.json").exists()


def test_a_visitor_playlist_download_names_no_server_folder(built, downloads):
    from recommender.catalog import Catalog

    catalog = Catalog.open(built)
    user, ids = "visitor-exporter", [3, 8]
    catalog.store.create_playlist(user, "Trip", ids)
    absolute = [str(catalog.audio_path(t)) for t in ids]
    base = Path(os.path.commonpath([os.path.dirname(p) for p in catalog.tracks()["audio_path"]]))
    for owner, expected in ((False, [os.path.relpath(p, base) for p in absolute]), (True, absolute)):
        at = start(owner=owner)
        # The visitor's PIN claims the profile the store made; the owner opens it without one.
        at.sidebar.text_input(key="sidebar_new_user").input(user)
        at.sidebar.text_input(key="sidebar_new_pin").input("4321")
        at.sidebar.button(key="sidebar_create_user").click().run()
        assert at.session_state["user"] == user
        at.switch_page("pages/playlists.py").run()
        assert not at.exception
        button = at.download_button(key="playlists_download_m3u8")
        data = downloads[button.proto.url.rsplit("/", 1)[-1].split(".")[0]]
        entries = [line for line in data.decode().splitlines() if line and not line.startswith("#")]
        assert entries == expected, owner
        if not owner:
            assert not any(str(built) in e or e.startswith("/") or ".." in e for e in entries)
            at.file_uploader(key="playlists_import_file").upload("Back.m3u8", data, "audio/x-mpegurl").run()
            at.button(key="playlists_import").click().run()
            assert catalog.store.playlist(user, "Back")["track_id"].tolist() == ids  # it imports back


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """What each download button would send the browser, by media id."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    sent = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        sent[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return sent
