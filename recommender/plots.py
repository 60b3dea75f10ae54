"""Every figure of the app, as plotly figures: the map, spectrograms, curves, metrics.

This is the one module that draws (as librosa keeps its drawing in ``display``).
Functions take plain data (arrays, frames, dicts) and return a ``go.Figure``; pages
only show them. Genres keep one colour everywhere: ``genre_colors`` maps the
catalog's sorted genre list to a fixed palette, and every figure takes that mapping.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from recommender import listeners
from recommender.config import DEFAULT_AUDIO, AudioConfig

# Colour-blind safe: Okabe & Ito's eight hues, then Paul Tol's "muted" nine; 17 genres before a colour repeats.
PALETTE = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
    "#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677", "#882255", "#AA4499",
)  # fmt: skip
OTHER_COLOR = "#9e9e9e"
HIGHLIGHT_COLOR = "#E6007E"  # magenta: unlike every genre colour, black included
AXIS_ROOM = 120  # pixels of a bar chart besides its bars: toolbar, tick labels and axis title never overlap


def map_point_size(n_points: int) -> int:
    """Dots big enough to see in a small catalog, small enough not to blot out a large one."""
    return 9 if n_points < 2_000 else 6 if n_points < 20_000 else 4


SPECTROGRAM_MAX_COLUMNS = 600  # time columns sent to the browser; a 30-s clip has ~1300 frames
SPECTROGRAM_TICKS_HZ = (0, 250, 500, 1000, 2000, 4000, 8000, 16000)
RETRIEVAL_LABELS = {
    "cnn": "Model in use",
    "backbone": "Backbone alone",
    "backbone_head": "Backbone + head",
    "mfcc_baseline": "MFCC baseline",
    "random": "Random",
}
"""Names of the compared ways that are no listener; a listener is named by its ``comparison``."""


def retrieval_label(key: str) -> str:
    if key in RETRIEVAL_LABELS:
        return RETRIEVAL_LABELS[key]
    return listeners.get(key).comparison if key in listeners.names() else label(key)


def genre_colors(genres: Iterable[str]) -> dict[str, str]:
    """A colour per genre, by position in the sorted list: the same catalog always gets the same colours."""
    return {g: PALETTE[i % len(PALETTE)] for i, g in enumerate(sorted(set(map(str, genres))))}


def _colorscale(name: str) -> list[list]:
    """A named plotly sequential scale as ``[[position, "rgb(r, g, b)"], …]``.

    Streamlit's chart element mis-draws hex stops such as Magma's ``#000004`` (the lowest
    values came out pink); the same colours written as ``rgb()`` draw as intended.
    """
    import plotly.colors

    colors = plotly.colors.convert_colors_to_same_type(getattr(plotly.colors.sequential, name), "rgb")[0]
    return [[i / (len(colors) - 1), c] for i, c in enumerate(colors)]


def label(text: object) -> str:
    """User text made inert for plotly, whose labels, legends and hovers render a subset of HTML.

    ``<`` and ``&`` become entities (plotly shows them as the characters), so a title such as
    ``<a href=…>`` is shown as typed and never becomes a link or markup.
    """
    return html.escape(str(text), quote=False)


def _labels(values: Iterable[object]) -> list[str]:
    return [label(v) for v in values]


def _color(colors: Mapping[str, str] | None, genre: str) -> str:
    return (colors or {}).get(genre, OTHER_COLOR)


def _layout(fig: go.Figure, *, title: str | None = None, height: int | None = None) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        # Room above the plot for plotly's toolbar, so it never covers a colour bar's title or a bar.
        margin={"l": 10, "r": 10, "t": 70 if title else 40, "b": 10},
        legend={"itemsizing": "constant"},
    )
    return fig


def _empty(message: str, *, height: int = 240) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(
        text=message, showarrow=False, font={"size": 14}, x=0.5, y=0.5, xref="paper", yref="paper"
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, height=height)


# ---- the map -----------------------------------------------------------------------------------
def map_figure(
    frame: pd.DataFrame,
    *,
    colors: Mapping[str, str] | None = None,
    highlight: pd.DataFrame | None = None,
    highlight_name: str = "this song",
    connect: bool = False,
    height: int = 620,
) -> go.Figure:
    """The catalog map: one WebGL scatter trace per genre.

    ``frame`` has columns ``track_id, x, y, title, artist, genre``. Each point carries its
    track id as ``customdata`` (what a selection event returns) and shows title, artist
    and genre on hover. ``highlight`` (columns ``x, y, label``) marks songs or a clip on
    top of the map, joined by a line in order when ``connect`` (a playlist's path).
    WebGL (``Scattergl``) keeps panning smooth at 100 000 points.
    """
    fig = go.Figure()
    size = map_point_size(len(frame))
    for genre, part in frame.groupby("genre", sort=True):
        fig.add_trace(
            go.Scattergl(
                x=part["x"].to_numpy(np.float32),
                y=part["y"].to_numpy(np.float32),
                mode="markers",
                name=f"{label(genre)} ({len(part)})",
                legendgroup=label(genre),
                meta=label(genre),
                marker={"size": size, "color": _color(colors, str(genre)), "opacity": 0.8},
                customdata=part["track_id"].to_numpy(np.int64),
                text=_labels(part["title"].astype(str) + " — " + part["artist"].astype(str)),
                hovertemplate="<b>%{text}</b><br>%{meta}<extra></extra>",
            )
        )
    if highlight is not None and len(highlight):
        fig.add_trace(
            go.Scattergl(
                x=highlight["x"].to_numpy(np.float32),
                y=highlight["y"].to_numpy(np.float32),
                mode="lines+markers+text" if connect else "markers+text",
                name=label(highlight_name),
                marker={
                    "size": 16,
                    "symbol": "star",
                    "color": HIGHLIGHT_COLOR,
                    "line": {"width": 2, "color": "white"},
                },
                line={"color": HIGHLIGHT_COLOR, "width": 2},
                text=_labels(highlight["label"].astype(str)),
                textposition="top center",
                hoverinfo="text",
            )
        )
    fig.update_xaxes(showticklabels=False, title=None, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, title=None, showgrid=False, zeroline=False)
    fig.update_layout(dragmode="pan", hovermode="closest", clickmode="event+select")
    return _layout(fig, height=height).update_layout(margin={"t": 36})  # the toolbar sits above the legend


# ---- a song --------------------------------------------------------------------------------------
def _pool_columns(mel: np.ndarray, max_columns: int) -> tuple[np.ndarray, int]:
    """Mean-pool time frames so at most ``max_columns`` remain; returns ``(pooled, factor)``."""
    factor = max(1, int(np.ceil(mel.shape[1] / max_columns)))
    if factor == 1:
        return mel, 1
    n = mel.shape[1] // factor * factor
    pooled = mel[:, :n].reshape(mel.shape[0], -1, factor).mean(axis=2)
    if n < mel.shape[1]:
        pooled = np.concatenate([pooled, mel[:, n:].mean(axis=1, keepdims=True)], axis=1)
    return pooled, factor


def spectrogram_figure(
    mel: np.ndarray,
    *,
    config: AudioConfig = DEFAULT_AUDIO,
    title: str | None = None,
    height: int = 320,
    max_columns: int = SPECTROGRAM_MAX_COLUMNS,
) -> go.Figure:
    """A log-mel spectrogram ``(n_mels, n_frames)`` in dB as a heatmap: time (s) by mel frequency (Hz).

    Rows stay evenly spaced (the mel scale, as the model sees it); the y ticks name
    the frequency in Hz of the band at that height.
    """
    from recommender.librosa_import import load_librosa

    librosa = load_librosa()

    mel = np.asarray(mel, dtype=np.float32)
    n_mels, n_frames = mel.shape
    pooled, factor = _pool_columns(mel, max_columns)
    seconds_per_frame = config.hop_length / config.sample_rate
    times = (np.arange(pooled.shape[1]) * factor + (factor - 1) / 2) * seconds_per_frame
    centres = librosa.mel_frequencies(n_mels=n_mels, fmin=config.fmin, fmax=config.fmax)
    ticks_hz = [hz for hz in SPECTROGRAM_TICKS_HZ if centres[0] <= hz <= centres[-1]]
    fig = go.Figure(
        go.Heatmap(
            z=np.round(pooled, 1),
            x=np.round(times, 3),
            y=np.arange(n_mels),
            colorscale=_colorscale("Magma"),
            zmin=-80.0,  # the log-mel's floor (80 dB below the clip's loudest bin)
            zmax=0.0,
            colorbar={"title": {"text": "dB"}, "thickness": 12},
            customdata=np.broadcast_to(np.round(centres)[:, None], pooled.shape),
            hovertemplate="%{x:.1f} s · %{customdata:.0f} Hz · %{z:.0f} dB<extra></extra>",
        )
    )
    fig.update_xaxes(title="time (s)")
    fig.update_yaxes(
        title="mel frequency (Hz)",
        tickvals=np.interp(ticks_hz, centres, np.arange(n_mels)).round(2).tolist(),
        ticktext=[f"{hz / 1000:g}k" if hz >= 1000 else str(hz) for hz in ticks_hz],
    )
    return _layout(fig, title=title, height=height)


def genre_probability_figure(
    probabilities: Mapping[str, float], *, colors: Mapping[str, str] | None = None, height: int | None = None
) -> go.Figure:
    """Horizontal bars of genre probabilities, most probable on top."""
    if not probabilities:
        return _empty("no genre probabilities")
    ranked = sorted(probabilities.items(), key=lambda kv: kv[1])
    genres = [g for g, _ in ranked]
    values = np.array([p for _, p in ranked], dtype=float)
    fig = go.Figure(
        go.Bar(
            x=values * 100,
            y=_labels(genres),
            orientation="h",
            marker={"color": [_color(colors, g) for g in genres]},
            text=[f"{p:.0%}" for p in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.1f} %<extra></extra>",
        )
    )
    fig.update_xaxes(title="probability (%)", range=[0, 118])
    return _layout(fig, height=height or AXIS_ROOM + 26 * len(genres))


def genre_counts_figure(counts: Mapping[str, int], *, colors: Mapping[str, str] | None = None) -> go.Figure:
    """Horizontal bars of songs per genre, largest on top."""
    if not counts:
        return _empty("no songs")
    ranked = sorted(counts.items(), key=lambda kv: (kv[1], kv[0]), reverse=False)
    genres = [g for g, _ in ranked]
    fig = go.Figure(
        go.Bar(
            x=[n for _, n in ranked],
            y=_labels(genres),
            orientation="h",
            marker={"color": [_color(colors, g) for g in genres]},
            text=[f"{n:,}" for _, n in ranked],
            textposition="outside",
            textangle=0,
            cliponaxis=False,
            hovertemplate="%{y}: %{x} songs<extra></extra>",
        )
    )
    fig.update_xaxes(title="songs")
    return _layout(fig, height=60 + 26 * len(genres))


# ---- the model -----------------------------------------------------------------------------------
def training_curves_figure(history: pd.DataFrame, *, height: int = 340) -> go.Figure:
    """Accuracy and loss per epoch, training (solid) against validation (dashed).

    ``history`` has an ``epoch`` column and any of ``accuracy, val_accuracy, loss, val_loss``.
    """
    if history is None or not len(history) or "epoch" not in history:
        return _empty("no training history for this model (it was loaded, not trained here)")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Accuracy", "Loss"), horizontal_spacing=0.1)
    for col, metric in ((1, "accuracy"), (2, "loss")):
        for key, name, dash, color in (
            (metric, "training", "solid", PALETTE[0]),
            (f"val_{metric}", "validation", "dash", PALETTE[2]),
        ):
            if key not in history or history[key].isna().all():
                continue
            fig.add_trace(
                go.Scatter(
                    x=history["epoch"],
                    y=history[key],
                    mode="lines+markers",
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    line={"dash": dash, "color": color},
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(range=[0, 1.02], row=1, col=1)
    return _layout(fig, height=height).update_layout(
        margin={"t": 60}
    )  # room for the subplot titles and toolbar


def confusion_figure(
    confusion: Sequence[Sequence[int]], genres: Sequence[str], *, height: int | None = None
) -> go.Figure:
    """Confusion matrix: rows true genre, columns predicted; colour = share of the row, text = count."""
    counts = np.asarray(confusion, dtype=float)
    if counts.size == 0:
        return _empty("no test tracks to evaluate")
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=_labels(genres),
            y=_labels(genres),
            text=counts.astype(int),
            texttemplate="%{text}",
            colorscale=_colorscale("Blues"),
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "share"}, "thickness": 12},
            hovertemplate="true %{y} → predicted %{x}: %{text} (%{z:.0%})<extra></extra>",
        )
    )
    fig.update_xaxes(title="predicted genre", side="bottom")
    fig.update_yaxes(title="true genre", autorange="reversed")
    return _layout(fig, height=height or AXIS_ROOM + 80 + 34 * len(genres))


def per_genre_accuracy_figure(
    per_genre: Mapping[str, Mapping[str, float | int | None]], *, colors: Mapping[str, str] | None = None
) -> go.Figure:
    """Test accuracy of each genre (``{genre: {"accuracy", "n"}}``), with the number of test tracks."""
    genres = [g for g, v in per_genre.items() if v.get("accuracy") is not None]
    if not genres:
        return _empty("no test tracks to evaluate")
    acc = np.array([per_genre[g]["accuracy"] for g in genres], dtype=float)
    fig = go.Figure(
        go.Bar(
            x=_labels(genres),
            y=acc * 100,
            marker={"color": [_color(colors, g) for g in genres]},
            text=[f"{a:.0%} of {per_genre[g]['n']}" for g, a in zip(genres, acc, strict=True)],
            textposition="outside",
            hovertemplate="%{x}: %{y:.0f} %<extra></extra>",
        )
    )
    fig.update_yaxes(title="test accuracy (%)", range=[0, 115])
    return _layout(fig, height=320)


def retrieval_figure(retrieval: Mapping[str, Mapping[str, float]]) -> go.Figure:
    """Genre precision@k of the CNN embedding against the MFCC baseline and random neighbours."""
    order = listeners.comparison_order()
    methods = [m for m in order if m in retrieval] + [m for m in retrieval if m not in order]
    if not methods:
        return _empty("no retrieval evaluation")
    key = next(iter(retrieval[methods[0]]))
    k = key.rsplit("_", 1)[-1]
    values = np.array([retrieval[m][key] for m in methods], dtype=float)
    palette = {"cnn": PALETTE[0], "mfcc_baseline": PALETTE[5], "random": OTHER_COLOR}
    fig = go.Figure(
        go.Bar(
            x=[retrieval_label(m) for m in methods],
            y=values,
            marker={"color": [palette.get(m, PALETTE[3]) for m in methods]},
            text=[f"{v:.2f}" for v in values],
            textposition="outside",
        )
    )
    fig.update_yaxes(title=f"genre precision@{k}", range=[0, 1.1])
    return _layout(fig, height=300)


def tag_figure(tags: Mapping[str, float], *, n: int = 8, height: int | None = None) -> go.Figure:
    """Horizontal bars of the ``n`` tags the model hears most (``{tag: probability}``), strongest on top."""
    ranked = sorted(tags.items(), key=lambda kv: kv[1], reverse=True)[:n][::-1]
    if not ranked:
        return _empty("no tags")
    values = np.array([p for _, p in ranked], dtype=float)
    fig = go.Figure(
        go.Bar(
            x=values * 100,
            y=_labels(t for t, _ in ranked),
            orientation="h",
            marker={"color": PALETTE[6]},
            text=[f"{p:.0%}" for p in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.1f} %<extra></extra>",
        )
    )
    fig.update_xaxes(title="probability the model hears it (%)", range=[0, 118])
    return _layout(fig, height=height or AXIS_ROOM + 26 * len(ranked))
