"""recommender/listeners.py: a listener registered once appears everywhere listeners are offered or compared."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from recommender import evaluate, listeners, plots
from recommender.cli import main, parser
from recommender.cli.build import evaluate_text
from recommender.errors import ModelError, UserInputError

TINY = "tiny-test"
ROOT = Path(__file__).resolve().parents[1]


def _load_nothing(path, *, meta, config, genres, name=None):
    raise AssertionError("the tiny listener is never loaded by these tests")


@pytest.fixture
def tiny():
    """A test-only listener, trained from scratch on log-mels like cnn1d; removed again afterwards."""
    listener = listeners.register(
        listeners.Listener(
            TINY,
            label="Tiny test listener, for the registry's tests",
            help="a tiny listener of the tests",
            comparison="the tiny test listener",
            hears=listeners.MEL,
            trained_on_genres=True,
            load=_load_nothing,
        )
    )
    yield listener
    listeners.unregister(TINY)


def test_build_arch_choices_are_the_registered_listeners(tiny, capsys):
    assert parser().parse_args(["build", "--arch", TINY]).arch == TINY
    with pytest.raises(SystemExit):
        parser().parse_args(["build", "--help"])
    text = " ".join(capsys.readouterr().out.split()).replace("- ", "-")  # argparse wraps after hyphens
    assert "--arch {musicnn,cnn1d,seed-2d,tiny-test}" in text
    assert "tiny-test: a tiny listener of the tests" in text


def test_an_unregistered_listener_is_no_choice(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["build", "--arch", TINY])
    assert exit_.value.code == 2
    error = capsys.readouterr().err.replace("'", "")
    assert "argument --arch: invalid choice: tiny-test (choose from musicnn, cnn1d, seed-2d)" in error


def test_the_app_offers_the_registered_listeners(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("MUSICREC_HOME", str(tmp_path / "empty"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["owner"] = True  # the owner sees the build form of an empty home
    at.run()
    assert not at.exception
    box = at.selectbox(key="home_arch")
    assert box.options[-1] == "Tiny test listener, for the registry's tests"
    assert box.options[0] == listeners.get("musicnn").label
    box.select(TINY).run()
    assert at.selectbox(key="home_arch").value == TINY


def _metrics(alternatives: list[str]) -> dict:
    rng = np.random.default_rng(0)
    genres = ["a", "b"] * 10
    ways = {name: (rng.normal(size=(20, 4)), np.zeros((20, 0)), []) for name in alternatives}
    return evaluate.compare(
        genres=genres, splits=["test"] * 10 + ["training"] * 10, in_use="backbone",
        embeddings=rng.normal(size=(20, 4)), proba=np.zeros((20, 0)), classes=[],
        alternatives=ways, mels=[rng.normal(size=(8, 16)) for _ in range(20)],
    )  # fmt: skip


def test_evaluate_compares_and_names_a_registered_listener(tiny):
    metrics = _metrics(["backbone_head", TINY])
    assert list(metrics["retrieval"]) == ["cnn", "backbone_head", TINY, "mfcc_baseline", "random"]
    assert "  the tiny test listener  " in evaluate_text(metrics)
    figure = plots.retrieval_figure(metrics["retrieval"])  # the Model page's chart
    assert list(figure.data[0].x) == [
        "Model in use", "Backbone + head", "the tiny test listener", "MFCC baseline", "Random"
    ]  # fmt: skip


def test_evaluate_leaves_out_what_no_listener_made():
    assert TINY not in _metrics(["backbone_head", TINY])["retrieval"]


def test_a_listener_is_registered_once_and_unknown_names_list_the_choices(tiny):
    with pytest.raises(ValueError, match="registered already"):
        listeners.register(tiny)
    with pytest.raises(
        UserInputError, match="unknown architecture 'nope'; choose one of musicnn, cnn1d, seed-2d, tiny-test"
    ):
        listeners.get("nope")
    assert listeners.from_scratch() == ("cnn1d", "seed-2d", TINY)
    assert listeners.get(None).name == "musicnn"


def test_a_model_no_listener_made_is_a_model_error():
    with pytest.raises(ModelError, match="made by 'tiny-test', which this version does not know"):
        listeners.of_model({"arch": TINY})
    assert listeners.of_model({}).name == "cnn1d"  # models of old builds name no listener
