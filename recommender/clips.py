"""A clip listened to: what the catalog's model hears in an audio file (log-mels, embedding, genres, tags)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recommender import listeners
from recommender.config import AudioConfig

TOP_TAGS = 5  # a song "has" a tag when it is among the tags the model hears most in it


@dataclass
class ClipAnalysis:
    """What the model hears in a clip: its log-mels, embedding, genre probabilities and tags."""

    mel: np.ndarray  # (n_mels, n_frames) float32 dB
    embedding: np.ndarray  # (embedding_dim,) unit float32
    genre_probabilities: dict[str, float]  # genre -> p, highest first; empty without a classifier
    tags: dict[str, float] = dataclasses.field(default_factory=dict)  # every tag -> p, highest first
    sound: np.ndarray | None = None  # the backbone's sound features (width,)

    def top_tags(self, n: int = TOP_TAGS) -> dict[str, float]:
        return dict(list(self.tags.items())[:n])


def listen(path: str | Path, *, config: AudioConfig, sound, model) -> ClipAnalysis:
    """What ``model`` hears in the audio file ``path``, computed as the catalog's features were.

    ``config``: the catalog's audio settings (log-mels); ``sound``: its ``backbone.SoundConfig``.
    """
    from recommender.backbone import sound_features, tag_names, tag_probabilities
    from recommender.features import clip_features

    mel, heard = clip_features(path, config=config, sound=sound)
    features = sound_features(
        [heard], names=sound.backbones, max_patches=sound.max_patches, layout=sound.layout
    )
    if listeners.get(model.arch_).hears == listeners.SOUND:
        embeddings, proba = model.embed_and_predict_many(features)
    else:
        embeddings, proba = model.embed_and_predict_many([mel])
    probs = dict(zip(model.genres_, proba[0].tolist(), strict=True))
    tags = dict(
        zip(
            tag_names(sound.backbones),
            tag_probabilities(features, sound.backbones)[0].tolist(),
            strict=True,
        )
    )
    return ClipAnalysis(
        mel=mel,
        embedding=embeddings[0],
        genre_probabilities=by_probability(probs),
        tags=by_probability(tags),
        sound=features[0],
    )


def by_probability(probs: dict[str, float]) -> dict[str, float]:
    """Name → probability, highest first, rounded to 6 decimals."""
    return {g: round(float(p), 6) for g, p in sorted(probs.items(), key=lambda kv: -kv[1])}
