"""Song alchemy: songs nearest a mix of songs, minus others, plus or minus tags."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fixtures import copy_home

from recommender.alchemy import make_mix, mix_songs, parse_tag
from recommender.cli import main
from recommender.errors import UserInputError
from recommender.index import SimilarityIndex


def _arc(rng, angles_deg, genres):
    """Unit embeddings on a quarter circle of a plane in 16-d (plus a little noise), one per angle."""
    a = np.radians(np.asarray(angles_deg, dtype=float))
    x = np.zeros((len(a), 16))
    x[:, 0], x[:, 1] = np.cos(a), np.sin(a)
    x[:, 2:] = 0.02 * rng.standard_normal((len(a), 14))
    ids = np.arange(1, len(a) + 1)
    return SimilarityIndex().fit(x, ids, np.asarray(genres)), ids


def test_a_mix_of_two_genres_ranks_the_songs_between_them_above_both_far_ends(rng):
    angles = [0, 5, 10, 15, 20, 25, 40, 45, 50, 65, 70, 75, 80, 85, 90]
    genres = ["X"] * 6 + ["Hybrid"] * 3 + ["Y"] * 6
    index, ids = _arc(rng, angles, genres)
    a, b = 4, 12  # 15° (X) and 75° (Y)
    ranked = [t for t, _ in mix_songs(index, make_mix(index, add=[a, b]), k=13)]
    between = {7, 8, 9}  # 40°, 45°, 50°
    far_ends = {1, 15}  # 0° and 90°
    assert set(ranked[:3]) == between
    assert max(ranked.index(t) for t in between) < min(ranked.index(t) for t in far_ends)
    assert a not in ranked and b not in ranked


def test_subtracting_a_song_moves_the_mix_away_from_it(rng):
    index, _ = _arc(rng, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90], ["G"] * 10)
    plain = mix_songs(index, make_mix(index, add=[5]), k=2)  # 40°: 30° and 50° tie closely
    away = mix_songs(index, make_mix(index, add=[5], subtract=[1]), k=1)  # away from 0°
    assert {t for t, _ in plain} == {4, 6}
    assert away[0][0] > 6  # further from 0° than either neighbour of 40°


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "an empty mix"),
        ({"add": [99]}, "add: no track with id 99"),
        ({"add": [1], "subtract": [1]}, "track 1 is both added and subtracted"),
        ({"subtract": [2]}, "subtracting alone leaves nothing"),
        ({"add": list(range(1, 12)), "subtract": list(range(12, 23))}, "at most 20 songs"),
    ],
)
def test_bad_mixes_say_what_is_wrong(rng, kwargs, message):
    index, _ = _arc(rng, np.linspace(0, 90, 30), ["G"] * 30)
    with pytest.raises(UserInputError, match=message):
        make_mix(index, **kwargs)


def test_a_mix_of_every_song_leaves_nothing(rng):
    index, ids = _arc(rng, [0, 45, 90], ["G"] * 3)
    with pytest.raises(UserInputError, match="no song is left outside the mix"):
        mix_songs(index, make_mix(index, add=list(ids)), k=3)


def test_tags_read_more_and_less():
    assert parse_tag("piano") == ("piano", 1)
    assert parse_tag("more  piano") == ("piano", 1)
    assert parse_tag("-drums") == ("drums", -1)
    assert parse_tag("less drums") == ("drums", -1)


def test_more_of_a_tag_moves_the_mix_towards_the_songs_that_have_it(rng):
    index, _ = _arc(rng, np.linspace(0, 90, 19), ["G"] * 19)
    tags = np.zeros((19, 2))
    tags[-5:, 0] = 0.9  # "piano": the songs near 90°
    tags[:5, 1] = 0.9  # "drums": the songs near 0°

    def column(name):
        return {"piano": 0, "drums": 1}[name]

    plain = mix_songs(index, make_mix(index, add=[10]), k=1)[0][0]
    more = mix_songs(index, make_mix(index, add=[10], tags=["piano", "-drums"], tag_column=column,
                                     tag_probabilities=tags), k=1)[0][0]  # fmt: skip
    assert plain in (9, 11) and more > 11


@pytest.fixture(scope="module")
def cli_home(built_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("alchemy") / "home"
    copy_home(built_home, home)
    return home


def test_cli_mix_prints_results_shaped_like_similar(cli_home, capsys):
    assert (
        main(
            ["mix", "--home", str(cli_home), "--add", "1", "--add", "6", "--tag=-drums", "-k", "4", "--json"]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["mix"] == {"add": [1, 6], "subtract": [], "tags": ["-drums"]}
    assert len(out["results"]) == 4
    assert set(out["results"][0]) >= {"track_id", "title", "artist", "genre", "score"}
    assert {r["track_id"] for r in out["results"]}.isdisjoint({1, 6})
    scores = [r["score"] for r in out["results"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--add", "999"], "error: add: no track with id 999 in the catalog"),
        (["--add", "1", "--tag", "no-such-tag"], "error: no tag 'no-such-tag' in this catalog"),
        (["--subtract", "1"], "error: subtracting alone leaves nothing to move from"),
        (["--tag=-drums"], "error: a mix of only things taken away"),
    ],
)
def test_cli_mix_errors_are_one_line(cli_home, capsys, args, message):
    assert main(["mix", "--home", str(cli_home), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
