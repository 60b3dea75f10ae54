"""The ways a catalog can listen, each registered once: ``--arch`` choices, the app's options, builds, evaluation.

A *listener* turns songs into embeddings. Two kinds are built in:

- ``"musicnn"`` (the default) hears the pretrained backbone's sound features
  (``backbone.SOUND_PARTS`` of each 3 s patch, 16 kHz / 96 mels) and fits a light head on
  the catalog's genres, if it has any (``head.BackboneModel``);
- ``"cnn1d"`` and ``"seed-2d"`` hear the catalog's log-mel slices (22 050 Hz / 128 mels)
  and are trained from scratch on its genres (``model.GenreModel``), kept for comparison.

Everything that offers or tells listeners apart reads this registry: the command line's
``build --arch`` choices, the app's model options, the model stage of a build
(``embedding``: which features it reads, how it is made, how a saved one is loaded and
checked) and ``evaluate`` (the order and names of the comparison). A new listener is one
``register(Listener(...))`` call (see ``BUILT_IN``); nothing else compares names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recommender.errors import ModelError, UserInputError

SOUND = "sound"
"""``Listener.hears``: the pretrained backbone's sound features (the ``sounds`` feature cache)."""
MEL = "mel"
"""``Listener.hears``: the catalog's log-mel slices (the ``features`` cache)."""

Loader = Callable[..., Any]
"""``(path, *, meta, config, genres, name) -> model``: a saved model, refused (``ModelError``) when it does not fit."""


@dataclass(frozen=True)
class Listener:
    """One way of listening. ``name`` is what ``--arch`` takes and what a saved model's ``arch`` says."""

    name: str
    label: str
    """For people: the option in the app's build forms."""
    help: str
    """For the command line: a few words after the name in ``build --help``."""
    comparison: str
    """How ``evaluate`` names its embedding among the other ways of listening."""
    hears: str
    """``SOUND`` or ``MEL``: the features it reads."""
    trained_on_genres: bool
    """True: trained from scratch on the catalog's genres (two or more needed); False: pretrained."""
    load: Loader
    tag_names: Callable[[], list[str]] | None = None
    """The tags it hears (the pretrained backbone's), or None."""


_REGISTRY: dict[str, Listener] = {}
DEFAULT = "musicnn"


def register(listener: Listener) -> Listener:
    """Add ``listener``; a second listener of the same name is refused."""
    if listener.name in _REGISTRY:
        raise ValueError(f"a listener named {listener.name!r} is registered already")
    if listener.hears not in (SOUND, MEL):
        raise ValueError(f"a listener hears {SOUND!r} or {MEL!r}, not {listener.hears!r}")
    _REGISTRY[listener.name] = listener
    return listener


def unregister(name: str) -> None:
    """Remove a listener registered by ``register`` (the built-in ones stay)."""
    if name in BUILT_IN:
        raise ValueError(f"{name!r} is built in")
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    """Every listener's name, the default first, in the order registered."""
    return tuple(_REGISTRY)


def get(name: str | None) -> Listener:
    """The listener called ``name`` (``None``: the default), or a ``UserInputError`` listing the choices."""
    name = DEFAULT if name is None else name
    if name not in _REGISTRY:
        raise UserInputError(f"unknown architecture {name!r}; choose one of {', '.join(_REGISTRY)}")
    return _REGISTRY[name]


def of_model(meta: dict) -> Listener:
    """The listener that made a saved model (its ``.json``'s ``arch``; models of old builds say none: cnn1d).

    A ``ModelError`` for a model no registered listener made.
    """
    arch = meta.get("arch") or "cnn1d"
    if arch not in _REGISTRY:
        raise ModelError(
            f"the model was made by {arch!r}, which this version does not know ({', '.join(_REGISTRY)})"
        )
    return _REGISTRY[arch]


def from_scratch() -> tuple[str, ...]:
    """The names of the listeners trained from scratch on a catalog's genres."""
    return tuple(n for n, listener in _REGISTRY.items() if listener.trained_on_genres)


def comparison_order() -> tuple[str, ...]:
    """The keys of an evaluation's comparison, in order: the model in use (``cnn``), the pretrained
    backbone alone and with its head, each listener trained from scratch, then the baselines."""
    return ("cnn", "backbone", "backbone_head", *from_scratch(), "mfcc_baseline", "random")


def labels() -> dict[str, str]:
    """Name → label for people, for the app's options."""
    return {n: listener.label for n, listener in _REGISTRY.items()}


# ---- the built-in listeners -----------------------------------------------------------------------
def _load_backbone_model(path: Path, *, meta: dict, config, genres, name: str | None = None):
    from recommender.head import BackboneModel

    return BackboneModel.load(path, meta=meta, genres=genres, name=name)


def _load_genre_model(path: Path, *, meta: dict, config, genres, name: str | None = None):
    from recommender.model import GenreModel

    return GenreModel.load(path, config=config, genres=genres)


def _backbone_tags() -> list[str]:
    from recommender.backbone import tag_names

    return tag_names()


BUILT_IN = ("musicnn", "cnn1d", "seed-2d")
register(
    Listener(
        "musicnn",
        label="Pretrained backbone (musicnn) + a head fitted on the genres — knows real music",
        help="the pretrained backbone (default), with a head trained on the genres when there are any",
        comparison="the pretrained backbone",
        hears=SOUND,
        trained_on_genres=False,
        load=_load_backbone_model,
        tag_names=_backbone_tags,
    )
)
register(
    Listener(
        "cnn1d",
        label="cnn1d, trained from scratch on the genres (fast on CPUs)",
        help="a 1-D CNN trained from scratch on the genres (for comparison)",
        comparison="cnn1d from scratch",
        hears=MEL,
        trained_on_genres=True,
        load=_load_genre_model,
    )
)
register(
    Listener(
        "seed-2d",
        label="seed-2d, trained from scratch on the genres (the original 2-D CNN)",
        help="the original 2-D CNN trained from scratch on the genres (for comparison)",
        comparison="seed-2d from scratch",
        hears=MEL,
        trained_on_genres=True,
        load=_load_genre_model,
    )
)
