"""Several catalogs on one server: names, the legacy home, builds that leave other catalogs alone,
``--catalog`` on every command, uploads and user data per catalog, and the app's switch.

One home is shared by the module: the session's built demo catalog (copied, a home made before
catalogs had names, so it is "Main") plus a folder catalog "Our music" built into it by the
command line. Tests that change which catalogs exist work on copies of it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fixtures import copy_home, tone, two_genre_folder, write_audio
from streamlit.testing.v1 import AppTest

from recommender import catalogs, cli, jobs
from recommender.catalog import Catalog
from recommender.config import Paths
from recommender.errors import AccessError, UserInputError

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120
PIN = "4321"
HOME_LEVEL = {catalogs.CATALOGS_FILE, "catalogs.lock", catalogs.CATALOGS_DIR, jobs.STATUS_FILE, jobs.LOG_FILE}


def run(capsys, *args: str, home: Path) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main([*args, "--home", str(home)])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args: str, home: Path) -> dict:
    code, out, err = run(capsys, *args, "--json", home=home)
    assert code == 0, err
    return json.loads(out)


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` (the home-level ones and other catalogs' folders left out) by content."""
    from recommender.store.connection import close_all

    close_all()
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] in HOME_LEVEL or not path.is_file() or path.name.endswith(".lock"):
            continue
        out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def two(built_home, tmp_path_factory):
    """``(home, fingerprint of Main before "Our music" was built)``: Main with a profile's data, then "Our music"."""
    from recommender.store import Store

    home = copy_home(built_home, tmp_path_factory.mktemp("catalogs") / "home")
    store = Store(Paths(home).database)
    store.create_profile("Ada", PIN)
    first = int(Catalog.open(home).tracks()["track_id"].iloc[0])
    store.record_play("Ada", first, source="search")
    store.like("Ada", first)
    store.create_playlist("Ada", "Mine")
    store.add_to_playlist("Ada", "Mine", first)
    before = fingerprint(home)
    music = two_genre_folder(tmp_path_factory.mktemp("music") / "songs")
    code = cli.main(
        ["build", "--source", "folder", "--audio", str(music), "--catalog", "Our music", "--workers", "1",
         "--epochs", "2", "--home", str(home)]
    )  # fmt: skip
    assert code == 0
    return home, before


# ---- names ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Demo", "Our music", "Musique d'été", "Jazz & Blues (2024)", "x" * 40])
def test_good_names_are_kept_as_typed(name):
    assert catalogs.check_name(f"  {name} ") == name


@pytest.mark.parametrize(
    "name, words",
    [
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("x" * 41, "at most 40 characters"),
        ("../outside", "letters, digits"),
        ("a/b", "letters, digits"),
        ("a\\b", "letters, digits"),
        (".hidden", "letters, digits"),
        ("tab\there", "letters, digits"),
        ("nul\x00", "letters, digits"),
        (None, "is text"),
    ],
)
def test_bad_names_get_one_message(name, words):
    with pytest.raises(UserInputError, match=words):
        catalogs.check_name(name)


def test_names_fold_like_profile_names_and_folders_stay_inside(tmp_path):
    home = tmp_path / "home"
    (home / "build.json").parent.mkdir(parents=True)
    (home / "build.json").write_text("{}")  # the root holds a catalog: new names get folders
    made = catalogs.for_build("Demo", home)
    assert catalogs.for_build("DEMO", home) == made == catalogs.for_build("ｄｅｍｏ", home)
    assert made.paths.home == home / "catalogs" / "demo"
    other = catalogs.for_build("Dèmo two", home)
    assert other.paths.home.parent == home / "catalogs" and other.paths.home != made.paths.home
    # A damaged or hostile record never names a folder outside the home's catalogs folder.
    (home / catalogs.CATALOGS_FILE).write_text(
        json.dumps({"catalogs": [{"name": "Evil", "folder": "../../etc"}, {"name": "Ok", "folder": "ok"}]})
    )
    assert [e.name for e in catalogs.entries(home)] == ["Main", "Ok"]


def test_the_first_catalog_of_an_empty_home_lives_at_its_root_under_its_name(tmp_path):
    home = tmp_path / "home"
    first = catalogs.for_build("Demo", home)
    assert first.at_root and first.paths.home == home and first.name == "Demo"


# ---- a home made before names ------------------------------------------------------------------------
def test_a_home_built_before_names_opens_as_the_catalog_main(built_home, tmp_path, capsys):
    home = copy_home(built_home, tmp_path / "old")
    assert [e.name for e in catalogs.entries(home)] == ["Main"]
    assert catalogs.resolve(None, home) == Paths(home)
    info = run_json(capsys, "info", home=home)
    assert info["tracks"] == 24 and info["catalog"] == "Main"
    assert info["catalogs"] == [
        {"name": "Main", "current": True, "built": True, "source": "demo", "tracks": 24, "path": str(home)}
    ]
    assert not (home / catalogs.CATALOGS_FILE).exists()  # reading it changed nothing


# ---- a second build -----------------------------------------------------------------------------------
def test_a_second_catalog_leaves_the_first_byte_for_byte_alone(two):
    home, before = two
    assert fingerprint(home) == before
    assert (home / "catalogs" / "our-music" / "build.json").is_file()


def test_info_lists_the_catalogs_and_catalog_picks_one(two, capsys):
    home, _ = two
    main = run_json(capsys, "info", home=home)
    assert (main["catalog"], main["tracks"], main["source"]) == ("Main", 24, "demo")
    assert [(c["name"], c["current"], c["tracks"]) for c in main["catalogs"]] == [
        ("Main", True, 24),
        ("Our music", False, 6),
    ]
    ours = run_json(capsys, "info", "--catalog", "our MUSIC", home=home)
    assert (ours["catalog"], ours["tracks"], ours["source"]) == ("Our music", 6, "folder")


def test_search_and_similar_answer_from_the_catalog_named(two, capsys):
    home, _ = two
    ours = run_json(capsys, "search", "--catalog", "Our music", "-k", "100", home=home)["results"]
    assert sorted(r["title"] for r in ours) == [f"song{i:02d}" for i in range(6)]
    main = run_json(capsys, "search", "-k", "100", home=home)["results"]
    assert len(main) == 24 and not {r["title"] for r in main} & {r["title"] for r in ours}
    seed = ours[0]["track_id"]
    near = run_json(capsys, "similar", "--catalog", "Our music", "--track", str(seed), "-k", "3", home=home)
    assert {r["track_id"] for r in near["results"]} <= {r["track_id"] for r in ours}


def test_an_unknown_catalog_gets_one_message_naming_those_there_are(two, capsys):
    home, _ = two
    code, out, err = run(capsys, "search", "--catalog", "Nope", home=home)
    assert code == 1 and out == ""
    assert err == "error: there is no catalog 'Nope' on this server; its catalogs: Main, Our music\n"


def test_user_data_belongs_to_its_catalog(two, capsys):
    home, _ = two
    ours = run_json(capsys, "search", "--catalog", "Our music", home=home)["results"]
    assert run(capsys, "play", "--user", "Bo", "--track", str(ours[0]["track_id"]), "--catalog", "Our music",
               home=home)[0] == 0  # fmt: skip
    history = run_json(capsys, "history", "--user", "Bo", "--catalog", "Our music", home=home)["results"]
    assert [h["title"] for h in history] == [ours[0]["title"]]
    assert run_json(capsys, "history", "--user", "Bo", home=home)["results"] == []
    # Main's profile and its data are there, whole, as before "Our music" was built
    ada = run_json(capsys, "history", "--user", "Ada", home=home)["results"]
    assert len(ada) == 1 and ada[0]["title"] in {t for t in Catalog.open(home).tracks()["title"]}


def test_an_upload_stays_in_the_catalog_it_was_added_to(two, tmp_path, capsys):
    home = copy_home(two[0], tmp_path / "copy")
    clip = write_audio(tmp_path / "clip.wav", tone(5.0, freq=330, seed=9), 22_050)
    added = run_json(capsys, "add", "--file", str(clip), "--title", "Class clip", "--catalog", "Our music",
                     home=home)  # fmt: skip
    ours = run_json(capsys, "search", "--catalog", "Our music", "--query", "Class clip", home=home)["results"]
    assert [r["track_id"] for r in ours] == [added["track_id"]]
    assert run_json(capsys, "search", "--query", "Class clip", home=home)["results"] == []
    assert Path(added["audio_path"]).is_relative_to(home / "catalogs" / "our-music")


def test_use_and_remove_are_the_command_lines_and_keep_the_root(two, tmp_path, capsys):
    home = copy_home(two[0], tmp_path / "copy")
    assert run_json(capsys, "catalogs", "use", "our music", home=home)["catalogs"][1]["current"]
    assert run_json(capsys, "info", home=home)["catalog"] == "Our music"
    code, _, err = run(capsys, "catalogs", "remove", "Our music", home=home)
    assert code == 1 and "add --yes" in err and (home / "catalogs" / "our-music").is_dir()
    code, _, err = run(capsys, "catalogs", "remove", "Main", "--yes", home=home)
    assert code == 1 and "cannot be removed" in err
    listed = run_json(capsys, "catalogs", "remove", "Our music", "--yes", home=home)["catalogs"]
    assert [(c["name"], c["current"]) for c in listed] == [("Main", True)]
    assert not (home / "catalogs" / "our-music").exists() and (home / "build.json").is_file()


def test_a_background_build_is_refused_while_another_catalog_builds(two, tmp_path):
    home = copy_home(two[0], tmp_path / "copy")
    (home / jobs.STATUS_FILE).write_text(
        json.dumps({"state": "running", "pid": __import__("os").getpid(), "catalog": "Our music",
                    "catalog_home": str(home / "catalogs" / "our-music"), "started_at": "2026-01-01T00:00:00"})
    )  # fmt: skip
    with pytest.raises(UserInputError, match="a build of the catalog 'Our music' is already running"):
        jobs.start(__import__("recommender.build", fromlist=["BuildOptions"]).BuildOptions(source="demo"),
                   home=home, catalog="New one")  # fmt: skip
    assert catalogs.find("New one", home) is None  # a refused build makes no catalog


# ---- the app ------------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _navigation_like_the_server(navigation_like_the_server):
    """AppTest runs app.py on every run, as the live server does (tests/conftest.py)."""


@pytest.fixture
def served(two, tmp_path, monkeypatch):
    home = copy_home(two[0], tmp_path / "served")
    monkeypatch.setenv("MUSICREC_HOME", str(home))
    return home


def start(*, owner: bool = False, params: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if owner:
        at.session_state["owner"] = True
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    return at


def songs(at: AppTest) -> str:
    return {m.label: m.value for m in at.metric}["Songs"]


def texts(at: AppTest) -> str:
    return "\n".join(
        str(e.value) for kind in ("markdown", "caption", "warning", "error") for e in at.get(kind)
    )


def test_a_visitor_switches_catalogs_in_the_sidebar(served):
    at = start()
    assert at.selectbox(key="sidebar_catalog").options == ["Main", "Our music"]
    assert songs(at) == "24"
    at.selectbox(key="sidebar_catalog").set_value("Our music").run()
    assert not at.exception and songs(at) == "6"
    assert at.query_params["catalog"] == "Our music"
    at.selectbox(key="sidebar_catalog").set_value("Main").run()
    assert songs(at) == "24"
    assert catalogs.current(served).name == "Main"  # a visitor's switch is their session's alone


def test_the_url_names_the_catalog_and_an_unknown_name_gets_one_message(served):
    assert songs(start(params={"catalog": "our music"})) == "6"
    at = start(params={"catalog": "Nope"})
    assert not at.exception and songs(at) == "24"
    assert "There is no catalog named Nope on this server; showing Main." in texts(at).replace("\\", "")


def test_the_open_profile_comes_along_to_the_other_catalog(served):
    at = start()
    at.sidebar.text_input(key="sidebar_new_user").input("Cy")
    at.sidebar.text_input(key="sidebar_new_pin").input(PIN)
    at.sidebar.button(key="sidebar_create_user").click().run()
    at.selectbox(key="sidebar_catalog").set_value("Our music").run()
    assert not at.exception
    assert at.session_state["user"] == "Cy"
    assert at.sidebar.button(key="sidebar_lock").label == "Lock this profile"  # open, no PIN asked again
    ours = Catalog.open(served / "catalogs" / "our-music").store.unlock_profile("Cy", PIN)
    assert ours.name == "Cy"


def test_a_visitor_gets_no_catalog_forms_and_the_owner_does(served):
    at = start()
    keys = {e.key for kind in ("button", "selectbox", "text_input") for e in at.get(kind) if e.key}
    assert not keys & {"catalogs_default", "catalogs_remove", "home_build", "home_catalog"}
    owner = start(owner=True)
    keys = {e.key for kind in ("button", "selectbox", "text_input") for e in owner.get(kind) if e.key}
    assert {"catalogs_default", "catalogs_remove", "home_build", "home_catalog"} <= keys
    assert owner.text_input(key="home_catalog").value == "Main"  # rebuilds the catalog in view by default


def test_the_owners_actions_check_again_when_they_run(served):
    at = start(owner=True)
    at.session_state["owner"] = False  # the session lost the owner's rights after the form was shown
    at.selectbox(key="catalogs_default_pick").set_value("Our music")
    at.button(key="catalogs_default").click().run()
    assert catalogs.current(served).name == "Main"
    assert "only the owner of this server can choose its default catalog" in texts(at)


def test_the_owner_makes_a_catalog_the_default_and_removes_one(served):
    at = start(owner=True)
    at.selectbox(key="catalogs_default_pick").set_value("Our music")
    at.button(key="catalogs_default").click().run()
    assert catalogs.current(served).name == "Our music"
    at.selectbox(key="catalogs_remove_pick").set_value("Our music")
    at.button(key="catalogs_remove").click().run()
    assert "tick the box" in texts(at) and catalogs.find("Our music", served) is not None
    at.selectbox(key="catalogs_remove_pick").set_value("Our music")
    at.checkbox(key="catalogs_remove_sure").check()
    at.button(key="catalogs_remove").click().run()
    assert not at.exception and catalogs.find("Our music", served) is None
    assert songs(at) == "24" and catalogs.current(served).name == "Main"


def test_the_boards_join_link_names_the_catalog_it_shows():
    from recommender.board import join_link

    link = join_link("http://10.1.2.3:8501/board?user=x", catalog="Our music")
    assert link == "http://10.1.2.3:8501/?catalog=Our%20music"
    assert join_link("http://10.1.2.3:8501/board") == "http://10.1.2.3:8501/"


def test_a_profile_of_one_catalog_opens_with_its_pin_in_another(served):
    at = start(params={"catalog": "Our music", "user": "ada"})
    assert at.session_state["user"] == "Ada" and songs(at) == "6"
    at.sidebar.text_input(key="sidebar_pin").input(PIN)
    at.sidebar.button(key="sidebar_unlock").click().run()
    assert not at.exception
    assert at.sidebar.button(key="sidebar_lock").label == "Lock this profile"
    ours = Catalog.open(served / "catalogs" / "our-music").store
    assert ours.history("Ada").empty  # the name and PIN came along, none of Main's plays
    assert len(Catalog.open(served).store.history("Ada")) == 1


def test_a_new_profile_cannot_take_a_name_another_catalog_has(served):
    at = start(params={"catalog": "Our music"})
    at.sidebar.text_input(key="sidebar_new_user").input("ADA")
    at.sidebar.text_input(key="sidebar_new_pin").input("9999")
    at.sidebar.button(key="sidebar_create_user").click().run()
    assert "the name 'ADA' is taken" in texts(at).replace("\\", "")
    with pytest.raises(AccessError, match="wrong PIN"):
        Catalog.open(served / "catalogs" / "our-music").store.unlock_profile("Ada", "9999")


def test_switching_forgets_the_songs_of_the_other_catalog(served):
    at = start()
    first = int(Catalog.open(served).tracks()["track_id"].iloc[0])
    at.session_state["track_id"] = first
    at.session_state["mix_add"] = [first]
    at.selectbox(key="sidebar_catalog").set_value("Our music").run()
    assert not at.exception
    assert at.session_state["track_id"] is None and "mix_add" not in at.session_state


def test_the_build_form_says_which_catalog_a_build_makes(served):
    at = start(owner=True)
    assert "Builds Main anew" in texts(at).replace("\\", "").replace("*", "")
    at.text_input(key="home_catalog").input("Class of 2026").run()
    assert "Makes a new catalog, Class of 2026, beside the others." in texts(at).replace("\\", "").replace(
        "*", ""
    )
    at.text_input(key="home_catalog").input("../etc").run()
    assert "a catalog's name is letters, digits, spaces" in texts(at).replace("\\", "")
    assert catalogs.find("Class of 2026", served) is None  # naming it in the form makes nothing


def test_the_owners_new_pin_opens_the_profile_in_every_catalog(served, capsys, monkeypatch):
    """A forgotten PIN reset in one catalog is reset in every catalog that has the profile."""
    import io

    from recommender.passwords import Guesses

    ours = catalogs.resolve("Our music", served)
    assert catalogs.bring_profile("ada", ours, served)  # Ada opened Our music once
    monkeypatch.setattr("sys.stdin", io.StringIO("8642\n"))
    code, out, err = run(capsys, "profile", "pin", "--user", "ada", home=served)
    assert code == 0, err
    for paths in (Paths(served), ours):
        store = Catalog.open(paths.home).store
        assert store.unlock_profile("ada", "8642", guesses=Guesses()).name == "Ada"
        with pytest.raises(AccessError, match="wrong PIN"):
            store.unlock_profile("ada", PIN, guesses=Guesses())
