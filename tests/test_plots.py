"""The figures: right traces, right data, right axes, and a map that scales to 100 000 songs."""

import time

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from recommender import plots
from recommender.config import DEFAULT_AUDIO


def map_frame(n: int, genres: list[str], rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "track_id": np.arange(1000, 1000 + n),
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "title": [f"Song {i}" for i in range(n)],
            "artist": [f"Artist {i % 7}" for i in range(n)],
            "genre": [genres[i % len(genres)] for i in range(n)],
        }
    )


def test_genre_colors_are_stable_and_distinct():
    a = plots.genre_colors(["Rock", "Jazz", "Ambient", "Jazz"])
    b = plots.genre_colors(["Ambient", "Rock", "Jazz"])
    assert a == b
    assert list(a) == ["Ambient", "Jazz", "Rock"]
    assert len(set(a.values())) == 3
    many = plots.genre_colors([f"g{i:02d}" for i in range(len(plots.PALETTE))])
    assert len(set(many.values())) == len(plots.PALETTE)


def test_map_has_one_webgl_trace_per_genre_with_track_ids(rng):
    frame = map_frame(30, ["Rock", "Jazz", "Ambient"], rng)
    colors = plots.genre_colors(frame["genre"])
    fig = plots.map_figure(frame, colors=colors)
    assert [type(t) for t in fig.data] == [go.Scattergl] * 3
    by_genre = {t.legendgroup: t for t in fig.data}
    assert set(by_genre) == {"Rock", "Jazz", "Ambient"}
    rock = by_genre["Rock"]
    expected = frame[frame["genre"] == "Rock"]
    assert list(rock.customdata) == expected["track_id"].tolist()
    assert rock.marker.color == colors["Rock"]
    assert rock.name == "Rock (10)"
    assert rock.text[0] == "Song 0 — Artist 0"
    assert rock.meta == "Rock" and "%{meta}" in rock.hovertemplate


def test_user_text_in_figures_is_shown_as_typed_never_as_markup(rng):
    """Plotly renders a subset of HTML (<a href>, <b>, <br>) in labels: user text is escaped."""
    frame = map_frame(6, ["<b>Rock</b>", 'Folk <a href="http://x">&'], rng)
    frame.loc[0, "title"] = '<a href="http://127.0.0.1:9/phish">click</a>'
    fig = plots.map_figure(frame, highlight=pd.DataFrame({"x": [0.0], "y": [0.0], "label": ["<i>me</i>"]}))
    text = fig.to_json()
    assert "<a href" not in text and "<b>Rock" not in text and "<i>me" not in text
    assert '&lt;a href="http://127.0.0.1:9/phish"&gt;click&lt;/a&gt; — Artist 0' in fig.data[0].text
    assert {t.meta for t in fig.data[:2]} == {
        "&lt;b&gt;Rock&lt;/b&gt;",
        'Folk &lt;a href="http://x"&gt;&amp;',
    }
    bars = plots.genre_probability_figure({"<b>x</b>": 0.7, "y": 0.3})
    assert list(bars.data[0].y) == ["y", "&lt;b&gt;x&lt;/b&gt;"]


def test_map_highlight_is_drawn_on_top(rng):
    frame = map_frame(12, ["A", "B"], rng)
    mark = pd.DataFrame({"x": [0.5, 1.0], "y": [0.1, 0.2], "label": ["from", "to"]})
    fig = plots.map_figure(frame, highlight=mark, highlight_name="path", connect=True)
    top = fig.data[-1]
    assert top.name == "path" and list(top.text) == ["from", "to"]  # named by what it is
    assert "lines" in top.mode


def test_map_of_100k_points_is_fast_and_binary_encoded(rng):
    frame = map_frame(100_000, [f"genre {i}" for i in range(16)], rng)
    start = time.perf_counter()
    fig = plots.map_figure(frame, colors=plots.genre_colors(frame["genre"]))
    payload = fig.to_json()
    elapsed = time.perf_counter() - start
    assert sum(len(t.customdata) for t in fig.data) == 100_000
    # Coordinates travel as typed arrays, not as decimal text; titles dominate the payload.
    assert '"bdata"' in payload
    assert len(payload) < 6_000_000
    assert elapsed < 10


def test_spectrogram_axes_are_seconds_and_hz(rng):
    cfg = DEFAULT_AUDIO
    n_frames = 1292  # 30 s
    mel = rng.uniform(-80, 0, size=(cfg.n_mels, n_frames)).astype(np.float32)
    fig = plots.spectrogram_figure(mel, config=cfg)
    heat = fig.data[0]
    assert isinstance(heat, go.Heatmap)
    assert heat.z.shape[0] == cfg.n_mels
    assert heat.z.shape[1] <= plots.SPECTROGRAM_MAX_COLUMNS
    assert heat.x[-1] == pytest.approx(n_frames * cfg.hop_length / cfg.sample_rate, abs=0.1)
    assert fig.layout.xaxis.title.text == "time (s)"
    assert fig.layout.yaxis.title.text == "mel frequency (Hz)"
    assert list(fig.layout.yaxis.ticktext)[:4] == ["0", "250", "500", "1k"]
    # The full dB range, on a scale written as rgb() (Streamlit mis-draws some hex stops).
    assert (heat.zmin, heat.zmax) == (-80.0, 0.0)
    assert heat.colorscale[0][1] == "rgb(0, 0, 4)" and all(c.startswith("rgb(") for _, c in heat.colorscale)
    ticks = list(fig.layout.yaxis.tickvals)
    assert ticks == sorted(ticks) and ticks[0] >= 0 and ticks[-1] <= cfg.n_mels - 1


def test_spectrogram_pooling_keeps_the_mean(rng):
    mel = rng.uniform(-80, 0, size=(16, 1000)).astype(np.float32)
    pooled, factor = plots._pool_columns(mel, 300)
    assert factor == 4 and pooled.shape == (16, 250)
    assert pooled.mean() == pytest.approx(mel.mean(), abs=1e-3)
    short = mel[:, :100]
    same, factor = plots._pool_columns(short, 300)
    assert factor == 1 and same is short


def test_genre_probability_bars_are_sorted_and_coloured():
    colors = plots.genre_colors(["Jazz", "Rock", "Pop"])
    fig = plots.genre_probability_figure({"Jazz": 0.2, "Rock": 0.7, "Pop": 0.1}, colors=colors)
    bar = fig.data[0]
    assert list(bar.y) == ["Pop", "Jazz", "Rock"]  # plotly draws the last bar on top
    assert list(bar.text) == ["10%", "20%", "70%"]
    assert list(bar.marker.color) == [colors["Pop"], colors["Jazz"], colors["Rock"]]


def test_training_curves_train_and_validation():
    history = pd.DataFrame(
        {"epoch": [1, 2, 3], "accuracy": [0.3, 0.5, 0.7], "val_accuracy": [0.25, 0.4, 0.6],
         "loss": [2.0, 1.5, 1.0], "val_loss": [2.1, 1.7, 1.3]}
    )  # fmt: skip
    fig = plots.training_curves_figure(history)
    names = [(t.name, t.xaxis) for t in fig.data]
    assert names == [("training", "x"), ("validation", "x"), ("training", "x2"), ("validation", "x2")]
    assert list(fig.data[1].y) == [0.25, 0.4, 0.6]
    assert fig.data[1].line.dash == "dash"


def test_training_curves_without_history_say_so():
    fig = plots.training_curves_figure(pd.DataFrame())
    assert not fig.data
    assert "no training history" in fig.layout.annotations[0].text


def test_confusion_colours_are_row_shares_and_text_counts():
    fig = plots.confusion_figure([[3, 1], [0, 0]], ["A", "B"])
    heat = fig.data[0]
    assert np.allclose(heat.z, [[0.75, 0.25], [0.0, 0.0]])
    assert heat.text.tolist() == [[3, 1], [0, 0]]
    assert fig.layout.yaxis.autorange == "reversed"


def test_per_genre_accuracy_skips_genres_without_test_tracks():
    fig = plots.per_genre_accuracy_figure({"A": {"accuracy": 0.5, "n": 4}, "B": {"accuracy": None, "n": 0}})
    assert list(fig.data[0].x) == ["A"]
    assert list(fig.data[0].text) == ["50% of 4"]


def test_retrieval_comparison_order_and_labels():
    retrieval = {
        "random": {"genre_precision_at_10": 0.12},
        "cnn": {"genre_precision_at_10": 0.81},
        "mfcc_baseline": {"genre_precision_at_10": 0.55},
        "cnn1d": {"genre_precision_at_10": 0.62},
        "backbone": {"genre_precision_at_10": 0.74},
    }
    fig = plots.retrieval_figure(retrieval)
    assert list(fig.data[0].x) == [
        "Model in use", "Backbone alone", "cnn1d from scratch", "MFCC baseline", "Random"
    ]  # fmt: skip
    assert list(fig.data[0].y) == [0.81, 0.74, 0.62, 0.55, 0.12]
    assert fig.layout.yaxis.title.text == "genre precision@10"


def test_genre_counts_largest_on_top():
    fig = plots.genre_counts_figure({"Rock": 5, "Jazz": 12, "Pop": 5})
    assert list(fig.data[0].y) == ["Pop", "Rock", "Jazz"]
    assert list(fig.data[0].x) == [5, 5, 12]


@pytest.mark.parametrize(("n", "size"), [(24, 9), (5_000, 6), (100_000, 4)])
def test_map_dots_shrink_as_the_catalog_grows(rng, n, size):
    fig = plots.map_figure(map_frame(n, ["A", "B"], rng))
    assert {t.marker.size for t in fig.data} == {size}


def test_genre_colours_are_distinct_for_a_large_catalog():
    colors = plots.genre_colors([f"genre {i}" for i in range(16)])
    assert len(set(colors.values())) == 16
    assert plots.genre_colors(["Electronic", "Rock"]) == {
        "Electronic": plots.PALETTE[0],
        "Rock": plots.PALETTE[1],
    }
