"""recommender/cli.py: the command-line contract of DESIGN.md, run as a user runs it."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fixtures import tone, write_audio, write_fma_fixture

ROOT = Path(__file__).resolve().parents[1]
RESULT_KEYS = {"track_id", "title", "artist", "genre", "score"}


def cli(*args, home: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "recommender", *map(str, args)]
    if home is not None:
        cmd += ["--home", str(home)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def cli_json(*args, home: Path) -> dict:
    proc = cli(*args, "--json", home=home)
    return json.loads(proc.stdout)  # exactly one JSON object on stdout


def test_info_reports_the_demo_catalog(built_home):
    info = cli_json("info", home=built_home)
    assert info["tracks"] == 24
    assert len(info["genres"]) >= 8 and sum(info["genres"].values()) == 24
    assert info["source"] == "demo" and info["synthesised"] is True
    assert info["model"]["arch"] == "musicnn" and info["model"]["head"] in ("lda", "none")
    assert info["model"]["description"].startswith("pretrained musicnn backbone")
    assert "synthesised" in cli("info", home=built_home).stdout


def test_search_without_query_lists_all_tracks_by_id(built_home):
    rows = cli_json("search", home=built_home)["results"]
    assert [r["track_id"] for r in rows] == list(range(1, 25))
    assert {"track_id", "title", "artist", "album", "genre"} <= set(rows[0])


def test_search_finds_a_title_with_a_typo_and_filters_by_genre(built_home):
    rows = cli_json("search", home=built_home)["results"]
    target = rows[5]
    word = max(target["title"].split(), key=len)
    typo = word[:2] + word[3:] if len(word) > 4 else word  # drop one letter
    found = cli_json("search", "--query", typo.upper(), "-k", "5", home=built_home)["results"]
    assert target["track_id"] in [r["track_id"] for r in found]
    genre_rows = cli_json("search", "--genre", target["genre"], home=built_home)["results"]
    assert genre_rows and {r["genre"] for r in genre_rows} == {target["genre"]}


def test_similar_by_track(built_home):
    out = cli_json("similar", "--track", 3, "-k", 5, home=built_home)
    rows = out["results"]
    assert len(rows) == 5 and set(rows[0]) >= RESULT_KEYS
    assert 3 not in [r["track_id"] for r in rows]
    scores = [r["score"] for r in rows]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s < 1 for s in scores)


def test_similar_by_file_gives_genre_probabilities(built_home, tmp_path):
    clip = write_audio(tmp_path / "my clip.wav", tone(6, sr=44_100, channels=2), 44_100)
    out = cli_json("similar", "--file", clip, "-k", 5, home=built_home)
    probs = out["query"]["genre_probabilities"]
    assert len(probs) >= 8 and sum(probs.values()) == pytest.approx(1, abs=1e-3)
    assert len({r["track_id"] for r in out["results"]}) == 5


def test_evaluate_shape(built_home):
    m = cli_json("evaluate", home=built_home)
    c, r = m["classifier"], m["retrieval"]
    assert 0 <= c["test_accuracy"] <= 1 and 0 <= c["val_accuracy"] <= 1 and c["n_test"] >= 8
    assert len(c["per_genre"]) >= 8
    for name in ("cnn", "mfcc_baseline", "random"):
        assert 0 <= r[name]["genre_precision_at_10"] <= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("similar", "--track", "999999"), "no track with id 999999"),
        (("similar", "--file", "/nonexistent/clip.mp3"), "not found"),
        (("search", "--genre", "Polka"), "Polka"),
    ],
)
def test_user_errors_are_one_line_and_non_zero(built_home, args, message):
    proc = cli(*args, home=built_home, check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr


def test_similar_file_that_is_a_folder_or_a_fifo_says_what_it_is(built_home, tmp_path):
    os.mkfifo(tmp_path / "pipe.mp3")
    expected = {
        tmp_path: f"error: {tmp_path.name}: is a folder, not an audio file",
        tmp_path / "pipe.mp3": "error: pipe.mp3: is not a regular file (a FIFO)",
    }
    for path, message in expected.items():
        proc = cli("similar", "--file", path, home=built_home, check=False)
        assert proc.returncode == 1 and proc.stderr.strip().splitlines() == [message]


def test_commands_before_any_build_say_what_to_do(tmp_path):
    proc = cli("info", "--json", home=tmp_path / "empty", check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "build one first" in proc.stderr


def test_demo_build_without_training_uses_the_backbone_alone(tmp_path):
    home = tmp_path / "h"
    info = cli_json("build", "--source", "demo", "--tracks", 32, "--no-train", home=home)
    assert info["tracks"] == 32 and len(info["genres"]) >= 8
    assert info["model"]["arch"] == "musicnn" and info["model"]["head"] == "none"
    assert info["model"]["test_accuracy"] is None and info["model"]["genres"] == []
    assert cli_json("info", home=home)["tracks"] == 32


def test_fma_fixture_builds_skips_broken_files_and_keeps_the_split(tmp_path):
    genres = ["Rock", "Hip-Hop"]
    spec = []
    for i in range(8):
        audio = {2: "missing", 5: "truncated"}.get(i, "ok")
        split = ["training", "training", "validation", "test"][i % 4]
        spec.append(
            dict(
                track_id=2 + 3 * i,
                genre=genres[i % 2],
                split=split,
                subset="small",
                title=f"Song “{i}”",
                artist=f"Artist {i % 3}",
                album="Album",
                audio=audio,
                seconds=4,
            )
        )
    metadata, audio_dir = write_fma_fixture(tmp_path / "fma", spec)
    home = tmp_path / "home"
    out = cli_json(
        "build", "--source", "fma", "--metadata", metadata, "--audio", audio_dir, "--no-train", home=home
    )
    assert out["tracks"] == 6 and out["skipped"] == 2
    skipped = " ".join(out["skipped_files"])
    assert "000008.mp3" in skipped and "000017.mp3" in skipped  # ids 2+3*2, 2+3*5
    rows = {r["track_id"]: r for r in cli_json("search", home=home)["results"]}
    assert set(rows) == {s["track_id"] for s in spec if s["audio"] == "ok"}
    from recommender.store import Store

    splits = Store(home / "musicrec.duckdb").tracks().set_index("track_id")["split"].to_dict()
    assert splits == {s["track_id"]: s["split"] for s in spec if s["audio"] == "ok"}


def test_bad_sources_fail_with_a_clear_message(tmp_path):
    proc = cli(
        "build", "--source", "folder", "--audio", tmp_path / "nowhere", home=tmp_path / "h", check=False
    )
    assert proc.returncode == 1 and "nowhere" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("build", "--source", "fma", "--audio", tmp_path, home=tmp_path / "h", check=False)
    assert proc.returncode == 1 and "--metadata" in proc.stderr


def test_a_build_where_every_file_fails_gives_every_reason(tmp_path):
    music = tmp_path / "music" / "Rock"
    music.mkdir(parents=True)
    (music / "page.mp3").write_text("<html>404</html>\n")
    write_audio(music / "short.wav", tone(1.0), 22_050)
    home = tmp_path / "home"
    for json_flag in ((), ("--json",)):
        proc = cli("build", "--source", "folder", "--audio", music.parent, *json_flag, home=home, check=False)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert "page.mp3: not an audio file (it contains text)" in proc.stderr
        assert "short.wav: 1.0 s of audio is too short" in proc.stderr
        last = proc.stderr.strip().splitlines()[-1]
        assert last.startswith(
            "error: no usable audio: every one of the 2 files was skipped (the first: page.mp3"
        )
    out = json.loads(proc.stdout)  # exactly one JSON object, with the reasons
    assert out["tracks"] == 0 and out["error"] == last.removeprefix("error: ")
    assert {Path(p).name: r for p, r in out["skipped_files"].items()} == {
        "page.mp3": "page.mp3: not an audio file (it contains text)",
        "short.wav": "short.wav: 1.0 s of audio is too short; at least 3 s are needed",
    }
    assert not (home / "build.json").exists()


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("args", "option", "allowed"),
    [
        (("search", "-k", HUGE), "-k", "from 1 to 1,000,000"),
        (("history", "--user", "ann", "-k", HUGE), "-k", "from 1 to 1,000,000"),
        (("similar", "--track", "1", "-k", "0"), "-k", "from 1 to 1,000,000"),
        (("recommend", "--user", "ann", "-k", "-3"), "-k", "from 1 to 1,000,000"),
        (("path", "--from", "1", "--to", "2", "--steps", "1"), "--steps", "from 2 to 100"),
        (("build", "--tracks", HUGE), "--tracks", "from 1 to 100,000"),
        (("build", "--seed", "-1"), "--seed", "from 0 to 4,294,967,295"),
        (("build", "--seed", HUGE), "--seed", "from 0 to 4,294,967,295"),
        (("build", "--epochs", "0"), "--epochs", "from 1 to 10,000"),
        (("build", "--workers", HUGE), "--workers", "from 1 to 1,024"),
        (("search", "-k", "ten"), "-k", "expected a whole number, got 'ten'"),
    ],
)
def test_numeric_options_out_of_range_are_usage_errors(tmp_path, args, option, allowed):
    proc = cli(*args, home=tmp_path / "none", check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stdout == ""
    assert f"error: argument {option}" in proc.stderr and allowed in proc.stderr


def test_user_commands_print_the_profile_name_as_stored(built_home):
    cli("playlist", "create", "--user", "Zoë Stored", "--name", "Mix", home=built_home)
    typed = "  zoë STORED "
    assert (
        cli_json("playlist", "show", "--user", typed, "--name", "Mix", home=built_home)["user"]
        == "Zoë Stored"
    )
    assert cli_json("playlist", "list", "--user", typed, home=built_home)["user"] == "Zoë Stored"
    assert (
        "of Zoë Stored: 0 songs"
        in cli("playlist", "show", "--user", typed, "--name", "Mix", home=built_home).stdout
    )
    assert cli_json("play", "--user", typed, "--track", 1, home=built_home)["user"] == "Zoë Stored"
    assert cli_json("history", "--user", typed, home=built_home)["user"] == "Zoë Stored"


@pytest.mark.parametrize("args", [("evaluate",), ("search", "--json")])
def test_a_reader_that_stops_early_ends_the_command_quietly(built_home, args):
    """``… | head -1``: here the reader has gone before anything is written."""
    cmd = [sys.executable, "-m", "recommender", *args, "--home", str(built_home)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    stderr = proc.stderr.read()
    assert proc.wait(timeout=120) == 141  # as if killed by SIGPIPE, like other Unix tools
    assert stderr == ""


def test_path_walks_from_one_song_to_another_and_says_what_score_means(built_home):
    from recommender.catalog import Catalog
    from recommender.cli import MAX_STEPS
    from recommender.song_path import MAX_PATH_STEPS

    assert MAX_STEPS == MAX_PATH_STEPS
    rows = cli_json("path", "--from", 1, "--to", 20, "--steps", 5, home=built_home)["results"]
    ids = [r["track_id"] for r in rows]
    assert ids[0] == 1 and ids[-1] == 20 and len(set(ids)) == 5 and set(rows[0]) >= RESULT_KEYS
    index = Catalog.open(built_home).index
    assert rows[0]["score"] == 1.0
    for previous, row in zip(rows, rows[1:], strict=False):  # score: cosine to the previous song, 3 decimals
        cosine = float(index.vector(previous["track_id"]) @ index.vector(row["track_id"]))
        assert row["score"] == pytest.approx(cosine, abs=5e-4 + 1e-6)
    meaning = "cosine similarity of each song to the previous one in the path"
    assert meaning in cli("path", "--from", 1, "--to", 20, "--steps", 3, home=built_home).stdout
    assert meaning in " ".join(cli("path", "--help").stdout.split())


def test_playlist_export_to_stdout_a_file_and_json(built_home, tmp_path):
    from recommender.catalog import Catalog

    catalog = Catalog.open(built_home)
    user, name = "Exporting Ed", "Ed's, #1 <mix>"
    catalog.store.create_playlist(user, name, [7, 3, 11])
    audio = [str(catalog.audio_path(t)) for t in (7, 3, 11)]
    text = cli("playlist", "export", "--user", "exporting ed", "--name", name, home=built_home).stdout
    assert text.startswith("#EXTM3U\n") and [line for line in text.splitlines() if line[:1] == "/"] == audio
    out = cli_json(
        "playlist", "export", "--user", "exporting ed", "--name", name, "--format", "xspf", home=built_home
    )
    assert out == {
        "user": user, "name": name, "format": "xspf", "path": None, "entries": 3, "playlist": out["playlist"]
    }  # fmt: skip
    assert out["playlist"].count("<location>file:///") == 3

    target = tmp_path / "ed.xspf"  # the format from the file's ending
    out = cli_json("playlist", "export", "--user", user, "--name", name, "--out", target, home=built_home)
    assert out == {"user": user, "name": name, "format": "xspf", "path": str(target), "entries": 3}
    assert target.read_text(encoding="utf-8").startswith('<?xml version="1.0" encoding="UTF-8"?>')
    proc = cli(
        "playlist", "export", "--user", user, "--name", name, "--out", target, home=built_home, check=False
    )
    assert (
        proc.returncode == 1
        and proc.stderr == f"error: {target} exists: choose another file, or replace it with --force\n"
    )
    args = (
        "playlist",
        "export",
        "--user",
        user,
        "--name",
        name,
        "--out",
        target,
        "--format",
        "m3u8",
        "--force",
    )
    assert cli_json(*args, home=built_home)["format"] == "m3u8"
    assert target.read_text(encoding="utf-8").startswith("#EXTM3U")

    # --relative alone: relative to the folder of --out, where players look for them.
    listed = tmp_path / "lists" / "ed.m3u8"
    listed.parent.mkdir()
    cli("playlist", "export", "--user", user, "--name", name, "--out", listed, "--relative", home=built_home)
    entries = [line for line in listed.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    assert [str((listed.parent / e).resolve()) for e in entries] == [str(Path(a).resolve()) for a in audio]
    assert not any(Path(e).is_absolute() for e in entries)


def test_playlist_import_reports_skipped_entries_and_is_all_or_nothing(built_home, tmp_path):
    from recommender.catalog import Catalog

    catalog = Catalog.open(built_home)
    audio = [catalog.audio_path(t) for t in (4, 9)]
    playlist = tmp_path / "mine.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXTINF:30,x - y\n{audio[0]}\n/music/not here.mp3\n{audio[1].as_uri()}\n{audio[0]}\n",
        encoding="utf-8",
    )
    out = cli_json(
        "playlist", "import", "--user", "Importing Ida", "--name", "Mine", "--file", playlist, home=built_home
    )
    assert out == {
        "user": "Importing Ida", "name": "Mine", "imported": 2, "skipped": ["/music/not here.mp3"],
        "repeated": [str(audio[0])],
    }  # fmt: skip
    assert catalog.store.playlist("Importing Ida", "Mine")["track_id"].tolist() == [4, 9]
    proc = cli(
        "playlist",
        "import",
        "--user",
        "Importing Ida",
        "--name",
        "mine",
        "--file",
        playlist,
        home=built_home,
        check=False,
    )
    assert proc.returncode == 1 and proc.stderr == "error: you already have a playlist named 'Mine'\n"

    strangers = tmp_path / "strangers.xspf"
    strangers.write_text(
        '<playlist version="1" xmlns="http://xspf.org/ns/0/"><trackList><track><location>file:///x.mp3'
        "</location></track></trackList></playlist>",
        encoding="utf-8",
    )
    proc = cli(
        "playlist",
        "import",
        "--user",
        "Importing Ida",
        "--name",
        "None",
        "--file",
        strangers,
        home=built_home,
        check=False,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith("error: none of the 1 entries of strangers.xspf is a song of this catalog")
    assert proc.stderr.count("\n") == 1
    assert catalog.store.playlists("Importing Ida")["name"].tolist() == ["Mine"]
    text = cli(
        "playlist", "import", "--user", "ida", "--name", "Again", "--file", playlist, home=built_home
    ).stdout
    assert "imported 2 songs" in text and "skipped (no song of this catalog): /music/not here.mp3" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("import", "--name", "P"), "playlist import needs --file PLAYLIST"),
        (("show", "--name", "P", "--file", "x.m3u"), "--file is for playlist import, not playlist show"),
        (("import", "--name", "P", "--file", "x.m3u", "--force"), "--force is for playlist export"),
        (("create", "--name", "P", "--relative"), "--relative is for playlist export, not playlist create"),
        (("export",), "playlist export needs --name"),
        (
            ("import", "--name", "P", "--file", "/no/such/file.m3u8"),
            "cannot read /no/such/file.m3u8: No such file",
        ),
    ],
)
def test_playlist_options_of_another_action_are_refused(built_home, args, message):
    proc = cli("playlist", *args, "--user", "Optional Olga", home=built_home, check=False)
    assert (
        proc.returncode == 1 and proc.stderr.startswith(f"error: {message}") and proc.stderr.count("\n") == 1
    )


def test_an_unreachable_scheduler_fails_at_once_on_one_line_naming_it(tmp_path):
    with socket.socket() as s:  # a port nothing listens on once this socket is closed
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    home = tmp_path / "h"
    start = time.monotonic()
    proc = cli(
        "build",
        "--source",
        "demo",
        "--tracks",
        24,
        "--no-train",
        "--scheduler",
        address,
        home=home,
        check=False,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and address in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert elapsed < 30  # a 5-s connect timeout, plus starting Python
    assert not list((home / "audio").rglob("*.flac"))  # failed before synthesising the demo
