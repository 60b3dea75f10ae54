"""What several pages show the same way: the tagline, the audio formats of the uploaders, the build's stage names."""

from __future__ import annotations

from recommender.formats import AUDIO_SUFFIXES

TAGLINE = "A music recommender that listens: it hears songs, not their tags."
AUDIO_TYPES = tuple(s.lstrip(".") for s in AUDIO_SUFFIXES)  # as st.file_uploader takes them


# ---- build progress -------------------------------------------------------------------------------
STAGE_LABELS = {
    "synthesise": "Synthesising the demo songs",
    "read metadata": "Reading the FMA metadata",
    "scan folder": "Scanning the music folder",
    "features": "Computing log-mel spectrograms",
    "load model": "Loading the model",
    "training": "Training the genre CNN",
    "embeddings": "Embedding every song",
    "map": "Laying out the map (UMAP)",
    "index": "Building the similarity index",
    "evaluation": "Evaluating against baselines",
    "read features": "Reading the sound features",
    "fitting the head": "Fitting the genre head",
    "backbone embedding": "Embedding with the backbone alone",
    "alternatives": "Comparing the other models",
}
